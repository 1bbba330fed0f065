// The portable kernels' helpers, for contexts without GLSL ES 3.00 integers (WebGL1, headless-gl,
// gpu.js CPU mode). The algorithm is the one of glsl.ts, written in the JavaScript subset gpu.js
// translates: every quantity is an integer-valued float below 2^25 and every scaling is by an exact
// power of two, so IEEE float32 (and CPU float64) arithmetic computes it exactly. WebGL1 does not
// promise IEEE arithmetic, so these kernels are declared inexact and held to a stated bound.
// Float results are returned one 16-bit half at a time (`part` 1 = high, 0 = low; element kernels
// take `what`: 0 the code, 1 the high half, 2 the low half of the decoded value).
import type { KernelPlan } from './plan.js';

/** A gpu.js helper function: source text plus its declared float signature. */
export interface PortableFunction {
  readonly name: string;
  readonly source: string;
  readonly argumentCount: number;
}

const f = (n: number): string => {
  const s = String(n);
  return /[.e]/.test(s) ? s : `${s}.0`;
};

function fn(name: string, args: string[], body: string): PortableFunction {
  return { name, source: `function ${name}(${args.join(', ')}) {\n${body}\n}`, argumentCount: args.length };
}

// Exact 2^k for integer |k| < 128 (binary powering of 2 or 1/2).
const P2 = fn(
  'msP2',
  ['k'],
  `  let a = Math.abs(k);
  let g = 2.0;
  if (k < 0.0) { g = 0.5; }
  let r = 1.0;
  for (let j = 0; j < 7; j++) {
    const h = Math.floor(a * 0.5);
    if (a - 2.0 * h > 0.5) { r = r * g; }
    g = g * g;
    a = h;
  }
  return r;`,
);

// Index of the highest set bit of an integer 1 ≤ x < 2^32.
const MSB = fn(
  'msMsb',
  ['x'],
  `  let v = x;
  let n = 0.0;
  if (v >= 65536.0) { v = Math.floor(v * 0.0000152587890625); n = n + 16.0; }
  if (v >= 256.0) { v = Math.floor(v * 0.00390625); n = n + 8.0; }
  if (v >= 16.0) { v = Math.floor(v * 0.0625); n = n + 4.0; }
  if (v >= 4.0) { v = Math.floor(v * 0.25); n = n + 2.0; }
  if (v >= 2.0) { n = n + 1.0; }
  return n;`,
);

// round(m · 2^-k), m < 2^25; `mode` 0 rne, 1 rna, 2 rtz. A leaf (it calls no helper): gpu.js orders
// translated functions by a call-graph walk that misplaces a shared function's callees, so every
// helper called from two places is a leaf and every other helper has a single caller.
function roundFn(name: string, mode: number): PortableFunction {
  if (mode === 3) throw new Error('internal: stochastic rounding has no portable kernel (plans leave it to the reference)');
  const tail =
    mode === 2
      ? '  return fl;'
      : mode === 1
        ? '  if (d >= 0.5) { return fl + 1.0; }\n  return fl;'
        : `  if (d > 0.5) { return fl + 1.0; }
  if (d < 0.5) { return fl; }
  if (fl - 2.0 * Math.floor(fl * 0.5) > 0.5) { return fl + 1.0; }
  return fl;`;
  return fn(
    name,
    ['m', 'k'],
    `  if (k > 30.0) { return 0.0; }
  let sc = 1.0;
  for (let j = 0; j < 31; j++) {
    if (j < k) { sc = sc * 0.5; }
    if (j < -k) { sc = sc * 2.0; }
  }
  if (k <= 0.0) { return m * sc; }
  const t = m * sc;
  const fl = Math.floor(t);
  const d = t - fl;
${tail}`,
  );
}

