// The format-name grammar:
//   name   := IDENT | IDENT "(" param ("," param)* ")"
//   param  := KEY "=" value          value := NUMBER | IDENT | name
// Named formats come from the catalog; fp(...), int(...), mx(...) and bdr(...) build generic ones.
// `formatName(parse(s))` is canonical and parses back to an equal descriptor.
import { ALIASES, CATALOG, bdrFormat, castFormat, mxFormat } from './catalog.js';
import { ELEMENTS, defaultBias, floatElement, intElement, type ElementFormat, type NanEncoding } from './element.js';
import { FormatError } from './errors.js';
import type { Format } from './format.js';

interface Call {
  head: string;
  params: Map<string, string> | null;
}

function parseCall(text: string): Call {
  const s = text.replace(/\s+/g, '');
  const open = s.indexOf('(');
  if (open < 0) {
    if (!/^[a-z0-9_]+$/i.test(s)) throw bad(text, 'names use letters, digits and _');
    return { head: s.toLowerCase(), params: null };
  }
  if (!s.endsWith(')')) throw bad(text, 'missing closing parenthesis');
  const head = s.slice(0, open).toLowerCase();
  const body = s.slice(open + 1, -1);
  const params = new Map<string, string>();
  let depth = 0;
  let start = 0;
  const parts: string[] = [];
  for (let i = 0; i <= body.length; i++) {
    const c = body[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    if (depth < 0) throw bad(text, 'unbalanced parentheses');
    if ((c === ',' && depth === 0) || i === body.length) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw bad(text, 'unbalanced parentheses');
  for (const part of parts) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(text, `parameter "${part}" is not KEY=VALUE`);
    const key = part.slice(0, eq).toLowerCase();
    if (params.has(key)) throw bad(text, `parameter ${key} is given twice`);
    params.set(key, part.slice(eq + 1));
  }
  return { head, params };
}

function bad(text: string, why: string): FormatError {
  return new FormatError('INVALID_FORMAT_NAME', `invalid format name "${text}": ${why}`);
}

class Params {
  private readonly used = new Set<string>();
  constructor(
    private readonly text: string,
    private readonly map: Map<string, string>,
  ) {}
  int(key: string, min: number, max: number, dflt?: number): number {
    const raw = this.map.get(key);
    this.used.add(key);
    if (raw === undefined) {
      if (dflt === undefined) throw bad(this.text, `missing parameter ${key}`);
      return dflt;
    }
    if (!/^-?\d+$/.test(raw)) throw bad(this.text, `${key}=${raw} is not an integer`);
    const v = Number(raw);
    if (v < min || v > max) throw bad(this.text, `${key}=${v} is outside ${min}…${max}`);
    return v;
  }
  flag(key: string, dflt: boolean): boolean {
    const raw = this.map.get(key);
    this.used.add(key);
    if (raw === undefined) return dflt;
    if (raw === '1' || raw === 'true') return true;
    if (raw === '0' || raw === 'false') return false;
    throw bad(this.text, `${key}=${raw} must be 0 or 1`);
  }
  choice<T extends string>(key: string, options: readonly T[], dflt?: T): T {
    const raw = this.map.get(key)?.toLowerCase();
    this.used.add(key);
    if (raw === undefined) {
      if (dflt === undefined) throw bad(this.text, `missing parameter ${key}`);
      return dflt;
    }
    if (!(options as readonly string[]).includes(raw)) throw bad(this.text, `${key}=${raw} must be one of ${options.join(', ')}`);
    return raw as T;
  }
  raw(key: string): string {
    this.used.add(key);
    const v = this.map.get(key);
    if (v === undefined) throw bad(this.text, `missing parameter ${key}`);
    return v;
  }
  done(): void {
    for (const k of this.map.keys()) if (!this.used.has(k)) throw bad(this.text, `unknown parameter ${k}`);
  }
}

const NAN_NAMES: Record<string, NanEncoding> = { ieee: 'ieee', ones: 'allOnes', none: 'none' };

function fpName(e: number, m: number, bias: number, inf: boolean, nan: string, sub: boolean, sat: boolean, signed: boolean): string {
  return `fp(e=${e},m=${m},bias=${bias},inf=${+inf},nan=${nan},sub=${+sub},sat=${+sat},signed=${+signed})`;
}

function parseElement(text: string): ElementFormat {
  const call = parseCall(text);
  if (!call.params) {
    const name = ALIASES.get(call.head) ?? call.head;
    const el = (ELEMENTS as Record<string, ElementFormat>)[name];
    if (!el) throw new FormatError('UNKNOWN_FORMAT', `unknown element format "${text}"; known: ${Object.keys(ELEMENTS).join(', ')}, fp(...), int(...)`);
    return el;
  }
  const p = new Params(text, call.params);
  if (call.head === 'fp') {
    const e = p.int('e', 1, 8);
    const m = p.int('m', 0, 10);
    const bias = p.int('bias', -64, 300, defaultBias(e));
    const inf = p.flag('inf', false);
    const nan = p.choice('nan', ['ieee', 'ones', 'none'] as const, inf ? 'ieee' : 'none');
    const sub = p.flag('sub', true);
    const sat = p.flag('sat', true);
    const signed = p.flag('signed', true);
    p.done();
    if (inf && nan !== 'ieee') throw bad(text, 'inf=1 needs nan=ieee (Inf lives in the top exponent)');
    if (nan === 'ieee' && m === 0) throw bad(text, 'nan=ieee needs m ≥ 1');
    if (e + m + (signed ? 1 : 0) > 16) throw bad(text, 'generic floats have at most 16 bits');
    if ((nan === 'ieee' || inf) && e < 2) throw bad(text, 'an IEEE-style top exponent needs e ≥ 2');
    const overflow = sat ? 'saturate' : inf ? 'infinity' : nan !== 'none' ? 'nan' : 'saturate';
    return floatElement(fpName(e, m, bias, inf, nan, sub, sat, signed), {
      expBits: e,
      manBits: m,
      bias,
      signed,
      infinity: inf,
      nan: NAN_NAMES[nan]!,
      subnormals: sub,
      zero: true,
      overflow,
    });
  }
  if (call.head === 'int') {
    const b = p.int('b', 2, 16);
    const f = p.int('f', 0, 24, 0);
    const enc = p.choice('enc', ['twos', 'signmag', 'offset', 'unsigned'] as const, 'twos');
    p.done();
    return intElement(`int(b=${b},f=${f},enc=${enc})`, { bits: b, fracBits: f, encoding: enc });
  }
  throw new FormatError('UNKNOWN_FORMAT', `unknown element constructor "${call.head}(...)"; use fp(...) or int(...)`);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length]!;
}

