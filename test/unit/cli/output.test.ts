// All-or-nothing output files (src/cli/output.ts), tested where it matters: in a child process that
// opens an atomic output, writes part of it and is then interrupted (SIGINT, SIGTERM, SIGHUP), throws,
// rejects a promise or exits. The destination must not appear and no temporary file may remain.
// The child runs the built module (dist), as the `microscale` command does.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutputPath, openAtomicOutput, writeFileAtomic } from '../../../src/cli/output.js';
import { UsageError } from '../../../src/cli/errors.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const OUTPUT = pathToFileURL(`${root}dist/cli/output.js`).href;
const work = mkdtempSync(join(tmpdir(), 'microscale-output-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let folders = 0;
/** A fresh, empty folder for one case. */
function folder(): string {
  const dir = join(work, String(folders++));
  mkdirSync(dir);
  return dir;
}

/** Child source: open `dest`, write 1 MiB, report the temporary path, then do `then`. */
const childSource = (dest: string, then: string) => `
import { openAtomicOutput } from ${JSON.stringify(OUTPUT)};
const out = openAtomicOutput(${JSON.stringify(dest)});
out.write(new Uint8Array(1 << 20).fill(7));
console.log(JSON.stringify({ temp: out.tempPath, written: out.bytesWritten }));
${then}
`;
/** Keep the event loop alive (interrupted work in progress), writing a chunk now and then. */
const KEEP_WRITING = `setInterval(() => out.write('more '), 20);`;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  temp: string;
  tempExistedMidway: boolean;
  stderr: string;
}

/** Start the child, wait for its report, optionally send `signal`, and wait for it to end. */
function runChild(source: string, signal?: NodeJS.Signals): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let temp = '';
    let tempExistedMidway = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child did not end within 20 s; stdout: ${stdout}; stderr: ${stderr}`));
    }, 20_000);
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!temp && stdout.includes('\n')) {
        temp = (JSON.parse(stdout.split('\n')[0]!) as { temp: string }).temp;
        tempExistedMidway = existsSync(temp);
        if (signal) child.kill(signal);
      }
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, temp, tempExistedMidway, stderr });
    });
  });
}

describe('an interrupted or failing child leaves neither the destination nor a temporary file', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`${signal} while writing: exit code ${code}`, async () => {
      const dir = folder();
      const dest = join(dir, 'report.html');
      const r = await runChild(childSource(dest, KEEP_WRITING), signal);
      expect(r.tempExistedMidway).toBe(true);
      expect(r.code).toBe(code);
      expect(existsSync(dest)).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('an uncaught exception while writing', async () => {
    const dir = folder();
    const dest = join(dir, 'model.gguf');
    const r = await runChild(childSource(dest, `setTimeout(() => { throw new Error('quantize failed'); }, 50);`));
    expect(r.tempExistedMidway).toBe(true);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/quantize failed/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an unhandled promise rejection while writing', async () => {
    const dir = folder();
    const r = await runChild(childSource(join(dir, 'out.safetensors'), `await new Promise((r) => setTimeout(r, 50)); await Promise.reject(new Error('a tensor failed'));`));
    expect(r.tempExistedMidway).toBe(true);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a tensor failed/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('process.exit while writing', async () => {
    const dir = folder();
    const r = await runChild(childSource(join(dir, 'out.onnx'), `setTimeout(() => process.exit(3), 50);`));
    expect(r.code).toBe(3);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a signal during synchronous work is handled when the work yields, and still cleans up', async () => {
    const dir = folder();
    // 1.5 s of computation that never yields (a large tensor quantized synchronously), then more
    // writing: the signal is taken at the first turn of the event loop after the computation
    const r = await runChild(childSource(join(dir, 'slow.gguf'), `const until = Date.now() + 1500; while (Date.now() < until);\n${KEEP_WRITING}`), 'SIGINT');
    expect(r.code).toBe(130);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an existing file it was to replace is kept unchanged when interrupted', async () => {
    const dir = folder();
    const dest = join(dir, 'report.json');
    writeFileSync(dest, 'the previous report');
    const r = await runChild(childSource(dest, KEEP_WRITING), 'SIGINT');
    expect(r.code).toBe(130);
    expect(readdirSync(dir)).toEqual(['report.json']);
    expect(readFileSync(dest, 'utf8')).toBe('the previous report');
  });

  it('a completed file is renamed into place whole; a later signal does not touch it', async () => {
    const dir = folder();
    const dest = join(dir, 'done.bin');
    const r = await runChild(childSource(dest, `out.write('tail'); out.commit(); console.log('committed'); setInterval(() => {}, 1000);`), 'SIGTERM');
    expect(r.code).toBe(143);
    expect(readdirSync(dir)).toEqual(['done.bin']);
    const bytes = readFileSync(dest);
    expect(bytes.length).toBe((1 << 20) + 4);
    expect(bytes.subarray(-4).toString()).toBe('tail');
  });

  it('a child that ends without committing leaves nothing', () => {
    const dir = folder();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', childSource(join(dir, 'x.csv'), '')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('in process', () => {
  it('writeFileAtomic writes the whole file and leaves no temporary file', () => {
    const dir = folder();
    writeFileAtomic(join(dir, 'a.txt'), 'hello');
    expect(readdirSync(dir)).toEqual(['a.txt']);
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('hello');
  });

  it('writeFileAtomic removes its temporary file when the rename fails', () => {
    const dir = folder();
    const dest = join(dir, 'taken');
    mkdirSync(join(dest, 'inside'), { recursive: true }); // a non-empty folder: rename onto it fails
    expect(() => writeFileAtomic(dest, 'data')).toThrow();
    expect(readdirSync(dir)).toEqual(['taken']);
  });

  it('abort removes the temporary file and is idempotent; write after abort fails clearly', () => {
    const dir = folder();
    const out = openAtomicOutput(join(dir, 'b.bin'));
    out.write(new Uint8Array(10));
    expect(out.bytesWritten).toBe(10);
    out.abort();
    out.abort();
    expect(readdirSync(dir)).toEqual([]);
    expect(() => out.write('x')).toThrow(/write after close/);
  });

  it('two outputs for the same destination at once get distinct temporary files', () => {
    const dir = folder();
    const a = openAtomicOutput(join(dir, 'same.txt'));
    const b = openAtomicOutput(join(dir, 'same.txt'));
    expect(a.tempPath).not.toBe(b.tempPath);
    a.write('first');
    b.write('second');
    a.commit();
    b.commit();
    expect(readFileSync(join(dir, 'same.txt'), 'utf8')).toBe('second');
    expect(readdirSync(dir)).toEqual(['same.txt']);
  });

  it('checkOutputPath refuses, before any work, a missing folder, a folder, and an existing file without --force', () => {
    const dir = folder();
    writeFileSync(join(dir, 'exists.txt'), '');
    const check = { allowExisting: false, flag: '--report' };
    expect(() => checkOutputPath(join(dir, 'no', 'such', 'x.html'), check)).toThrow(UsageError);
    expect(() => checkOutputPath(join(dir, 'no', 'x.html'), check)).toThrow(/does not exist; create it first/);
    expect(() => checkOutputPath(dir, { ...check, allowExisting: true })).toThrow(/is a folder; name a file/);
    expect(() => checkOutputPath(join(dir, 'exists.txt'), check)).toThrow(/already exists; pass --force/);
    expect(checkOutputPath(join(dir, 'exists.txt'), { ...check, allowExisting: true })).toBe(join(dir, 'exists.txt'));
    expect(checkOutputPath(join(dir, 'new.txt'), check)).toBe(join(dir, 'new.txt'));
  });
});