function encodeFn(p: KernelPlan): PortableFunction {
  const e = p.element;
  if (e.isFloat) {
    const lowRange = !e.hasZero
      ? '    return 0.0;'
      : !e.hasSubnormals
        ? `    const r0 = msRound(sig, ${f(e.emin)} - q);
    if (r0 >= 1.0) { return sc + ${f((e.emin + e.bias) * e.implicit)}; }
    return sc;`
        : `    pe = ${f(e.emin)};`;
    return fn(
      'msEncode',
      ['neg', 'sig', 'q'],
      `  let sc = 0.0;
  if (neg > 0.5) { sc = ${f(e.signCode)}; }
  if (sig < 0.5) { return ${e.hasZero ? 'sc' : '0.0'}; }
  let pe = q + msMsb(sig);
  if (pe < ${f(e.emin)}) {
${lowRange}
  }
  let t = msRound(sig, pe - ${f(e.m)} - q);
  if (t < 0.5) { return sc; }
  if (t >= ${f(2 * e.implicit)}) { pe = pe + 1.0; t = ${f(e.implicit)}; }
  let ef = 0.0;
  let man = t;
  if (t >= ${f(e.implicit)}) { ef = pe + ${f(e.bias)}; man = t - ${f(e.implicit)}; }
  if (ef > ${f(e.topExpField)} || (ef == ${f(e.topExpField)} && man > ${f(e.topManField)})) { return sc + ${f(e.overflowCode)}; }
  return sc + ef * ${f(e.implicit)} + man;`,
    );
  }
  const enc = [
    `  const c = Math.min(t, ${f(e.kMax)});\n  if (neg > 0.5 && c > 0.5) { return ${f(e.modulus)} - c; }\n  return c;`,
    `  const c = Math.min(t, ${f(e.kMax)});\n  if (neg > 0.5) { return ${f(e.half)} + c; }\n  return c;`,
    `  if (neg > 0.5) { return ${f(e.half)} - Math.min(t, ${f(e.half)}); }\n  return Math.min(t, ${f(e.kMax)}) + ${f(e.half)};`,
    `  if (neg > 0.5) { return 0.0; }\n  return Math.min(t, ${f(e.kMax)});`,
  ][e.encoding]!;
  return fn(
    'msEncode',
    ['neg', 'sig', 'q'],
    `  let t = 0.0;
  if (sig > 0.5) {
    const k = 0.0 - q - ${f(e.m)};
    if (k <= 0.0) {
      t = 2147483648.0;
      if (msMsb(sig) - k < 31.0) { t = sig * msP2(-k); }
    } else {
      t = msRound(sig, k);
    }
  }
${enc}`,
  );
}

// One 16-bit half of the float32 bits of (−1)^neg · sig · 2^q, rounded to nearest even.
const COMPOSE = fn(
  'msComposePart',
  ['neg', 'sig', 'q', 'part'],
  `  let ef = 0.0;
  let s = 0.0;
  if (sig > 0.5) {
    const top = msMsb(sig);
    let p = q + top;
    if (p > 127.0) {
      ef = 255.0;
    } else if (p >= -126.0) {
      if (top <= 23.0) {
        s = sig * msP2(23.0 - top);
      } else {
        s = msRoundRne(sig, top - 23.0);
        if (s >= 16777216.0) { s = s * 0.5; p = p + 1.0; }
      }
      if (p > 127.0) {
        ef = 255.0;
        s = 0.0;
      } else {
        ef = p + 127.0;
        s = s - 8388608.0;
      }
    } else {
      s = msRoundRne(sig, -149.0 - q);
    }
  }
  const up = Math.floor(s * 0.0000152587890625);
  if (part > 0.5) { return neg * 32768.0 + ef * 128.0 + up; }
  return s - up * 65536.0;`,
);

