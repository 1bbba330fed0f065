// Raw little-endian float32 streams, bit for bit (NaN payloads kept) on hosts of either byte order.

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swap32InPlace(bytes: Uint8Array): void {
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const a = bytes[i]!;
    const b = bytes[i + 1]!;
    bytes[i] = bytes[i + 3]!;
    bytes[i + 1] = bytes[i + 2]!;
    bytes[i + 2] = b;
    bytes[i + 3] = a;
  }
}

/** Float32 values from little-endian bytes (`bytes.length` a multiple of 4). The result shares
 * memory with `bytes` when the host is little-endian and `bytes` is 4-byte aligned. */
export function float32FromLittleEndian(bytes: Uint8Array): Float32Array {
  if (bytes.length % 4 !== 0) throw new RangeError(`${bytes.length} bytes is not a whole number of float32 values`);
  if (HOST_IS_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const copy = new Uint8Array(bytes);
  if (!HOST_IS_LITTLE_ENDIAN) swap32InPlace(copy);
  return new Float32Array(copy.buffer, 0, copy.length / 4);
}

/** Little-endian bytes of float32 values. */
export function float32ToLittleEndian(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (HOST_IS_LITTLE_ENDIAN) return bytes;
  const copy = new Uint8Array(bytes);
  swap32InPlace(copy);
  return copy;
}
