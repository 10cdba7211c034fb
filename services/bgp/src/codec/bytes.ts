// Byte helpers shared by the decoders.

/** A plain Uint8Array copy (never a Buffer, whatever `v` is), so decoded values compare equal. */
export function copyBytes(v: Uint8Array): Uint8Array {
  const out = new Uint8Array(v.length);
  out.set(v);
  return out;
}
