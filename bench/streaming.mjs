// Streaming at size: writes a ~2 GiB synthetic safetensors model (transformer-shaped float32 layers,
// generated and written in 8 MiB pieces), sweeps it with `microscale sweep` and quantizes it with
// `microscale quantize` to each output kind, each as a child process whose peak RSS and wall time
// are measured (/usr/bin/time, or process.resourceUsage() through a preload when it is absent).
// The model is deleted at the end (--keep leaves it). Needs a build: `npm run build` first.
//
//   node bench/streaming.mjs [--gib 2] [--dir /tmp] [--rss-limit-mib 512] [--formats mx9,mxfp4,…]
//                            [--quantize-format mxfp4] [--only sweep|quantize] [--keep]
//                            [--cli path/to/bin/microscale.js]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, statfsSync, statSync, writeSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values: opt } = parseArgs({
  options: {
    gib: { type: 'string', default: '2' },
    dir: { type: 'string', default: '/tmp' },
    'rss-limit-mib': { type: 'string', default: '512' },
    formats: { type: 'string' },
    'quantize-format': { type: 'string', default: 'mxfp4' },
    keep: { type: 'boolean', default: false },
    cli: { type: 'string', default: join(root, 'bin/microscale.js') },
    only: { type: 'string' },
  },
});
const CLI = opt.cli;
const gib = Number(opt.gib);
const rssLimit = Number(opt['rss-limit-mib']);
if (opt.only !== undefined && opt.only !== 'sweep' && opt.only !== 'quantize') throw new Error(`--only takes sweep or quantize; got ${opt.only}`);
if (!(gib > 0)) throw new Error(`--gib must be a positive number; got ${opt.gib}`);
if (!existsSync(join(CLI, '../../dist/cli/main.js'))) throw new Error(`no build beside ${CLI}: run \`npm run build\` first`);

// ------------------------------------------------------------------------------ the model
const HIDDEN = 2048;
const FFN = 8192;
/** One transformer layer: attention projections, MLP and a norm (256 MiB + 8 KiB of float32). */
const layer = (i) => [
  [`layers.${i}.attn.q.weight`, [HIDDEN, HIDDEN]],
  [`layers.${i}.attn.k.weight`, [HIDDEN, HIDDEN]],
  [`layers.${i}.attn.v.weight`, [HIDDEN, HIDDEN]],
  [`layers.${i}.attn.o.weight`, [HIDDEN, HIDDEN]],
  [`layers.${i}.mlp.gate.weight`, [FFN, HIDDEN]],
  [`layers.${i}.mlp.up.weight`, [FFN, HIDDEN]],
  [`layers.${i}.mlp.down.weight`, [HIDDEN, FFN]],
  [`layers.${i}.norm.weight`, [HIDDEN]],
];
const LAYER_BYTES = (4 * HIDDEN * HIDDEN + 3 * FFN * HIDDEN + HIDDEN) * 4;
const layers = Math.max(1, Math.round((gib * 2 ** 30) / LAYER_BYTES));
const tensors = Array.from({ length: layers }, (_, i) => layer(i)).flat();
const largestTensorBytes = FFN * HIDDEN * 4;

/** Write the model piece by piece: values ≈ N(0, 0.02²) (sum of four uniforms), norms ≈ 1. */
function writeModel(path) {
  const header = {};
  let offset = 0;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, json);
    const piece = new Float32Array(2 << 20); // 8 MiB
    let state = 0x9e3779b9;
    const uniform = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 4294967296;
    };
    for (const [, shape] of tensors) {
      let left = shape.reduce((a, b) => a * b, 1);
      const norm = shape.length === 1;
      while (left > 0) {
        const n = Math.min(left, piece.length);
        for (let i = 0; i < n; i++) {
          const g = (uniform() + uniform() + uniform() + uniform() - 2) * 1.7320508; // ≈ N(0, 1)
          piece[i] = norm ? 1 + 0.1 * g : 0.02 * g;
        }
        writeSync(fd, new Uint8Array(piece.buffer, 0, n * 4));
        left -= n;
      }
    }
  } finally {
    closeSync(fd);
  }
  return statSync(path).size;
}

// ------------------------------------------------------------------------------ measuring a child
const TIME = '/usr/bin/time';
let preload = '';

