// Output files of the CLI: the destination is checked before any work, data goes to a temporary
// name beside it, and only a complete file is renamed into place. An error, Ctrl-C or SIGTERM
// leaves nothing behind (the temporary file is removed).
import { accessSync, closeSync, constants, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { UsageError } from './errors.js';

export interface OutputCheck {
  /** Whether an existing file may be replaced (e.g. `--force` given, or a report that is simply rewritten). */
  readonly allowExisting: boolean;
  /** The flag that named the path, for error messages (e.g. `--report`, `-o`). */
  readonly flag: string;
}

/**
 * Throw a {@link UsageError} unless `path` can be written: its folder exists and is writable, it is
 * not a folder, and (unless `allowExisting`) it does not exist yet. Call before any work.
 */
export function checkOutputPath(path: string, check: OutputCheck): string {
  const full = resolve(path);
  const dir = dirname(full);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`${check.flag} ${path}: the folder ${dir} does not exist; create it first or choose another path`);
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`${check.flag} ${path}: the folder ${dir} is not writable; choose another path`);
  }
  if (existsSync(full)) {
    if (statSync(full).isDirectory()) throw new UsageError(`${check.flag} ${path} is a folder; name a file`);
    if (!check.allowExisting) throw new UsageError(`${check.flag} ${path} already exists; pass --force to replace it`);
    try {
      accessSync(full, constants.W_OK);
    } catch {
      throw new UsageError(`${check.flag} ${path} exists and is not writable; choose another path`);
    }
  }
  return full;
}

const pending = new Set<string>();
let opened = 0;
let handlersInstalled = false;

function removePending(): void {
  for (const p of pending) rmSync(p, { force: true });
  pending.clear();
}

function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', removePending);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.once(signal, () => {
      removePending();
      process.exit(code);
    });
  }
}

/** A file being written under a temporary name; `commit` moves it into place. */
export interface AtomicOutput {
  /** The final path. */
  readonly path: string;
  /** The temporary path data goes to until `commit`. */
  readonly tempPath: string;
  /** Bytes written so far. */
  readonly bytesWritten: number;
  write(chunk: Uint8Array | string): void;
  /** Flush, close and rename into place. */
  commit(): void;
  /** Close and remove the temporary file (idempotent; a no-op after commit). */
  abort(): void;
}

/** Open `path` (already checked with {@link checkOutputPath}) for an all-or-nothing write. */
export function openAtomicOutput(path: string): AtomicOutput {
  const full = resolve(path);
  // pid + time + a counter: unique even for two outputs to one path opened in the same millisecond
  const tempPath = join(dirname(full), `.${basename(full)}.${process.pid}.${Date.now().toString(36)}.${++opened}.partial`);
  installSignalHandlers();
  const fd = openSync(tempPath, 'wx');
  pending.add(tempPath);
  let open = true;
  let written = 0;
  const close = () => {
    if (open) {
      open = false;
      closeSync(fd);
    }
  };
  return {
    path: full,
    tempPath,
    get bytesWritten() {
      return written;
    },
    write(chunk) {
      if (!open) throw new Error(`${full}: write after close`);
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let at = 0;
      while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
      written += bytes.length;
    },
    commit() {
      if (!open) throw new Error(`${full}: commit after close`);
      fsyncSync(fd);
      close();
      renameSync(tempPath, full);
      pending.delete(tempPath);
    },
    abort() {
      close();
      if (pending.delete(tempPath)) rmSync(tempPath, { force: true });
    },
  };
}

/** Write `data` to `path` all or nothing. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const out = openAtomicOutput(path);
  try {
    out.write(data);
    out.commit();
  } catch (e) {
    out.abort();
    throw e;
  }
}
