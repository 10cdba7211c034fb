// Byte helpers shared by the decoders and encoders (and the reflector's stored attribute sets).

/** A plain Uint8Array copy (never a Buffer, whatever `v` is), so decoded values compare equal. */
export function copyBytes(v: Uint8Array): Uint8Array {
  const out = new Uint8Array(v.length);
  out.set(v);
  return out;
}

/** The big-endian (network order) unsigned 32-bit integer at `b[o]`. */
export function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Writes `v` big-endian at `out[o]`; returns the offset after it. */
export function putU32(out: Uint8Array, o: number, v: number): number {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 255;
  out[o + 2] = (v >>> 8) & 255;
  out[o + 3] = v & 255;
  return o + 4;
}
