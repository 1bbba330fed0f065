// The CLI's streams, passed to every command so that commands never touch `process` directly.
import process from 'node:process';
import { concatBytes } from '../util/bytes.js';

export interface CliIo {
  /** Write text or bytes to standard output. */
  stdout(chunk: string | Uint8Array): void;
  /** Write text to standard error. */
  stderr(text: string): void;
  /** Read all of standard input; rejects when stdin is a terminal (nothing was piped in). */
  readStdin(): Promise<Uint8Array>;
  /** True when standard input is an interactive terminal. */
  readonly stdinIsTerminal: boolean;
  /** True when standard error is an interactive terminal (progress bars go there). */
  readonly stderrIsTerminal: boolean;
  /** Environment variables (MICROSCALE_DEBUG). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : (chunk as Uint8Array));
  return concatBytes(chunks);
}

/** The process's own streams. A closed stdout pipe (`microscale info fp4 | head`) ends quietly. */
export function processIo(): CliIo {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    process.stderr.write(`microscale: cannot write to stdout (${err.message})\n`);
    process.exit(1);
  });
  return {
    stdout: (chunk) => {
      process.stdout.write(chunk);
    },
    stderr: (text) => {
      process.stderr.write(text);
    },
    readStdin: () => readAll(process.stdin),
    stdinIsTerminal: process.stdin.isTTY === true,
    stderrIsTerminal: process.stderr.isTTY === true,
    env: process.env,
  };
}
