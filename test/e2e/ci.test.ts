// What CI relies on. Suites that need something outside npm skip with a one-line reason and an
// install hint in the default output, without running any of their set-up; MICROSCALE_REQUIRE_ALL=1
// (.ci/run) makes the same run fail (checked on the two numpy-oracle suites with a missing
// interpreter). .ci/run runs the README's test commands, and npm in the repository prints no warnings.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ORACLE_SUITES = ['test/golden/qsnr-oracle.test.ts', 'test/unit/explorer/sweep.test.ts'];

function vitestWithoutPython(requireAll: boolean): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [`${root}node_modules/vitest/vitest.mjs`, 'run', ...ORACLE_SUITES], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, MICROSCALE_PYTHON: '/nonexistent/python3', MICROSCALE_SKIP_BUILD: '1', MICROSCALE_REQUIRE_ALL: requireAll ? '1' : '0', NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('skipped suites', () => {
  it('without the oracle interpreter both suites skip, one line each naming what is missing and how to install it', () => {
    const { status, out } = vitestWithoutPython(false);
    expect(status, out).toBe(0);
    expect(out).toContain('Skipped suites (2)');
    for (const file of ORACLE_SUITES) {
      const line = out.split('\n').find((l) => l.includes(`${file} › `));
      expect(line, out).toMatch(/\/nonexistent\/python3 not found\); install: apt-get install python3-numpy/);
    }
  }, 120_000);

  it('MICROSCALE_REQUIRE_ALL=1 turns those skips into failures', () => {
    const { status, out } = vitestWithoutPython(true);
    expect(status, out).toBe(1);
    expect(out).toMatch(/MICROSCALE_REQUIRE_ALL=1 \(set by \.ci\/run\) requires this suite/);
    expect(out).not.toContain('Skipped suites');
  }, 120_000);

  it('the run keeps its temporary files in one short folder (Chromium needs a short socket path)', () => {
    const dir = tmpdir();
    expect(dir.split('microscale-run-').length - 1, dir).toBe(1);
    expect(dir.length, dir).toBeLessThan(48);
  });

  it('.ci/run sets MICROSCALE_REQUIRE_ALL=1', () => {
    expect(readFileSync(`${root}.ci/run`, 'utf8')).toMatch(/^export MICROSCALE_REQUIRE_ALL=1$/m);
  });

  it('every conditional skip goes through describeWhen (no silent skipIf or it.skip)', () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(`${root}test`);
    const offenders = files
      .filter((f) => !f.endsWith('helpers/needs.ts'))
      .filter((f) => /\.(skipIf|runIf|skip)\(|\bctx\.skip\b/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });
});

describe('CI and npm', () => {
  const between = (text: string, begin: string, end: string) => text.slice(text.indexOf(begin) + begin.length, text.indexOf(end));
  it(".ci/run runs exactly the README's test commands", () => {
    const readme = between(readFileSync(`${root}README.md`, 'utf8'), '<!-- test-commands:begin -->', '<!-- test-commands:end -->');
    const ci = between(readFileSync(`${root}.ci/run`, 'utf8'), '# test-commands:begin', '# test-commands:end');
    const commands = (text: string) => [...text.matchAll(/^(npm [^#\n]*?)\s*(?:#.*)?$/gm)].map((m) => m[1]);
    const ciCommands = commands(ci.slice(ci.indexOf('\n')));
    expect(ciCommands.length).toBeGreaterThan(0);
    expect(commands(readme)).toEqual(ciCommands);
  });

  it('npm prints no warnings in the repository (no unknown project config)', () => {
    const r = spawnSync('npm', ['pkg', 'get', 'name'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toBe('microscale');
  });

  it('the slow-first test order names existing files', async () => {
    const { SLOW_FIRST } = await import('../setup/sequencer.js');
    expect(SLOW_FIRST.filter((f) => !existsSync(`${root}${f}`))).toEqual([]);
  });

  it('the WebGPU conformance files together define every part of the suite', async () => {
    const { CONFORMANCE_PARTS } = await import('../conformance/suite.js');
    const parts = ['webgpu-codes', 'webgpu-shapes'].flatMap((f) => {
      const text = readFileSync(`${root}test/conformance/${f}.test.ts`, 'utf8');
      return [...(/, (\[[^\]]*\])\);\n\}\);/.exec(text)?.[1] ?? '[]').matchAll(/'(\w+)'/g)].map((m) => m[1]);
    });
    expect(parts.sort()).toEqual([...CONFORMANCE_PARTS].sort());
  });

  it('dependency install scripts stay off by an explicit allowScripts denial, not an npm config', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { allowScripts?: Record<string, boolean> };
    expect(pkg.allowScripts).toEqual({ 'onnxruntime-node': false, webgpu: false });
  });
});
