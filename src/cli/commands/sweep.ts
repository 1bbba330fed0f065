// `microscale sweep`: every format over every tensor of a model file (or the built-in synthetic
// model), as a table, JSON, CSV or an HTML report with plots.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Option, type Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { DEFAULT_FORMATS, expandVariants, memoryTensors, presetApplies, readerTensors, selectTensors, sweep, unusedPresets, type SweepOptions, type SweepTensor } from '../../bdr-explorer/sweep.js';
import { parseBdrGrid } from '../../bdr-explorer/frontier.js';
import { formatTable, summaryToCsv, toCsv, toHtml, toJson } from '../../bdr-explorer/report.js';
import { defaultTensors } from '../../bdr-explorer/synthetic.js';
import { openModelFile } from '../../bdr-explorer/readers/node-source.js';
import { MicroscaleError, OptionError, getFormat, referenceBackend, type Backend, type Preset, type Rounding, type ScaleMode } from '../../index.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { checkOutputPath, writeFileAtomic } from '../output.js';
import { integerIn } from '../parse.js';

const ROUNDINGS: readonly Rounding[] = ['rne', 'rna', 'rtz', 'stochastic'];
const SCALE_MODES: readonly ScaleMode[] = ['floor', 'ceil', 'even', 'rceil'];
export const BACKENDS = ['auto', 'wasm', 'reference'] as const;
const PRESETS: readonly Preset[] = ['ocp', 'microxcaling', 'torchao', 'ggml'];

interface SweepCliOptions {
  formats?: string;
  blockSize?: string;
  axis?: number;
  scaleMode?: string;
  rounding?: string;
  preset?: string;
  bdrGrid?: string;
  json?: boolean;
  csv?: boolean;
  summaryCsv?: boolean;
  report?: string;
  tensors?: string;
  backend: (typeof BACKENDS)[number];
  threads?: number;
}

function list<T extends string>(flag: string, text: string | undefined, allowed?: readonly T[]): T[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`${flag} needs at least one value`);
  if (allowed) for (const i of items) if (!(allowed as readonly string[]).includes(i)) throw new UsageError(`${flag}: "${i}" is not one of ${allowed.join(', ')}`);
  return items as T[];
}

/**
 * A full garbage collection, which the sweep runs after every few MiB of dropped arrays so its peak
 * memory follows its largest tensor: V8 counts those arrays as external memory and collects them late.
 */
