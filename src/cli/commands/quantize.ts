// `microscale quantize IN -o OUT --format F`: write a quantized model file (kind from OUT's
// extension) that a runtime loads; prints what it kept unquantized and why.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { Option, type Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { checkPlanMap, type PlanMap } from '../../model-io/plan.js';
import { quantizeModelFile } from '../../model-io/node.js';
import type { TensorPlanEntry } from '../../model-io/types.js';
import { writerForName } from '../../model-io/writers.js';
import type { Preset } from '../../index.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { checkOutputPath } from '../output.js';
import { integerIn } from '../parse.js';
import { BACKENDS, pickBackend } from './sweep.js';

const PRESETS: readonly Preset[] = ['ocp', 'microxcaling', 'torchao', 'ggml'];

interface QuantizeCliOptions {
  output: string;
  format?: string;
  tensors?: string;
  exclude?: string;
  minElements?: number;
  preset?: Preset;
  blockSize?: number;
  layout?: string;
  plan?: string;
  force?: boolean;
  backend: (typeof BACKENDS)[number];
  threads?: number;
}

function readPlan(path: string): PlanMap {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--plan ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--plan ${path} is not valid JSON (${(e as Error).message})`);
  }
  try {
    return checkPlanMap(json, `--plan ${path}`);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** "kept 3 tensors: 2 × 1-D (norm, bias or scale): a, b; …" grouped by reason. */
function keptReport(plan: readonly TensorPlanEntry[]): string {
  const byReason = new Map<string, string[]>();
  for (const e of plan) {
    if (e.format !== null) continue;
    const reason = e.reason ?? 'kept as stored';
    byReason.set(reason, [...(byReason.get(reason) ?? []), e.name]);
  }
  const lines: string[] = [];
  for (const [reason, names] of byReason) {
    const shown = names.length > 4 ? `${names.slice(0, 4).join(', ')}, … (${names.length - 4} more)` : names.join(', ');
    lines.push(`  kept ${names.length} × ${reason}: ${shown}\n`);
  }
  return lines.join('');
}

export function registerQuantize(program: Command, ctx: CliContext): Command {
  return program
    .command('quantize')
    .description('write a quantized model file that runtimes load (GGUF for llama.cpp, safetensors for transformers/vLLM, ONNX for onnxruntime), keeping norms, biases and tensors a format cannot take')
    .argument('<in>', 'source model: .gguf, .safetensors, .npy, .npz, .onnx or tfjs model.json')
    .requiredOption('-o, --output <file>', 'output file; its extension picks the kind (.gguf, .safetensors, .onnx)')
    .option('-f, --format <name>', 'target format for the selected tensors, e.g. q4_0, q8_0, ggml_mxfp4, mxfp4, nvfp4, f16')
    .option('--tensors <regex>', 'quantize only tensors whose name matches')
    .option('--exclude <regex>', 'keep tensors whose name matches')
    .option('--min-elements <n>', 'keep tensors with fewer elements (default: 0)', integerIn(0, Number.MAX_SAFE_INTEGER))
    .addOption(new Option('--preset <name>', 'compatibility preset (default: ggml for ggml types, else the format default)').choices(PRESETS))
    .option('--block-size <n>', 'elements per block for formats whose block may change', integerIn(1, 2 ** 31))
    .option('--layout <name>', 'convention where one output kind has several: safetensors microscale (default), gpt-oss, modelopt, compressed-tensors; onnx fake-quant (default), packed')
    .option('--plan <file.json>', 'JSON map of tensor-name regexes to formats (null or "keep" keeps); first match wins, --format covers the rest')
    .option('--force', 'replace OUT if it exists')
    .addOption(new Option('--backend <name>', 'quantize kernels: auto (WASM when it loads), wasm, reference; all write the same bytes').choices(BACKENDS).default('auto'))
    .option('--threads <n>', 'worker threads for the WASM backend', integerIn(1, 256))
    .addHelpText(
      'after',
      `
Kept as stored (and listed): integer tensors, 1-D tensors (norms, biases),
tensors outside --tensors or inside --exclude, tensors below --min-elements,
tensors already in a quantized ggml type, and shapes the format cannot take
(rows not a whole number of blocks).

ggml formats (q8_0, q4_0, q4_1, q5_0, q5_1, ggml_mxfp4, ggml_nvfp4) use preset
ggml: the blocks equal llama.cpp's own quantizer byte for byte. OCP mxfp4 and
nvfp4 are re-laid into ggml's MXFP4/NVFP4 blocks (nvfp4's per-tensor scale goes
into a "<name>.scale" tensor, which llama.cpp applies to matmul weights).

