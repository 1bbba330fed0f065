// Node file access for the readers: positional reads through a FileHandle, so only the bytes asked
// for are ever in memory. Kept apart from the rest of readers/ so that browser bundles never see
// node:fs.
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve as resolvePath } from 'node:path';
import { ModelFileError } from './errors.js';
import { openModel, type OpenModelOptions } from './open.js';
import { checkRange, type ByteSource, type SiblingResolver } from './source.js';
import type { ModelReader } from './types.js';

/** Node caps one read at 2 GiB − 1; reads go in pieces of at most 1 GiB. */
const MAX_PIECE = 1 << 30;

function ioError(path: string, e: unknown): ModelFileError {
  const code = (e as { code?: string }).code;
  const problem = code === 'ENOENT' ? 'not-found' : 'malformed';
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
  return new ModelFileError(path, problem, why);
}

/** A ByteSource over a file on disk (opened read-only until `close()`). */
export async function fileSource(path: string, name = path): Promise<ByteSource> {
  let handle: FileHandle;
  let size: number;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw ioError(name, e);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: st.isDirectory() ? 'EISDIR' : 'EINVAL' });
    size = st.size;
  } catch (e) {
    await handle.close();
    throw ioError(name, e);
  }
  let closed = false;
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length, 'read');
      if (closed) throw new ModelFileError(name, 'closed', 'the file was closed; open it again');
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const want = Math.min(MAX_PIECE, length - done);
        const { bytesRead } = await handle.read(out, done, want, offset + done);
        if (bytesRead === 0) throw new ModelFileError(name, 'truncated', `the file ended at ${offset + done} bytes while reading (did it shrink?)`);
        done += bytesRead;
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}

/** Opens files named relative to `modelPath`'s folder; refuses paths that leave that folder. */
export function fileResolver(modelPath: string): SiblingResolver {
  const dir = dirname(resolvePath(modelPath));
  return async (relativePath) => {
    const target = resolvePath(dir, relativePath);
    const rel = relative(dir, target);
    if (isAbsolute(relativePath) || rel.startsWith('..') || isAbsolute(rel)) {
      throw new ModelFileError(modelPath, 'out-of-range', `refuses weight path "${relativePath}" outside the model's folder`);
    }
    return fileSource(target);
  };
}

/** Open a model file by path (see openModel); tfjs weight shards are found next to model.json. */
export async function openModelFile(path: string, options: Omit<OpenModelOptions, 'name'> = {}): Promise<ModelReader> {
  const source = await fileSource(path);
  try {
    return await openModel(source, { resolve: fileResolver(path), ...options });
  } catch (e) {
    await source.close();
    throw e;
  }
}