/** Run the CLI with `args`; returns exit status, peak RSS (MiB), wall seconds and output. */
function measure(args, tmp) {
  const t0 = process.hrtime.bigint();
  let r;
  let rssKiB;
  if (existsSync(TIME)) {
    r = spawnSync(TIME, ['-f', 'peak-rss-kib %M', process.execPath, CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
    rssKiB = Number(/peak-rss-kib (\d+)\s*$/.exec(r.stderr)?.[1]);
  } else {
    if (!preload) {
      preload = join(tmp, 'max-rss.mjs');
      writeFileSync(preload, "import { writeSync } from 'node:fs';\nprocess.on('exit', () => writeSync(2, `\\npeak-rss-kib ${process.resourceUsage().maxRSS}\\n`));\n");
    }
    r = spawnSync(process.execPath, ['--import', pathToFileURL(preload).href, CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
    rssKiB = Number(/peak-rss-kib (\d+)\s*$/.exec(r.stderr)?.[1]);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // drop the measurement (and /usr/bin/time's "Command exited with non-zero status" line) from stderr
  const stderr = r.stderr.replace(/\n?peak-rss-kib \d+\s*$/, '').replace(/\n?Command exited with non-zero status \d+\s*$/, '');
  return { status: r.status, rssMiB: rssKiB / 1024, seconds, stdout: r.stdout, stderr };
}

// ------------------------------------------------------------------------------ the run
const tmp = mkdtempSync(join(opt.dir, 'microscale-streaming-'));
const model = join(tmp, 'model-2g.safetensors');
const plannedBytes = tensors.reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1) * 4, 0);
const fs = statfsSync(opt.dir);
const free = fs.bavail * fs.bsize;
// the model, plus one output at a time (deleted after it is measured) of at most the model's size
if (free < 2 * plannedBytes + 2 ** 30) {
  rmSync(tmp, { recursive: true, force: true });
  throw new Error(`${opt.dir} has ${(free / 2 ** 30).toFixed(1)} GiB free; this run needs ${((2 * plannedBytes + 2 ** 30) / 2 ** 30).toFixed(1)} GiB (choose another --dir or a smaller --gib)`);
}

const rows = [];
let failed = false;
try {
  const g0 = Date.now();
  const size = writeModel(model);
  console.log(`${model}: ${(size / 2 ** 30).toFixed(2)} GiB, ${tensors.length} tensors (${layers} layers, largest [${FFN}, ${HIDDEN}] = ${largestTensorBytes / 2 ** 20} MiB), written in ${((Date.now() - g0) / 1000).toFixed(0)} s`);

  // the sweep
  if (opt.only !== 'quantize') {
    const sweepArgs = ['sweep', model, '--json', ...(opt.formats ? ['--formats', opt.formats] : [])];
    const s = measure(sweepArgs, tmp);
    if (s.status !== 0) {
      failed = true;
      rows.push({ run: `sweep ${opt.formats ?? '(default formats)'}`, result: `failed (exit ${s.status}): ${s.stderr.trim().split('\n').pop()}` });
    } else {
      const j = JSON.parse(s.stdout);
      const swept = new Set(j.results.map((r) => r.tensor)).size;
      const skipped = j.skipped.length;
      const formats = j.summary.length;
      const ok = s.rssMiB <= rssLimit && swept + skipped === tensors.length;
      failed ||= !ok;
      rows.push({ run: `sweep, ${formats} formats, ${j.backend} backend`, seconds: s.seconds, mbps: size / 1e6 / s.seconds, rss: s.rssMiB, result: `${swept} tensors swept, ${skipped} skipped, of ${tensors.length}${ok ? '' : ' — OVER THE LIMIT OR INCOMPLETE'}` });
    }
  }

  // quantize to each output kind, once the command exists
  if (opt.only !== 'sweep') {
    // (an unknown command with --help prints the main help, exit 0: look for the command's own usage line)
    const help = spawnSync(process.execPath, [CLI, 'quantize', '--help'], { encoding: 'utf8' });
    if (!help.stdout.startsWith('Usage: microscale quantize')) {
      rows.push({ run: 'quantize', result: 'skipped: this build has no `microscale quantize` command (`microscale quantize --help` does not show its usage)' });
    } else {
      // [output kind, --layout or null for the default]
      const outputs = [['gguf', null], ['safetensors', null], ['safetensors', 'gpt-oss'], ['onnx', null]];
      for (const [kind, layout] of outputs) {
        const what = `quantize → .${kind}${layout ? ` --layout ${layout}` : ''}`;
        if (kind === 'onnx') {
          // the ONNX writer rewrites an ONNX graph: it takes .onnx sources only, and this model is
          // safetensors; check that it says so (and does not read the 2 GiB first)
          const q = measure(['quantize', model, '-o', join(tmp, 'model-q.onnx'), '--format', opt['quantize-format']], tmp);
          const clean = q.status === 2 && /rewrites ONNX models/.test(q.stderr);
          failed ||= !clean || q.rssMiB > rssLimit;
          rows.push({ run: what, seconds: q.seconds, rss: q.rssMiB, result: clean ? `not applicable, refused (exit 2): ${q.stderr.trim().split('\n').pop()}` : `failed (exit ${q.status}): ${q.stderr.trim().split('\n').pop()}` });
          continue;
        }
        const out = join(tmp, `model-q.${kind}`);
        const q = measure(['quantize', model, '-o', out, '--format', opt['quantize-format'], ...(layout ? ['--layout', layout] : [])], tmp);
        const outSize = existsSync(out) ? statSync(out).size : 0;
        rmSync(out, { force: true });
        if (q.status !== 0) {
          // exit 2 is a refused command line (e.g. no writer for this output kind yet): not a failure of streaming
          const refused = q.status === 2;
          failed ||= !refused;
          rows.push({ run: what, result: `${refused ? 'skipped, command line refused' : 'failed'} (exit ${q.status}): ${q.stderr.trim().split('\n').pop()}` });
          continue;
        }
        const ok = q.rssMiB <= rssLimit;
        failed ||= !ok;
        rows.push({ run: `${what} (${opt['quantize-format']})`, seconds: q.seconds, mbps: size / 1e6 / q.seconds, rss: q.rssMiB, result: `${(outSize / 2 ** 20).toFixed(0)} MiB written${ok ? '' : ' — OVER THE LIMIT'}` });
      }
    }
  }
} finally {
  if (!opt.keep) rmSync(tmp, { recursive: true, force: true });
  else console.log(`kept ${model}`);
}

const cell = (v, d) => (v === undefined ? '' : v.toFixed(d));
console.log(`\nnode ${process.version}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${new Date().toISOString()}; peak RSS limit ${rssLimit} MiB\n`);
console.log('| run | wall s | model MB/s | peak RSS MiB | result |');
console.log('|---|---:|---:|---:|---|');
for (const r of rows) console.log(`| ${r.run} | ${cell(r.seconds, 1)} | ${cell(r.mbps, 1)} | ${cell(r.rss, 0)} | ${r.result} |`);
process.exitCode = failed ? 1 : 0;