function unknown(text: string): FormatError {
  const names = [...CATALOG.keys()];
  const near = names
    .map((n) => [n, editDistance(text.toLowerCase(), n)] as const)
    .filter(([, d]) => d <= 2)
    .sort((a, b) => a[1] - b[1])
    .map(([n]) => n);
  const hint = near.length ? ` Did you mean ${near.slice(0, 3).join(' or ')}?` : '';
  return new FormatError(
    'UNKNOWN_FORMAT',
    `unknown format "${text}".${hint} Known formats: ${names.join(', ')}; generic: fp(e=..,m=..), int(b=..,f=..), mx(elem=..,k=..), bdr(m=..,k1=..,d1=..,k2=..,d2=..). Run \`microscale formats\` for the table.`,
  );
}

const cache = new Map<string, Format>();

/** Parse a format name in the grammar (case and spaces ignored) and return its frozen descriptor. */
export function parseFormat(text: string): Format {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new FormatError('INVALID_FORMAT_NAME', `format must be a non-empty name such as "mxfp4"; got ${JSON.stringify(text)}`);
  }
  const hit = cache.get(text);
  if (hit) return hit;
  const call = parseCall(text);
  let f: Format;
  if (!call.params) {
    const named = CATALOG.get(ALIASES.get(call.head) ?? call.head);
    if (!named) throw unknown(text);
    f = named;
  } else {
    const p = new Params(text, call.params);
    switch (call.head) {
      case 'fp':
      case 'int':
        f = castFormat(parseElement(text));
        break;
      case 'mx': {
        const el = parseElement(p.raw('elem'));
        const k = p.int('k', 1, 65536, 32);
        const d1 = p.int('d1', 2, 8, 8);
        p.done();
        if (el.kind === 'float' && !el.signed) throw bad(text, 'mx elements must be signed');
        f = mxFormat(el, k, `mx(elem=${el.name},k=${k},d1=${d1})`, 'ocp-mx', d1);
        break;
      }
      case 'bdr': {
        const m = p.int('m', 1, 15);
        const k1 = p.int('k1', 1, 65536);
        const d1 = p.int('d1', 2, 8, 8);
        const d2 = p.int('d2', 0, 4, 0);
        const k2 = p.int('k2', 1, k1, d2 === 0 ? 1 : undefined);
        p.done();
        if (d2 > 0 && k1 % k2 !== 0) throw bad(text, `k2=${k2} must divide k1=${k1}`);
        f = bdrFormat(m, k1, d1, d2 === 0 ? 1 : k2, d2, `bdr(m=${m},k1=${k1},d1=${d1},k2=${d2 === 0 ? 1 : k2},d2=${d2})`);
        break;
      }
      default:
        throw unknown(text);
    }
  }
  if (cache.size < 4096) cache.set(text, f);
  return f;
}

/** The canonical name of a descriptor (parses back to an equal descriptor). */
export function formatName(f: Format): string {
  return f.name;
}

/** Look up an element format by name (`fp8_e4m3`, `e8m0`, `fp(e=3,m=4)`, `int(b=6,f=4)`). */
export function getElement(name: string): ElementFormat {
  return parseElement(name);
}
