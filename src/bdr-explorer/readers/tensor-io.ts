import { MAX_READ_ELEMENTS } from './dtypes.js';
import { ModelFileError } from './errors.js';
import { checkRange, type ByteSource } from './source.js';

/** Read one tensor's stored bytes after checking its range and that its float32 copy can exist. */
export async function readTensorBytes(source: ByteSource, offset: number, length: number, elements: number, tensor: string): Promise<Uint8Array> {
  checkElements(source.name, elements, tensor);
  checkRange(source.name, source.size, offset, length, 'tensor data', tensor);
  return source.read(offset, length);
}

/** Fail with 'too-large' when a tensor has more elements than one Float32Array can hold. */
export function checkElements(file: string, elements: number, tensor: string): void {
  if (elements > MAX_READ_ELEMENTS) {
    throw new ModelFileError(file, 'too-large', `${elements} elements exceed the ${MAX_READ_ELEMENTS} a Float32Array can hold; read it in parts with another tool`, tensor);
  }
}
