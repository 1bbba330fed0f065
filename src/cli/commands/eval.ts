// `microscale eval MODEL`: run the original and each format's weight-quantized model on the same
// inputs (ONNX through onnxruntime-node) or text (GGUF through llama.cpp) and report output
// metrics beside bits per element and the sweep's tensor QSNR; optionally rank tensors by
// sensitivity and search the cheapest mix of formats meeting a target, written as a --plan file.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { evaluateModelFile } from '../../eval/node.js';
import { evalToCsv, evalToHtml, evalToJson, formatEvalTable } from '../../eval/report.js';
import { EVAL_METRICS, parseTarget, type EvalMetric, type EvalTarget } from '../../eval/target.js';
import { normalizeFormatName } from '../../model-io/plan.js';
import { parseFormat } from '../../formats/names.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { checkOutputPath, writeFileAtomic } from '../output.js';
import { integerIn, shapeList } from '../parse.js';
import { BACKENDS, pickBackend } from './sweep.js';

/** Formats evaluated when --formats is not given: the identity, then 8 bits down to 4. */
export const DEFAULT_EVAL_FORMATS: readonly string[] = ['fp32', 'mxfp8_e4m3', 'mxint8', 'q8_0', 'mx6', 'mxfp6_e2m3', 'mx4', 'mxfp4', 'nvfp4', 'q4_0'];

interface EvalCliOptions {
  formats?: string;
  inputs?: string;
  shape?: string[];
  seed?: number;
  text?: string;
  contextSize?: number;
  maxTokens?: number;
  tensors?: string;
  exclude?: string;
  minElements?: number;
  sensitivity?: string | boolean;
  target?: string;
  planOut?: string;
  json?: boolean;
  csv?: boolean;
  report?: string;
  force?: boolean;
  backend: (typeof BACKENDS)[number];
  threads?: number;
}

