import type { Command } from 'commander';
import type { CliIo } from './io.js';

/** What every subcommand receives: the streams it may use. */
export interface CliContext {
  readonly io: CliIo;
}

/** Adds one subcommand to the program (via `program.command(...)`, so it inherits error handling). */
export type RegisterCommand = (program: Command, ctx: CliContext) => Command;
