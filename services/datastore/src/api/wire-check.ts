// Checks a request's protobuf encoding before it is decoded, so a field sent with the wrong type
// is reported by name instead of being skipped as unknown (ts-proto's decoder silently ignores a
// known field whose wire type does not match, which would turn "wrong type" into "missing").
//   - a known field with another wire type            → INVALID_ARGUMENT naming the field
//   - a string field that is not valid UTF-8          → INVALID_ARGUMENT naming the field
//   - a uint64 above 2^53-1, a uint32 above 2^32-1     → INVALID_ARGUMENT naming the field
//   - bytes that are not a protobuf message at all    → INVALID_ARGUMENT for the request
// Unknown field numbers are skipped, as proto3 requires (newer clients may send more).
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { InvalidArgumentError } from '../../../shared/errors/index.js';

export type FieldType = 'string' | 'bytes' | 'uint64' | 'uint32' | 'repeated string' | 'map<string, string>';

export interface FieldSpec {
  /** The proto field name, as error messages and the meshless-field header give it. */
  readonly name: string;
  readonly type: FieldType;
}

/** Field number → spec, one table per request message. */
export type MessageSpec = Readonly<Record<number, FieldSpec>>;

const WIRE_NAMES: Record<number, string> = {
  [WireType.Varint]: 'varint',
  [WireType.Bit64]: '64-bit',
  [WireType.LengthDelimited]: 'length-delimited',
  [WireType.StartGroup]: 'group start',
  [WireType.EndGroup]: 'group end',
  [WireType.Bit32]: '32-bit',
};

const EXPECTED_WIRE: Record<FieldType, WireType> = {
  string: WireType.LengthDelimited,
  bytes: WireType.LengthDelimited,
  'repeated string': WireType.LengthDelimited,
  'map<string, string>': WireType.LengthDelimited,
  uint64: WireType.Varint,
  uint32: WireType.Varint,
};

const TYPE_NAMES: Record<FieldType, string> = {
  string: 'a string',
  bytes: 'bytes',
  'repeated string': 'a list of strings',
  'map<string, string>': 'a map of strings',
  uint64: 'an unsigned 64-bit integer',
  uint32: 'an unsigned 32-bit integer',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function checkWire(message: string, bytes: Uint8Array, spec: MessageSpec): void {
  const reader = new BinaryReader(bytes);
  try {
    while (reader.pos < reader.len) {
      const [no, wt] = reader.tag();
      const field = spec[no];
      if (!field) {
        reader.skip(wt, no);
        continue;
      }
      const expected = EXPECTED_WIRE[field.type];
      if (wt !== expected) {
        throw new InvalidArgumentError(
          `${field.name}: wrong type: must be ${TYPE_NAMES[field.type]} (wire type ${WIRE_NAMES[expected]}), got wire type ${WIRE_NAMES[wt] ?? wt}`,
          { field: field.name },
        );
      }
      switch (field.type) {
        case 'string':
        case 'repeated string': {
          const b = reader.bytes();
          try {
            utf8.decode(b);
          } catch {
            throw new InvalidArgumentError(`${field.name}: must be a UTF-8 string`, { field: field.name });
          }
          break;
        }
        case 'bytes':
        case 'map<string, string>':
          // A map entry is a nested message; its strings are checked after decoding.
          reader.bytes();
          break;
        case 'uint64': {
          const v = BigInt(reader.uint64());
          if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
            throw new InvalidArgumentError(
              `${field.name}: ${v} is larger than the largest revision this API handles (${Number.MAX_SAFE_INTEGER})`,
              { field: field.name },
            );
          }
          break;
        }
        case 'uint32': {
          const v = BigInt(reader.uint64());
          if (v > 0xffffffffn)
            throw new InvalidArgumentError(`${field.name}: ${v} does not fit in 32 bits`, { field: field.name });
          break;
        }
      }
    }
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError(`request: not a valid ${message} (${(err as Error).message})`, {
      field: 'request',
      cause: err,
    });
  }
}