function valueFn(p: KernelPlan): PortableFunction {
  const e = p.element;
  let decode: string;
  if (e.isFloat) {
    const lines = [
      `  let v = c;`,
      e.signed ? `  if (c >= ${f(e.span)}) { neg = 1.0; v = c - ${f(e.span)}; }` : '',
      `  const ef = Math.floor(v * ${f(1 / e.implicit)});`,
      `  const man = v - ef * ${f(e.implicit)};`,
    ];
    const branches: string[] = [];
    if (e.infinity || e.nanKind === 1) {
      branches.push(`if (ef == ${f(e.topField)}) { kind = 2.0;${e.infinity ? ` if (man < 0.5) { kind = 1.0; }` : ''} }`);
    }
    if (e.nanKind === 2) branches.push(`if (ef == ${f(e.topField)} && man == ${f(e.implicit - 1)}) { kind = 2.0; }`);
    if (e.hasSubnormals) branches.push(`if (ef < 0.5) { sig = man; q = ${f(e.emin - e.m)}; }`);
    else if (e.hasZero) branches.push(`if (ef < 0.5) { sig = 0.0; }`);
    branches.push(`{ sig = ${f(e.implicit)} + man; q = ef - ${f(e.bias + e.m)}; }`);
    decode = lines.filter(Boolean).join('\n') + '\n  ' + branches.join(' else ');
  } else {
    const bodyByEncoding = [
      `if (c >= ${f(e.half)}) { neg = 1.0; sig = ${f(e.modulus)} - c; } else { sig = c; }`,
      `if (c >= ${f(e.half)}) { neg = 1.0; sig = c - ${f(e.half)}; } else { sig = c; }`,
      `if (c >= ${f(e.half)}) { sig = c - ${f(e.half)}; } else { neg = 1.0; sig = ${f(e.half)} - c; }`,
      `sig = c;`,
    ];
    decode = `  q = ${f(-e.m)};\n  ${bodyByEncoding[e.encoding]}`;
  }
  return fn(
    'msValuePart',
    ['c', 'shift', 'part'],
    `  let neg = 0.0;
  let sig = 0.0;
  let q = 0.0;
  let kind = 0.0;
${decode}
  if (kind > 1.5) {
    if (part > 0.5) { return 32704.0; }
    return 0.0;
  }
  if (kind > 0.5) {
    if (part > 0.5) { return neg * 32768.0 + 32640.0; }
    return 0.0;
  }
  return msComposePart(neg, sig, q + shift, part);`,
  );
}

/** ⌊a / b⌋ for non-negative integer-valued a, b (corrected, so an inexact division cannot misplace it). */
export const IDIV_FUNCTION = fn(
  'idiv',
  ['a', 'b'],
  `  let r = Math.floor(a / b);
  if (r * b > a) { r = r - 1.0; }
  if ((r + 1.0) * b <= a) { r = r + 1.0; }
  return r;`,
);

// Sign, exponent field and fraction of a float32 given as halves, then |v| = sig · 2^q.
const UNPACK = `  let neg = 0.0;
  let hm = hi;
  if (hi >= 32768.0) { neg = 1.0; hm = hi - 32768.0; }
  const ex = Math.floor(hm * 0.0078125);
  const fr = (hm - ex * 128.0) * 65536.0 + lo;
  let sig = fr;
  let q = -149.0;
  if (ex > 0.5) { sig = fr + 8388608.0; q = ex - 150.0; }`;