The output is written to a temporary file beside OUT and renamed when complete.

Examples:
  $ microscale quantize model-f32.gguf -o model-q4_0.gguf --format q4_0
  $ microscale quantize model.gguf -o model-mxfp4.gguf -f ggml_mxfp4 --exclude 'token_embd'
  $ microscale quantize model.gguf -o mixed.gguf --plan plan.json --format q8_0
      plan.json: {"ffn_(up|gate)": "q4_0", "attn_v": "q8_0", "output": null}
  $ microscale quantize model.safetensors -o model.gguf -f q8_0
  $ microscale quantize model.safetensors -o out/model.safetensors -f mxfp4 --layout gpt-oss
  $ microscale quantize model.onnx -o model_q4.onnx -f q4_0 --layout packed`,
    )
    .action(async (input: string, opts: QuantizeCliOptions) => {
      if (opts.format === undefined && opts.plan === undefined) throw new UsageError('choose a target: --format (e.g. q4_0) or --plan plan.json');
      try {
        writerForName(opts.output);
      } catch (e) {
        throw new UsageError(`-o ${opts.output}: ${(e as Error).message}`);
      }
      checkOutputPath(opts.output, { allowExisting: opts.force === true, flag: '-o' });
      const plan = opts.plan === undefined ? undefined : readPlan(opts.plan);
      let bar: SingleBar | null = null;
      const started = Date.now();
      const backend = await pickBackend(opts.backend, opts.threads, (note) => ctx.io.stderr(`${note}\n`));
      try {
        const summary = await quantizeModelFile(input, opts.output, {
          ...(opts.format !== undefined && { format: opts.format }),
          ...(opts.tensors !== undefined && { tensors: opts.tensors }),
          ...(opts.exclude !== undefined && { exclude: opts.exclude }),
          ...(opts.minElements !== undefined && { minElements: opts.minElements }),
          ...(opts.preset !== undefined && { preset: opts.preset }),
          ...(opts.blockSize !== undefined && { blockSize: opts.blockSize }),
          ...(opts.layout !== undefined && { layout: opts.layout }),
          ...(plan !== undefined && { plan }),
          force: opts.force === true,
          backend,
          onPlan(checked) {
            const n = checked.filter((e) => e.format !== null).length;
            if (n === 0) throw new UsageError(`no tensor of ${input} would be quantized:\n${keptReport(checked)}`);
            ctx.io.stderr(`quantizing ${n} of ${checked.length} tensors of ${input}\n${keptReport(checked)}`);
            if (ctx.io.stderrIsTerminal) {
              bar = new SingleBar({ format: 'quantize [{bar}] {percentage}% | {value}/{total} | {label}', hideCursor: true, clearOnComplete: true, stream: process.stderr });
            }
          },
          onProgress(done, total, tensor) {
            if (!bar) return;
            if (done === 1) bar.start(total, 0, { label: '' });
            bar.update(done, { label: tensor.length > 40 ? '…' + tensor.slice(-39) : tensor });
          },
        });
        (bar as SingleBar | null)?.stop();
        bar = null;
        const seconds = (Date.now() - started) / 1000;
        ctx.io.stderr(`wrote ${opts.output}: ${summary.bytesWritten} bytes, ${summary.quantized.length} tensors quantized, ${summary.kept.length} kept (${seconds.toFixed(1)} s)\n`);
        for (const p of summary.sidecarPaths ?? []) ctx.io.stderr(`wrote ${p}\n`);
        if (summary.packed && summary.packed.length > 0) ctx.io.stderr(`packed for runtime operators: ${summary.packed.length} tensors (${[...new Set(summary.packed.map((x) => x.as))].join(', ')})\n`);
      } finally {
        (bar as SingleBar | null)?.stop();
        await backend.dispose();
      }
    });
}
