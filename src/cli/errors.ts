// How the CLI reports failures: one line on stderr and an exit code that tells usage mistakes (2)
// from bad data (1).
import { CommanderError } from 'commander';
import { ContainerError, EncodingError, FormatError, MicroscaleError, OptionError, ShapeError } from '../index.js';

/** Exit code for a command line that cannot run as typed (unknown option, bad value, missing argument). */
export const EXIT_USAGE = 2;
/** Exit code for input data that cannot be processed, and for internal errors. */
export const EXIT_DATA = 1;

/** The command line is wrong: a missing or malformed argument, or options that do not fit together. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The input data is wrong: truncated, misaligned or not what the options describe. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** How a thrown value is reported: its exit code, the one-line message, and whether it is a bug. */
export interface Failure {
  readonly exitCode: number;
  /** The message without the `microscale: ` prefix; null when commander already printed help. */
  readonly message: string | null;
  readonly internal: boolean;
}

function oneLine(text: string): string {
  return text
    .replace(/^error:\s*/i, '')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .join(' ');
}

/** Classify anything thrown while parsing or running a command. */
export function classify(err: unknown): Failure {
  if (err instanceof CommanderError) {
    // Help and version output end in a CommanderError too; the text is already printed.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') {
      return { exitCode: 0, message: null, internal: false };
    }
    if (err.code === 'commander.help') {
      return { exitCode: err.exitCode === 0 ? 0 : EXIT_USAGE, message: null, internal: false };
    }
    return { exitCode: EXIT_USAGE, message: oneLine(err.message), internal: false };
  }
  if (err instanceof UsageError) return { exitCode: EXIT_USAGE, message: oneLine(err.message), internal: false };
  if (err instanceof InputError) return { exitCode: EXIT_DATA, message: oneLine(err.message), internal: false };
  if (err instanceof FormatError || err instanceof OptionError || err instanceof ShapeError) {
    return { exitCode: EXIT_USAGE, message: oneLine(err.message), internal: false };
  }
  if (err instanceof EncodingError || err instanceof ContainerError || err instanceof MicroscaleError) {
    return { exitCode: EXIT_DATA, message: oneLine(err.message), internal: false };
  }
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return {
    exitCode: EXIT_DATA,
    message: `internal error (${oneLine(what)}); this is a bug in microscale, please report it with the command you ran (MICROSCALE_DEBUG=1 prints the stack trace)`,
    internal: true,
  };
}