function blockFunctions(p: KernelPlan): PortableFunction[] {
  const k = p.block!;
  const sub = k.subSize > 0;
  const modeLine = [
    '',
    '  if (ns != 8388608.0) { s = s + 1.0; }',
    k.evenThreshold > 0 ? `  if (ns >= ${f(k.evenThreshold)}) { s = s + 1.0; }` : '',
    `  if (${f(p.element.rceilSig)} < ns) { s = s + 1.0; }`,
  ][k.scaleMode]!;
  const flog = fn(
    'msFlog2',
    ['mh', 'ml'],
    `  const ex = Math.floor(mh * 0.0078125);
  if (ex > 0.5) { return ex - 127.0; }
  return msMsb((mh - ex * 128.0) * 65536.0 + ml) - 149.0;`,
  );
  const info = fn(
    'msBlockInfo',
    ['mh', 'ml', 'bad'],
    `  if (bad > 0.5) { return ${f(k.nanScale + 512)}; }
  if (mh < 0.5 && ml < 0.5) { return ${f(k.zeroScale + (k.microxcaling ? 768 : 256))}; }
${k.flushSubnormalBlocks ? `  if (mh < 128.0) { return ${f(k.zeroScale + 768)}; }\n` : ''}  const ex = Math.floor(mh * 0.0078125);
  const fr = (mh - ex * 128.0) * 65536.0 + ml;
  let e = ex - 127.0;
  let ns = fr + 8388608.0;
  if (ex < 0.5) {
    const top = msMsb(fr);
    e = top - 149.0;
    ns = fr * msP2(23.0 - top);
  }
  let s = e - ${f(p.element.emax)};
${modeLine}
  if (s > ${f(k.smax)}) { return ${f(k.nanScale + 512)}; }
  if (s < ${f(-k.smax)}) { s = ${f(-k.smax)}; }
  return s + ${f(k.smax)};`,
  );
  const fround = k.microxcaling
    ? `  if (sig < 0.5) {
    neg = 0.0;
  } else if (q + msMsb(sig) < -126.0) {
    const sub = msRoundRne(sig, -149.0 - q);
    if (sub < 0.5) { neg = 0.0; sig = 0.0; q = 0.0; } else { sig = sub; q = -149.0; }
  }\n`
    : '';
  const tauArgs = sub ? ['tau'] : [];
  const tau = sub ? 'tau' : '0.0';
  const quant = fn(
    'msQuant',
    ['lo', 'hi', 'info', ...tauArgs],
    `  const fill = Math.floor(info * 0.00390625);
  const s = info - 256.0 * fill - ${f(k.smax)};
${UNPACK}
  if (fill > 0.5 && fill < 1.5) { return msEncode(neg, 0.0, 0.0); }
  if (fill > 0.5) { return ${f(p.element.zeroCode)}; }
  q = q + ${tau} - s;
${fround}  return msEncode(neg, sig, q);`,
  );
  const dequant = fn(
    'msDequantPart',
    ['code', 'scale', ...tauArgs, 'part'],
    `  if (scale == ${f(k.nanScale)}) {
    if (part > 0.5) { return 32704.0; }
    return 0.0;
  }
  return msValuePart(code, scale - ${f(k.smax)} - ${tau}, part);`,
  );
  const element = fn(
    'msElementPart',
    ['lo', 'hi', 'info', ...tauArgs, 'what'],
    `  const c = msQuant(lo, hi, info${sub ? ', tau' : ''});
  if (what < 0.5) { return c; }
  return msDequantPart(c, info - 256.0 * Math.floor(info * 0.00390625)${sub ? ', tau' : ''}, 2.0 - what);`,
  );
  const out = [flog, info, quant, dequant, element];
  if (sub) {
    out.push(
      fn(
        'msSubTau',
        ['info', 'mh', 'ml'],
        `  const fill = Math.floor(info * 0.00390625);
  if (fill > 1.5 && fill < 2.5) { return 0.0; }
  if (fill > 0.5 || (mh < 0.5 && ml < 0.5)) { return ${f(k.tauMax)}; }
  return Math.min(info - 256.0 * fill - ${f(k.smax - p.element.emax)} - msFlog2(mh, ml), ${f(k.tauMax)});`,
      ),
    );
  }
  return out;
}

function castFunctions(p: KernelPlan): PortableFunction[] {
  const e = p.element;
  const inf = e.isFloat
    ? `    if (neg > 0.5) { return ${f(e.signCode + e.infinityCode)}; }\n    return ${f(e.infinityCode)};`
    : '    sig = 1.0;\n    q = 4096.0;';
  const quant = fn(
    'msCastQuant',
    ['lo', 'hi'],
    `${UNPACK}
  if (ex > 254.5) {
    if (fr > 0.5) { return ${f(e.nanCode)}; }
${inf}
  }
  return msEncode(neg, sig, q);`,
  );
  const element = fn(
    'msCastElementPart',
    ['lo', 'hi', 'what'],
    `  const c = msCastQuant(lo, hi);
  if (what < 0.5) { return c; }
  return msValuePart(c, 0.0, 2.0 - what);`,
  );
  const dequant = fn('msCastDequantPart', ['code', 'part'], '  return msValuePart(code, 0.0, part);');
  return [quant, element, dequant];
}

/** Every portable helper of `plan` (gpu.js compiles the ones a kernel reaches). */
export function portableFunctions(p: KernelPlan): PortableFunction[] {
  const common = [P2, MSB, roundFn('msRound', p.rounding), roundFn('msRoundRne', 0), encodeFn(p), COMPOSE, valueFn(p), IDIV_FUNCTION];
  return [...common, ...(p.scheme === 'pow2' ? blockFunctions(p) : castFunctions(p))];
}

