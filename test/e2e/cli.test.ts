// End-to-end tests of the `microscale` command: the built bin is spawned as a user would run it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { QuantizedTensor, dequantize, fakeQuantize, listFormats } from '../../src/index.js';
import { classify } from '../../src/cli/errors.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${root}bin/microscale.js`;
const PKG = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };

interface Result {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function cli(args: string[], input: Uint8Array = new Uint8Array(0), env: Record<string, string> = {}): Result {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: root,
    input,
    env: { ...process.env, MICROSCALE_DEBUG: '', ...env },
    maxBuffer: 1 << 26,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

const text = (r: Result) => r.stdout.toString('utf8');

function f32Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setFloat32(4 * i, v, true));
  return out;
}

function f32Values(bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 4 }, (_, i) => dv.getFloat32(4 * i, true));
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

/** Every usage/data error: exactly one `microscale: …` line on stderr, nothing on stdout, no stack. */
function expectOneLineError(r: Result, exitCode: number, pattern: RegExp): void {
  expect(r.code).toBe(exitCode);
  expect(r.stdout.length).toBe(0);
  const lines = r.stderr.split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toBe('');
  expect(lines[0]).toMatch(/^microscale: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

// docs/specification.md §10 MXFP4 vector.
const MXFP4_IN = Array.from({ length: 32 }, (_, i) => (i - 13) * 0.375);
MXFP4_IN[5] = 0.0625;
MXFP4_IN[30] = 5.0;
MXFP4_IN[31] = 6.375;
const MXFP4_OUT = [-4, -4, -4, -4, -3, 0, -3, -2, -2, -1.5, -1, -1, -0.5, 0, 0.5, 1, 1, 1.5, 2, 2, 3, 3, 3, 4, 4, 4, 4, 6, 6, 6, 4, 6];
const MXFP4_PACKED = 'ee ee 0d cd bc aa 09 21 32 44 55 65 66 76 77 76';

beforeAll(() => {
  // test/setup/build.ts has built src → dist before any test file runs.
  expect(existsSync(`${root}dist/cli/main.js`), 'dist/cli/main.js was not emitted').toBe(true);
});

describe('microscale formats', () => {
  it('prints one aligned row per named format with derived columns', () => {
    const r = cli(['formats']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = text(r).trimEnd().split('\n');
    expect(lines).toHaveLength(listFormats().length + 1);
    expect(lines[0]!.split(/\s{2,}/)).toEqual(['name', 'family', 'element', 'block', 'scale', 'bits/elem', 'max']);
    // Every cell starts at its header's column.
    const starts = ['family', 'element', 'block', 'scale', 'bits/elem', 'max'].map((h) => lines[0]!.indexOf(h));
    for (const line of lines.slice(1)) {
      for (const s of starts) expect(line[s - 1], line).toBe(' ');
      for (const s of starts) expect(line[s], line).not.toBe(' ');
    }
    const rows = new Map(lines.slice(1).map((l) => [l.split(/\s{2,}/)[0]!, l.split(/\s{2,}/)]));
    expect([...rows.keys()]).toEqual(listFormats().map((f) => f.name));
    expect(rows.get('mxfp4')).toEqual(['mxfp4', 'ocp-mx', 'fp4_e2m1', '32', 'e8m0 8b', '4.25', '1.02085e+39']);
    expect(rows.get('mx9')).toEqual(['mx9', 'bdr', 'int(b=8,f=6,enc=signmag)', '16/2', 'e8m0 8b + 1b/2', '9', '3.37624e+38']);
    expect(rows.get('mx6')!.slice(3, 6)).toEqual(['16/2', 'e8m0 8b + 1b/2', '6']);
    expect(rows.get('msfp12')!.slice(3, 6)).toEqual(['16', 'e8m0 8b', '4.5']);
    expect(rows.get('nvfp4')!.slice(3)).toEqual(['16', 'ue4m3 8b + fp32/tensor', '4.5+32/N', '2688']);
    expect(rows.get('int8_channel')!.slice(3, 6)).toEqual(['row', 'fp32 32b', '8+32/row']);
    expect(rows.get('int8_rowwise_affine')!.slice(3, 6)).toEqual(['row', 'fp32 32b + min', '8+64/row']);
    expect(rows.get('fp8_e4m3_tensor')!.slice(3, 6)).toEqual(['tensor', 'fp32 32b', '8+32/N']);
    expect(rows.get('q4_1')!.slice(3)).toEqual(['32', 'fp16 16b + min', '5', '1048064']);
    expect(rows.get('q8_0')!.slice(3)).toEqual(['32', 'fp16 16b', '8.5', '8319008']);
    expect(rows.get('fp8_e4m3')!.slice(1)).toEqual(['element', 'fp8_e4m3', '-', '-', '8', '448']);
  });

  it('--json gives the same table with exact numbers', () => {
    const r = cli(['formats', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(text(r)) as Array<Record<string, unknown>>;
    expect(rows.map((x) => x.name)).toEqual(listFormats().map((f) => f.name));
    const mxfp4 = rows.find((x) => x.name === 'mxfp4')!;
    expect(mxfp4).toMatchObject({
      family: 'ocp-mx',
      element: 'fp4_e2m1',
      elementBits: 4,
      blockSize: 32,
      subBlock: null,
      scale: { element: 'e8m0', bits: 8, rule: null },
      bitsPerElement: 4.25,
      maxMagnitude: 6 * 2 ** 127,
    });
    expect(rows.find((x) => x.name === 'mx9')).toMatchObject({ blockSize: 16, subBlock: { size: 2, bits: 1 }, bitsPerElement: 9 });
    expect(rows.find((x) => x.name === 'int8_tensor')).toMatchObject({ blockSize: null, granularity: 'tensor', bitsPerTensor: 32 });
    expect(rows.find((x) => x.name === 'nvfp4')).toMatchObject({ tensorScale: true, bitsPerTensor: 32, maxMagnitude: 2688 });
  });
});

describe('microscale info', () => {
  it('shows the descriptor and the full code table of mxfp4', () => {
    const r = cli(['info', 'mxfp4']);
    expect(r.code).toBe(0);
    const out = text(r);
    expect(out.split('\n')[0]).toBe('mxfp4: 32 × fp4_e2m1 sharing one E8M0 scale');
    expect(out).toMatch(/^ {2}blockSize +32$/m);
    expect(out).toMatch(/^ {2}bitsPerElement +4\.25$/m);
    expect(out).toMatch(/^ {2}maxMagnitude +1\.0208471007628154e\+39 \(3\*2\^128\)$/m);
    expect(out).toMatch(/^element fp4_e2m1$/m);
    expect(out).toMatch(/^scale element e8m0$/m);
    expect(out).toMatch(/^ {2}minPositive +5\.877471754111438e-39 \(2\^-127\)$/m);
    const table = out.slice(out.indexOf('codes of fp4_e2m1 (16)')).trimEnd().split('\n').slice(1);
    expect(table[0]!.trim().split(/\s+/)).toEqual(['code', 'hex', 'binary', 'value', 'exact', 'class']);
    const rows = table.slice(1).map((l) => l.trim().split(/\s+/));
    expect(rows).toHaveLength(16);
    expect(rows.map((c) => c[3])).toEqual(['0', '0.5', '1', '1.5', '2', '3', '4', '6', '-0', '-0.5', '-1', '-1.5', '-2', '-3', '-4', '-6']);
    expect(rows[7]).toEqual(['7', '0x7', '0111', '6', '3*2^1', 'normal']);
    expect(rows[9]).toEqual(['9', '0x9', '1001', '-0.5', '-2^-1', 'subnormal']);
    expect(rows[8]![5]).toBe('zero');
  });

  it('marks NaN codes of fp8_e4m3 and gives every code in --json', () => {
    const out = text(cli(['info', 'fp8_e4m3']));
    expect(out).toMatch(/^ {2}127 +0x7f +01111111 +NaN +NaN +nan$/m);
    expect(out).toMatch(/^ {2}126 +0x7e +01111110 +448 +7\*2\^6 +normal$/m);
    expect(out).toMatch(/^ {2}1 +0x01 +00000001 +0\.001953125 +2\^-9 +subnormal$/m);
    const r = cli(['info', 'fp8_e4m3', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(text(r)) as { format: { name: string; element: { maxFinite: number } }; codes: Array<{ code: number; value: number | string; class: string }> };
    expect(j.format.name).toBe('fp8_e4m3');
    expect(j.format.element.maxFinite).toBe(448);
    expect(j.codes).toHaveLength(256);
    expect(j.codes.filter((c) => c.class === 'nan').map((c) => c.code)).toEqual([127, 255]);
    expect(j.codes[128]!.value).toBe('-0');
    expect(j.codes[0x7e]!.value).toBe(448);
  });

  it("accepts generic float names: 'fp(e=3,m=2)' matches an independent E3M2 enumeration", () => {
    const r = cli(['info', 'fp(e=3,m=2)', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(text(r)) as { format: { name: string; maxMagnitude: number }; codes: Array<{ value: number | string; binary: string }> };
    expect(j.format.name).toBe('fp(e=3,m=2,bias=3,inf=0,nan=none,sub=1,sat=1,signed=1)');
    expect(j.format.maxMagnitude).toBe(28);
    expect(j.codes).toHaveLength(64);
    for (let c = 0; c < 64; c++) {
      const s = c >> 5;
      const e = (c >> 2) & 7;
      const m = c & 3;
      const mag = e === 0 ? (m / 4) * 2 ** -2 : (1 + m / 4) * 2 ** (e - 3);
      expect(Number(j.codes[c]!.value), `code ${c}`).toBe(s ? -mag : mag);
      expect(j.codes[c]!.binary).toBe(c.toString(2).padStart(6, '0'));
    }
  });

  it("accepts generic BDR names: 'bdr(m=4,k1=16,d1=8,k2=2,d2=1)' is MX6", () => {
    const r = cli(['info', 'bdr(m=4,k1=16,d1=8,k2=2,d2=1)']);
    expect(r.code).toBe(0);
    const out = text(r);
    expect(out.split('\n')[0]).toMatch(/^bdr\(m=4,k1=16,d1=8,k2=2,d2=1\): /);
    expect(out).toMatch(/^ {2}subBlock +size=2 bits=1$/m);
    expect(out).toMatch(/^ {2}bitsPerElement +6$/m);
    expect(out).toMatch(/^element int\(b=5,f=3,enc=signmag\)$/m);
    expect(out).toMatch(/^ {2}15 +0x0f +01111 +1\.875 +15\*2\^-3 +int$/m);
    expect(out).toMatch(/^ {2}16 +0x10 +10000 +-0 +-0 +zero$/m);
  });

  it('marks codes that decode but are never produced (mxint8 0x80)', () => {
    expect(text(cli(['info', 'mxint8']))).toMatch(/^ {2}128 +0x80 +10000000 +-2 +-2\^1 +decode-only$/m);
  });

  it('prints no code table for elements wider than 8 bits', () => {
    const out = text(cli(['info', 'bf16']));
    expect(out).toMatch(/^codes of bf16: 65536 codes; tables are printed for elements of at most 8 bits$/m);
    expect(JSON.parse(text(cli(['info', 'bf16', '--json']))).codes).toBeNull();
  });
});

describe('microscale qdq', () => {
  it('MXFP4 (docs/specification.md §10): decoded values, packed codes and container', () => {
    const input = f32Bytes(MXFP4_IN);
    const values = cli(['qdq', '--format', 'mxfp4'], input);
    expect(values.code).toBe(0);
    expect(values.stderr).toBe('');
    expect(f32Values(values.stdout)).toEqual(MXFP4_OUT);

    const codes = cli(['qdq', '-f', 'mxfp4', '--output', 'codes'], input);
    expect(codes.code).toBe(0);
    expect(hex(codes.stdout)).toBe(MXFP4_PACKED);

    const container = cli(['qdq', '-f', 'mxfp4', '--output', 'container'], input);
    expect(container.code).toBe(0);
    expect(container.stdout.subarray(0, 4).toString('latin1')).toBe('MSQT');
    const q = QuantizedTensor.fromBytes(new Uint8Array(container.stdout));
    expect(q.format.name).toBe('mxfp4');
    expect(Array.from(q.scales)).toEqual([0x7f]);
    expect(Array.from(dequantize(q))).toEqual(MXFP4_OUT);
  });

  it('MXFP8 E4M3 (docs/specification.md §10): −300 → −288, 500 saturates, −0 kept', () => {
    const input = [448, -300, 1, 2 ** -9, 500, -0, ...new Array<number>(26).fill(0)];
    const r = cli(['qdq', '--format', 'mxfp8_e4m3'], f32Bytes(input));
    expect(r.code).toBe(0);
    const out = f32Values(r.stdout);
    expect(out.slice(0, 5)).toEqual([448, -288, 1, 2 ** -9, 448]);
    expect(Object.is(out[5], -0)).toBe(true);
  });

  it('MX6 (docs/specification.md §10): microexponents and clamping', () => {
    const input = [3, 0.5, 0.25, -0.1875, 1, 1, -2, 0, 0, 0, 3.9375, 3.96875, 0.03125, -0.046875, 1.5, 0.75];
    const r = cli(['qdq', '--format', 'mx6'], f32Bytes(input));
    expect(r.code).toBe(0);
    const out = f32Values(r.stdout);
    expect(out).toEqual([3, 0.5, 0.25, -0.25, 1, 1, -2, 0, 0, 0, 3.75, 3.75, 0, -0, 1.5, 0.75]);
    expect(Object.is(out[13], -0)).toBe(true);
  });

  it('NVFP4 (docs/specification.md §10): tensor amax 16, block scale 4/3', () => {
    const block = [0.09375, -0.703125, 1.296875, 2.203125, -3.09375, 0, 0.453125, 5.90625, -6.59375, 0.203125, 0.296875, -0.046875, 1, 2, 4, 8];
    const second = [16, ...new Array<number>(15).fill(0)];
    const r = cli(['qdq', '--format', 'nvfp4'], f32Bytes([...block, ...second]));
    expect(r.code).toBe(0);
    const got = f32Values(r.stdout).slice(0, 16);
    const want = [0, -0.5, 1, 1.5, -2, 0, 0.5, 4, -4, 0, 0, -0, 1, 1.5, 3, 6].map((e) => Math.fround((e * 224 * 16) / 2688));
    expect(got).toEqual(want);
  });

  it('passes shape, axis, block size, rounding, scale mode and preset through to the library', () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.7) * 2 ** ((i % 9) - 4));
    const cases: Array<[string[], Parameters<typeof fakeQuantize>[2], string]> = [
      [['--shape', '4,16', '--axis', '0'], { shape: [4, 16], axis: 0 }, 'mxfp4'],
      [['--shape', '8x8', '--axis', '-2', '--block-size', '4'], { shape: [8, 8], axis: -2, blockSize: 4 }, 'mxfp6_e2m3'],
      [['--rounding', 'stochastic', '--seed', '7'], { rounding: 'stochastic', seed: 7 }, 'mxint8'],
      [['--scale-mode', 'even', '--scale-bits', '6'], { scaleMode: 'even', scaleBits: 6 }, 'mxfp8_e5m2'],
      [['--preset', 'microxcaling', '--flush-subnormal-blocks'], { preset: 'microxcaling', flushSubnormalBlocks: true }, 'mxint4'],
      [['--block-size', '0'], { blockSize: 0 }, 'mx9'],
      [['--shape', '4,16'], { shape: [4, 16] }, 'int8_channel'],
      [['--tensor-scale', '0.01'], { tensorScale: 0.01 }, 'nvfp4'],
    ];
    for (const [args, opts, format] of cases) {
      const r = cli(['qdq', '--format', format, ...args], f32Bytes(Array.from(x)));
      expect(r.stderr, args.join(' ')).toBe('');
      expect(f32Values(r.stdout), `${format} ${args.join(' ')}`).toEqual(Array.from(fakeQuantize(x, format, opts)));
    }
  });

  it('empty stdin gives empty output', () => {
    const r = cli(['qdq', '--format', 'mxfp4']);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(0);
  });
});

describe('errors: one line, exit 2 for usage, 1 for data', () => {
  const block = f32Bytes(MXFP4_IN);
  it('unknown format names suggest near ones', () => {
    expectOneLineError(cli(['qdq', '--format', 'mxfp5'], block), 2, /^microscale: unknown format "mxfp5"\. Did you mean mxfp4/);
    expectOneLineError(cli(['info', 'mx7']), 2, /unknown format "mx7"/);
    expectOneLineError(cli(['info', 'fp(e=3)']), 2, /invalid format name "fp\(e=3\)": missing parameter m/);
  });
  it('bad shapes', () => {
    expectOneLineError(cli(['qdq', '-f', 'mxfp4', '--shape', '4,a'], block), 2, /--shape <dims>.*'4,a' is invalid/);
    expectOneLineError(cli(['qdq', '-f', 'mxfp4', '--shape', '4,64'], block), 2, /--shape 4,64 holds 256 values but stdin has 32 float32 values \(128 bytes\)/);
    expectOneLineError(cli(['qdq', '-f', 'mxfp4', '--shape', '4,8', '--axis', '2'], block), 2, /axis 2 is out of range/);
    expectOneLineError(cli(['qdq', '-f', 'q4_0', '--shape', '2,16'], block), 2, /q4_0 stores whole 32-element blocks/);
  });
  it('stdin that is not whole float32 values', () => {
    expectOneLineError(cli(['qdq', '-f', 'mxfp4'], block.subarray(0, 127)), 1, /stdin holds 127 bytes, not a whole number of float32 values/);
  });
  it('values the format cannot encode', () => {
    expectOneLineError(cli(['qdq', '-f', 'fp4_e2m1'], f32Bytes([1, NaN, 2, 3])), 1, /NaN/);
  });
  it('bad command lines', () => {
    expectOneLineError(cli([]), 2, /missing command; use one of formats, info, qdq\b/);
    expectOneLineError(cli(['fromats']), 2, /unknown command 'fromats'.*Did you mean formats/);
    expectOneLineError(cli(['help', 'bogus']), 2, /unknown command 'bogus'/);
    expectOneLineError(cli(['formats', '--bogus']), 2, /unknown option '--bogus'/);
    expectOneLineError(cli(['info']), 2, /missing required argument 'format'/);
    expectOneLineError(cli(['qdq'], block), 2, /required option '-f, --format <name>' not specified/);
    expectOneLineError(cli(['qdq', '-f', 'mxfp4', '--axis']), 2, /option '--axis <n>' argument missing/);
    expectOneLineError(cli(['qdq', '-f', 'mxfp4', '--rounding', 'nearest'], block), 2, /Allowed choices are rne, rna, rtz, stochastic/);
    expectOneLineError(cli(['qdq', '-f', 'mxfp4', '--seed', '-1'], block), 2, /--seed <n>.*Expected an integer in 0…4294967295/);
    expectOneLineError(cli(['qdq', '-f', 'mxfp4', '--scale-bits', '9'], block), 2, /Expected an integer in 2…8/);
    expectOneLineError(cli(['qdq', '-f', 'mxfp4', '--output', 'json'], block), 2, /Allowed choices are values, codes, container/);
    expectOneLineError(cli(['qdq', '-f', 'nvfp4', '--scale-mode', 'ceil'], block), 2, /scaleMode applies to power-of-two scales/);
    expectOneLineError(cli(['qdq', '-f', 'mxfp4', '--preset', 'ggml'], block), 2, /preset "ggml"/);
  });
  it('MICROSCALE_DEBUG=1 adds the stack trace', () => {
    const r = cli(['qdq', '-f', 'fp4_e2m1'], f32Bytes([NaN]), { MICROSCALE_DEBUG: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(/^microscale: .*NaN/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
  it('unexpected errors are reported as internal, exit 1', () => {
    const f = classify(new TypeError('x is undefined'));
    expect(f).toMatchObject({ exitCode: 1, internal: true });
    expect(f.message).toMatch(/^internal error \(TypeError: x is undefined\); this is a bug in microscale, please report it/);
  });
});

describe('help', () => {
  it('the program help lists every command, exit codes and examples', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    const out = text(r);
    expect(out).toMatch(/^Usage: microscale \[options\] \[command\]/);
    for (const c of ['formats', 'info', 'qdq', 'help']) expect(out).toMatch(new RegExp(`^ {2}${c} `, 'm'));
    expect(out).toContain('Exit status: 0 success; 2 bad command line');
    expect(out).toContain('Examples:\n  $ microscale formats');
  });

  it('each subcommand has complete help with examples, also through `help <command>`', () => {
    const flags: Record<string, string[]> = {
      formats: ['--json'],
      info: ['<format>', '--json', 'fp(e=E,m=M', 'bdr(m=M,k1=K1'],
      qdq: [
        '--format <name>',
        '--shape <dims>',
        '--axis <n>',
        '--block-size <n>',
        '--rounding <mode>',
        '--seed <n>',
        '--scale-mode <mode>',
        '--scale-bits <n>',
        '--preset <name>',
        '--flush-subnormal-blocks',
        '--scale-upper-bound <x>',
        '--tensor-scale <x>',
        '--output <kind>',
        'container',
      ],
    };
    for (const [cmd, want] of Object.entries(flags)) {
      const r = cli([cmd, '--help']);
      expect(r.code).toBe(0);
      const out = text(r);
      expect(out).toMatch(new RegExp(`^Usage: microscale ${cmd} `));
      for (const w of want) expect(out, `${cmd}: ${w}`).toContain(w);
      expect(out).toContain(`Examples:\n  $ microscale ${cmd}`);
      expect(text(cli(['help', cmd]))).toBe(out);
    }
  });

  it('help text fits 80 columns', () => {
    for (const args of [['--help'], ['formats', '--help'], ['info', '--help'], ['qdq', '--help']]) {
      for (const line of text(cli(args)).split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    }
  });

  it('--version prints the package version', () => {
    const r = cli(['--version']);
    expect(r.code).toBe(0);
    expect(text(r)).toBe(`${PKG.version}\n`);
  });
});