function parseShapes(items: readonly string[] | undefined): Record<string, number[]> | undefined {
  if (!items || items.length === 0) return undefined;
  const out: Record<string, number[]> = {};
  for (const item of items) {
    const at = item.lastIndexOf('=');
    if (at <= 0) throw new UsageError(`--shape ${item}: write INPUT=d0,d1,… (e.g. x=1,3,48,192)`);
    try {
      out[item.slice(0, at)] = shapeList(item.slice(at + 1));
    } catch (e) {
      throw new UsageError(`--shape ${item}: ${(e as Error).message}`);
    }
  }
  return out;
}

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag} ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function registerEval(program: Command, ctx: CliContext): Command {
  return program
    .command('eval')
    .description('run the original and the weight-quantized model on the same inputs (ONNX via onnxruntime-node, GGUF via llama.cpp) and compare outputs per format; rank tensors by sensitivity; search the cheapest mix meeting a target')
    .argument('<model>', '.onnx model (onnxruntime-node) or .gguf language model (node-llama-cpp)')
    .option('-f, --formats <list>', `comma-separated formats (default: ${DEFAULT_EVAL_FORMATS.join(',')})`)
    .option('--inputs <file>', 'ONNX: .npy (one input) or .npz (arrays named by input); default: seeded N(0,1) inputs from the graph')
    .option('--shape <input=dims>', 'ONNX: dimensions of a generated input, e.g. x=1,3,48,192 (repeatable; symbolic axes default to 1 for the first, 64 for others)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--seed <n>', 'ONNX: seed of generated inputs (default: 1)', integerIn(0, 2 ** 31))
    .option('--text <file>', 'GGUF: text to score (default: the bundled public-domain sample)')
    .option('--context-size <n>', 'GGUF: llama.cpp context size', integerIn(8, 1 << 20))
    .option('--max-tokens <n>', 'GGUF: positions compared at most', integerIn(2, 1 << 24))
    .option('--tensors <regex>', 'quantize only tensors whose name matches')
    .option('--exclude <regex>', 'keep tensors whose name matches')
    .option('--min-elements <n>', 'keep tensors with fewer elements (default: 0)', integerIn(0, Number.MAX_SAFE_INTEGER))
    .option('--sensitivity [metric]', `quantize one tensor at a time per format and rank by damage per bit saved; metric ${EVAL_METRICS.join(', ')} (default: qsnr for ONNX, kl for GGUF)`)
    .option('--target <expr>', 'search the cheapest mix of --formats meeting it: "qsnr>=30" (lowest output QSNR, dB), "kl<=0.01" (mean KL, nats), "top1>=0.99"')
    .option('--plan-out <file.json>', 'with --target: write the plan for `microscale quantize --plan`')
    .option('--json', 'print JSON')
    .option('--csv', 'print CSV')
    .option('--report <file.html>', 'write a self-contained HTML report (Pareto plot, table, sensitivity ranking)')
    .option('--force', 'replace --plan-out if it exists')
    .addOption(new Option('--backend <name>', 'quantize kernels: auto (WASM when it loads), wasm, reference').choices(BACKENDS).default('auto'))
    .option('--threads <n>', 'worker threads for the WASM backend', integerIn(1, 256))
    .addHelpText(
      'after',
      `
Per format, every tensor the format can take is quantized (norms, biases and
shapes the format cannot take stay as stored, as in \`microscale quantize\`);
bits per element count all those tensors, kept ones at their stored width.
ONNX models are written in memory with the fake-quant layout (float32 weights
holding dequantized values); GGUF models into a temporary folder, removed after.

Cost: one model run per format, plus with --sensitivity one run per tensor per
format, plus with --target about log2(steps) more. Narrow it with --tensors,
--exclude and --min-elements on large models.

Examples:
  $ microscale eval cls.onnx --shape x=8,3,48,192 -f fp32,mxfp8_e4m3,mxfp4
  $ microscale eval model.onnx --inputs inputs.npz --report eval.html
  $ microscale eval model.onnx -f mxfp8_e4m3,mxfp4 --target "qsnr>=30" --plan-out plan.json
  $ microscale quantize model.onnx -o mixed.onnx --plan plan.json
  $ microscale eval model-f32.gguf -f q8_0,q4_0 --target "kl<=0.01" --plan-out plan.json`,
    )
    .action(async (model: string, opts: EvalCliOptions) => {
      if (opts.json && opts.csv) throw new UsageError('choose one of --json and --csv');
      if (opts.planOut !== undefined && opts.target === undefined) throw new UsageError('--plan-out needs --target (the plan is what the search finds)');
      const formats = (opts.formats ?? DEFAULT_EVAL_FORMATS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
      if (formats.length === 0) throw new UsageError('--formats needs at least one format');
      for (const f of formats) parseFormat(normalizeFormatName(f));
      let target: EvalTarget | undefined;
      if (opts.target !== undefined) target = parseTarget(opts.target);
      let sensitivityMetric: EvalMetric | undefined;
      if (opts.sensitivity !== undefined) {
        const m = typeof opts.sensitivity === 'string' ? opts.sensitivity : /\.gguf$/i.test(model) ? 'kl' : 'qsnr';
        if (!(EVAL_METRICS as readonly string[]).includes(m)) throw new UsageError(`--sensitivity ${m}: choose one of ${EVAL_METRICS.join(', ')}`);
        sensitivityMetric = m as EvalMetric;
      }
      if (opts.planOut !== undefined) checkOutputPath(opts.planOut, { allowExisting: opts.force === true, flag: '--plan-out' });
      if (opts.report !== undefined) checkOutputPath(opts.report, { allowExisting: true, flag: '--report' });
      const shapes = parseShapes(opts.shape);
      const text = opts.text === undefined ? undefined : readText(opts.text, '--text');
      const backend = await pickBackend(opts.backend, opts.threads, (note) => ctx.io.stderr(`${note}\n`));
      try {
        let lastStage = '';
        const result = await evaluateModelFile(model, {
          formats,
          ...(opts.inputs !== undefined && { inputsPath: opts.inputs }),
          ...(shapes && { shapes }),
          ...(opts.seed !== undefined && { seed: opts.seed }),
          ...(text !== undefined && { text }),
          ...(opts.contextSize !== undefined && { contextSize: opts.contextSize }),
          ...(opts.maxTokens !== undefined && { maxTokens: opts.maxTokens }),
          ...(opts.tensors !== undefined && { tensors: opts.tensors }),
          ...(opts.exclude !== undefined && { exclude: opts.exclude }),
          ...(opts.minElements !== undefined && { minElements: opts.minElements }),
          ...(sensitivityMetric !== undefined && { sensitivity: sensitivityMetric }),
          ...(target !== undefined && { target }),
          backend,
          onProgress(stage, _done, total) {
            // one line when a stage starts (a terminal only: pipes and tests get the result alone)
            if (!ctx.io.stderrIsTerminal || stage === lastStage) return;
            lastStage = stage;
            ctx.io.stderr(stage === 'search' ? 'search: verifying the plan…\n' : `${stage}: ${total} runs…\n`);
          },
        });
        if (opts.json) ctx.io.stdout(evalToJson(result));
        else if (opts.csv) ctx.io.stdout(evalToCsv(result));
        else ctx.io.stdout(formatEvalTable(result));
        const p = result.plan;
        if (p) {
          const metric = p.target.startsWith('qsnr') ? `${p.metric.toFixed(2)} dB` : String(p.metric);
          ctx.io.stderr(`plan for ${p.target}: ${p.proxy.bitsPerElement.toFixed(3)} bits/element, ${p.proxy.quantizedTensors} of ${result.tensors} tensors quantized, measured ${metric} (${p.meetsTarget ? 'meets the target' : 'does not meet the target'}; ${p.runs} verification runs)\n`);
          if (opts.planOut !== undefined) {
            writeFileAtomic(opts.planOut, JSON.stringify(p.planMap, null, 2) + '\n');
            ctx.io.stderr(`wrote ${opts.planOut}\n`);
          }
        }
        if (opts.report !== undefined) {
          writeFileAtomic(opts.report, evalToHtml(result, `microscale eval ${model}`));
          ctx.io.stderr(`wrote ${opts.report}\n`);
        }
        ctx.io.stderr(`${result.runs} quantized runs in ${result.seconds.toFixed(1)} s\n`);
      } finally {
        await backend.dispose();
      }
    });
}
