// The `microscale` command: builds the commander program from the registered subcommands, runs it,
// and turns every failure into one `microscale: <message>` line and an exit code.
import { Command } from 'commander';
import { createRequire } from 'node:module';
import { registerEval } from './commands/eval.js';
import { registerFormats } from './commands/formats.js';
import { registerInfo } from './commands/info.js';
import { registerQdq } from './commands/qdq.js';
import { registerQuantize } from './commands/quantize.js';
import { registerSweep } from './commands/sweep.js';
import type { CliContext, RegisterCommand } from './context.js';
import { EXIT_USAGE, classify } from './errors.js';
import { processIo, type CliIo } from './io.js';

/**
 * Every subcommand, in help order. To add one, write src/cli/commands/NAME.ts exporting a
 * RegisterCommand (see context.ts) and add it here, e.g. `registerSweep`.
 */
export const SUBCOMMANDS: readonly RegisterCommand[] = [registerFormats, registerInfo, registerQdq, registerQuantize, registerSweep, registerEval];

function packageVersion(): string {
  try {
    const pkg = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The commander program, with errors routed through exceptions instead of process.exit. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('microscale')
    .description('Narrow and block-scaled number formats (OCP MX, BDR MX9/MX6/MX4, MSFP, NVFP4, ggml, FP8/FP6/FP4): inspect them and quantize data')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout(s),
      writeErr: (s) => ctx.io.stderr(s),
      // Errors are printed by main() as one line; commander must not print its own.
      outputError: () => {},
    })
    .addHelpText(
      'after',
      `
Exit status: 0 success; 2 bad command line (unknown command, option or format,
bad value); 1 bad input data (e.g. stdin not a whole number of float32 values)
or an internal error. Errors are one line on stderr, "microscale: <message>";
MICROSCALE_DEBUG=1 adds the stack trace.

Examples:
  $ microscale formats
  $ microscale info mxfp4
  $ microscale info 'bdr(m=4,k1=16,d1=8,k2=2,d2=1)'
  $ microscale qdq --format mxfp4 < x.f32 > y.f32
  $ microscale sweep model.safetensors --report report.html
  $ microscale quantize model-f32.gguf -o model-q4_0.gguf --format q4_0
  $ microscale eval model.onnx -f mxfp8_e4m3,mxfp4 --report eval.html
  $ microscale help qdq`,
    );
  for (const register of SUBCOMMANDS) register(program, ctx);
  return program;
}

/** Run the CLI on `argv` (the arguments after `microscale`) and return the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = buildProgram({ io });
  const names = program.commands.map((c) => c.name());
  if (argv.length === 0) {
    io.stderr(`microscale: missing command; use one of ${names.join(', ')} (run \`microscale --help\` for usage)\n`);
    return EXIT_USAGE;
  }
  // commander answers `help <unknown>` with the whole help text on stderr; keep errors to one line.
  const helpTopic = argv[0] === 'help' ? argv[1] : undefined;
  if (helpTopic !== undefined && !helpTopic.startsWith('-') && !names.includes(helpTopic)) {
    io.stderr(`microscale: unknown command '${helpTopic}'; commands: ${names.join(', ')}\n`);
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    const failure = classify(err);
    if (failure.message !== null) io.stderr(`microscale: ${failure.message}\n`);
    if (io.env.MICROSCALE_DEBUG === '1' && err instanceof Error && err.stack && failure.exitCode !== 0) io.stderr(`${err.stack}\n`);
    return failure.exitCode;
  }
}
