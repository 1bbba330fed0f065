// `microscale info <format>`: a format's full descriptor and, for narrow elements, every code.
import type { Command } from 'commander';
import { getFormat, type ElementFormat, type Format } from '../../index.js';
import { codeTable, numberField, summarize } from '../describe.js';
import type { CliContext } from '../context.js';
import { exactDecimal, renderFields, renderTable, toJson } from '../text.js';

/** Elements up to this width get a full code table. */
const MAX_TABLE_BITS = 8;

function fieldText(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return numberField(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map((x) => (typeof x === 'number' ? exactDecimal(x) : String(x))).join(', ')}]`;
  if (typeof v === 'object' && 'name' in v) return String((v as { name: unknown }).name);
  return Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${k}=${typeof x === 'number' ? exactDecimal(x) : String(x)}`)
    .join(' ');
}

function fields(obj: object): [string, string][] {
  return Object.entries(obj).map(([k, v]) => [k, fieldText(v)]);
}

function elementSection(title: string, el: ElementFormat): string {
  return `${title} ${el.name}\n${renderFields(fields(el))}`;
}

function codeSection(el: ElementFormat): string {
  const rows = codeTable(el).map((c) => [String(c.code), c.hex, c.binary, exactDecimal(c.value), c.exact, c.class]);
  return `codes of ${el.name} (${el.codeCount})\n${renderTable(['code', 'hex', 'binary', 'value', 'exact', 'class'], rows, '  ')}`;
}

function describeText(format: Format): string {
  const { element, scaleElement, ...rest } = format;
  const s = summarize(format);
  const parts = [
    `${format.name}: ${format.description}\n` +
      renderFields([
        ...fields(rest).filter(([k]) => k !== 'name' && k !== 'description'),
        ['element', element.name],
        ['scaleElement', scaleElement ? scaleElement.name : '-'],
        ['bitsPerRow', String(s.bitsPerRow)],
        ['bitsPerTensor', String(s.bitsPerTensor)],
      ]),
    elementSection('element', element),
  ];
  if (scaleElement) parts.push(elementSection('scale element', scaleElement));
  if (element.bits <= MAX_TABLE_BITS) parts.push(codeSection(element));
  else parts.push(`codes of ${element.name}: ${element.codeCount} codes; tables are printed for elements of at most ${MAX_TABLE_BITS} bits\n`);
  return parts.join('\n');
}

export function registerInfo(program: Command, ctx: CliContext): Command {
  return program
    .command('info')
    .description("show a format's descriptor, derived limits and (for elements of at most 8 bits) every code with its exact value")
    .argument('<format>', "a format name: mxfp4, mx9, nvfp4, q4_0, fp8_e4m3, … or a generic one such as 'fp(e=3,m=2)'")
    .option('--json', 'print the descriptor, summary and code table as JSON')
    .addHelpText(
      'after',
      `
Sections: the format descriptor (every field, plus bitsPerRow / bitsPerTensor
for per-row and per-tensor scales), the element descriptor, the scale element's
descriptor, then the code table with columns
  code, hex, binary  the stored code
  value              shortest decimal that reads back as the exact value
  exact              the value as k*2^e with k odd
  class              zero, subnormal, normal, inf, nan, int, or decode-only (a
                     code that decodes but that encoding never produces)

Generic names (quote them in the shell):
  fp(e=E,m=M[,bias=B,inf=0|1,nan=ieee|ones|none,sub=0|1,sat=0|1,signed=0|1])
  int(b=B[,f=F,enc=twos|signmag|offset|unsigned])
  mx(elem=ELEMENT[,k=32,d1=8])
  bdr(m=M,k1=K1[,d1=8,k2=K2,d2=D2])

Examples:
  $ microscale info mxfp4
  $ microscale info 'fp(e=3,m=2)'
  $ microscale info 'bdr(m=4,k1=16,d1=8,k2=2,d2=1)'
  $ microscale info fp8_e4m3 --json | jq '.codes[] | select(.class == "nan")'`,
    )
    .action((name: string, opts: { json?: boolean }) => {
      const format = getFormat(name);
      if (opts.json) {
        const table = format.element.bits <= MAX_TABLE_BITS ? codeTable(format.element) : null;
        ctx.io.stdout(toJson({ format, summary: summarize(format), codes: table }));
        return;
      }
      ctx.io.stdout(describeText(format));
    });
}
