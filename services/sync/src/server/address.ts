// The address a sync server announces in heartbeats and Reconnect suggestions.

/** HOST:PORT to announce: `advertise` as given, a bare host with our port, or the listen address. */
export function advertisedAddress(advertise: string | undefined, listenHost: string, port: number): string {
  if (!advertise) return `${listenHost === '0.0.0.0' || listenHost === '[::]' ? '127.0.0.1' : listenHost}:${port}`;
  if (/^\[[^\]]+\]:\d+$/.test(advertise) || /^[^:]+:\d+$/.test(advertise)) return advertise;
  return advertise.includes(':') ? `[${advertise}]:${port}` : `${advertise}:${port}`;
}
