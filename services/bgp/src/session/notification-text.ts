// How the speaker writes NOTIFICATIONs and identifiers in logs and status (RFC 4271 §4.5 names).

export function describeNotification(n: { code: number; subcode: number }, text?: string): string {
  const codes: Record<number, string> = {
    1: 'Message Header Error',
    2: 'OPEN Message Error',
    3: 'UPDATE Message Error',
    4: 'Hold Timer Expired',
    5: 'Finite State Machine Error',
    6: 'Cease',
    7: 'ROUTE-REFRESH Message Error',
  };
  return `${codes[n.code] ?? `code ${n.code}`} subcode ${n.subcode}${text ? `: "${text}"` : ''}`;
}