function garbageCollector(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** The fastest backend available: WASM when it loads, else the reference codec. */
export async function pickBackend(kind: (typeof BACKENDS)[number], threads: number | undefined, note: (s: string) => void): Promise<Backend> {
  if (kind === 'reference') return referenceBackend;
  try {
    const wasm = (await import('../../kernels/wasm/index.js')) as { createWasmBackend(o?: { threads?: number }): Promise<Backend> };
    return await wasm.createWasmBackend(threads === undefined ? {} : { threads });
  } catch (e) {
    if (kind === 'wasm') throw new UsageError(`the WASM backend is not available: ${(e as Error).message}`);
    note(`WASM backend unavailable (${(e as Error).message}); using the reference codec`);
    return referenceBackend;
  }
}

export function registerSweep(program: Command, ctx: CliContext): Command {
  return program
    .command('sweep')
    .description('measure accuracy (QSNR) against bandwidth (bits/element) of formats over the tensors of a model file')
    .argument('[file]', 'model file: .safetensors, .gguf, .npy, .npz, .onnx or tfjs model.json (default: a built-in synthetic transformer)')
    .option('--formats <list>', `comma-separated formats (default: ${DEFAULT_FORMATS.join(',')})`)
    .option('--block-size <list>', 'comma-separated block sizes to try, for formats whose block may change')
    .option('--axis <n>', 'block axis of every tensor; negative counts from the end (default: the last)', integerIn(-64, 63))
    .option('--scale-mode <list>', `scale rules to try for power-of-two formats: ${SCALE_MODES.join(', ')}`)
    .option('--rounding <list>', `element roundings to try: ${ROUNDINGS.join(', ')}`)
    .option('--preset <list>', `compatibility presets to try: ${PRESETS.join(', ')} (ggml = llama.cpp's own quantizers); each applies to the formats it fits`)
    .option('--bdr-grid <grid>', "add the BDR design space, e.g. 'm=2..7;k1=16,32;k2=1,2;d2=0,1' ('' = the default grid)")
    .option('--tensors <regex>', 'only tensors whose name matches')
    .option('--json', 'print results and summary as JSON')
    .option('--csv', 'print one CSV row per tensor and format (skipped pairs included, with the reason)')
    .option('--summary-csv', 'print one CSV row per format: mean and pooled QSNR, coverage, frontier')
    .option('--report <file.html>', 'also write a self-contained HTML report with plots')
    .addOption(new Option('--backend <name>', 'kernels to use').choices(BACKENDS).default('auto'))
    .option('--threads <n>', 'worker threads for the WASM backend', integerIn(1, 256))
    .addHelpText(
      'after',
      `
Blocks run along each tensor's last axis (a linear layer's reduction axis)
unless --axis is given. Per tensor, QSNR = -10*log10(sum((x-q)^2)/sum(x^2)).
Per format the summary gives the element-weighted mean of per-tensor QSNR
(the ranking) and the pooled QSNR (errors and signals summed over the model,
dominated by the largest-magnitude tensors), and how many tensors the format
covered: formats skip tensors they cannot take. '*' marks the Pareto frontier
of mean QSNR against bits per element among formats that covered every
tensor; 'partial' rows are not compared.

Exit status: 0 success; 2 bad command line; 1 unreadable or corrupt file,
or a tensor holding NaN/Inf (exclude it with --tensors).

Examples:
  $ microscale sweep
  $ microscale sweep model.safetensors --formats mxfp4,nvfp4,mx6 --report r.html
  $ microscale sweep model.gguf --tensors 'blk\\.0\\.' --json > out.json
  $ microscale sweep weights.npz --bdr-grid 'm=2..7;k1=16;k2=1,2;d2=0,1' --csv
  $ microscale sweep model.gguf --formats q4_0,mxfp4 --preset ggml,ocp`,
    )
    .action(async (file: string | undefined, o: SweepCliOptions) => {
      if ([o.json, o.csv, o.summaryCsv].filter(Boolean).length > 1) throw new UsageError('choose one of --json, --csv and --summary-csv');
      if (o.report !== undefined) checkOutputPath(o.report, { allowExisting: true, flag: '--report' });
      const opts: SweepOptions = {};
      const formats = list('--formats', o.formats);
      if (formats) {
        for (const f of formats) getFormat(f);
        opts.formats = formats;
      }
      const blocks = list('--block-size', o.blockSize);
      if (blocks) {
        opts.blockSizes = blocks.map((b) => {
          if (!/^\d+$/.test(b)) throw new UsageError(`--block-size: "${b}" is not a non-negative integer`);
          return Number(b);
        });
      }
      if (o.axis !== undefined) opts.axis = o.axis;
      const modes = list('--scale-mode', o.scaleMode, SCALE_MODES);
      if (modes) opts.scaleModes = modes;
      const rounds = list('--rounding', o.rounding, ROUNDINGS);
      if (rounds) opts.roundings = rounds;
      const presets = list('--preset', o.preset, PRESETS);
      const notes: string[] = [];
      if (presets) {
        const names = opts.formats ?? DEFAULT_FORMATS;
        const unused = unusedPresets(presets, names);
        if (unused.length) {
          throw new UsageError(`--preset ${unused.join(',')} applies to none of the formats swept (${names.join(', ')}); add a format it fits (ggml: q4_0, q8_0, …; microxcaling: mxfp8_e4m3, mxint8, …)`);
        }
        opts.presets = presets;
        const untouched = names.filter((n) => !presets.some((p) => presetApplies(getFormat(n), p)));
        if (untouched.length) notes.push(`--preset ${presets.join(',')} does not apply to ${untouched.join(', ')}; they run with their defaults`);
      }
      if (o.bdrGrid !== undefined) {
        try {
          opts.bdrGrid = parseBdrGrid(o.bdrGrid);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
      }
      if (o.tensors !== undefined) {
        try {
          opts.tensors = new RegExp(o.tensors);
        } catch {
          throw new UsageError(`--tensors: "${o.tensors}" is not a valid regular expression`);
        }
      }
      try {
        expandVariants(opts);
      } catch (e) {
        if (e instanceof OptionError) throw new UsageError(e.message);
        throw e;
      }
      const backend = await pickBackend(o.backend, o.threads, (s) => notes.push(s));
      const reader = file === undefined ? null : await openModelFile(file);
      try {
        const all: SweepTensor[] = reader ? readerTensors(reader) : memoryTensors(defaultTensors());
        if (all.length === 0) throw new MicroscaleError('UNREPRESENTABLE', `${file}: no floating-point tensors to sweep`);
        // --tensors first, then --axis on what it selected; either failing is a usage error naming tensors
        const checked = async (flag: string, list: SweepTensor[], check: Pick<SweepOptions, 'tensors' | 'axis'>) => {
          try {
            return await selectTensors(list, check);
          } catch (e) {
            if (e instanceof OptionError) throw new UsageError(`${flag}: ${e.message}`);
            throw e;
          }
        };
        const tensors = await checked('--axis', await checked('--tensors', all, { tensors: opts.tensors }), { axis: opts.axis });
        delete opts.tensors;
        let bar: SingleBar | null = null;
        if (ctx.io.stderrIsTerminal) {
          bar = new SingleBar({ format: 'sweep [{bar}] {percentage}% | {value}/{total} | {label}', hideCursor: true, clearOnComplete: true, stream: process.stderr });
        }
        opts.backend = backend;
        const gc = garbageCollector();
        if (gc) opts.releaseMemory = gc;
        opts.onProgress = (done, total, label) => {
          if (!bar) return;
          if (done === 1) bar.start(total, 0, { label: '' });
          bar.update(done, { label: label.length > 40 ? '…' + label.slice(-39) : label });
        };
        let result;
        try {
          result = await sweep(tensors, opts);
        } catch (e) {
          if (e instanceof MicroscaleError && file !== undefined && !e.message.startsWith(file)) {
            throw new MicroscaleError(e.code, `${file}: ${e.message}`);
          }
          throw e;
        } finally {
          bar?.stop();
        }
        if (o.report) writeFileAtomic(o.report, toHtml(result, file ? `microscale sweep: ${file}` : 'microscale sweep: built-in synthetic model'));
        if (o.json) ctx.io.stdout(toJson(result) + '\n');
        else if (o.csv) ctx.io.stdout(toCsv(result));
        else if (o.summaryCsv) ctx.io.stdout(summaryToCsv(result));
        else {
          const title = file ? `${file} (${reader!.format})` : 'built-in synthetic model (gaussian, laplace, student-t, outlier channels)';
          ctx.io.stdout(`${title}\n\n${formatTable(result)}\n`);
          if (o.report) ctx.io.stdout(`report written to ${o.report}\n`);
        }
        for (const n of notes) ctx.io.stderr(`microscale: note: ${n}\n`);
      } finally {
        await reader?.close();
        await backend.dispose();
      }
    });
}
