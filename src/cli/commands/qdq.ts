// `microscale qdq`: quantize raw float32 from stdin and write the dequantized values (or the
// packed codes, or the serialized container) to stdout.
import { Option, type Command } from 'commander';
import { dequantize, getFormat, quantize, type Preset, type QuantizeOptions, type Rounding, type ScaleMode } from '../../index.js';
import { float32FromLittleEndian, float32ToLittleEndian } from '../binary.js';
import type { CliContext } from '../context.js';
import { InputError, UsageError } from '../errors.js';
import { integerIn, positiveNumber, shapeList } from '../parse.js';

const ROUNDINGS: readonly Rounding[] = ['rne', 'rna', 'rtz', 'stochastic'];
const SCALE_MODES: readonly ScaleMode[] = ['floor', 'ceil', 'even', 'rceil'];
const PRESETS: readonly Preset[] = ['ocp', 'microxcaling', 'torchao', 'ggml'];
const OUTPUTS = ['values', 'codes', 'container'] as const;
type OutputKind = (typeof OUTPUTS)[number];

interface QdqOptions {
  format: string;
  shape?: number[];
  axis?: number;
  blockSize?: number;
  rounding?: Rounding;
  seed?: number;
  scaleMode?: ScaleMode;
  scaleBits?: number;
  preset?: Preset;
  flushSubnormalBlocks?: boolean;
  scaleUpperBound?: number;
  tensorScale?: number;
  output: OutputKind;
}

function quantizeOptions(o: QdqOptions): QuantizeOptions {
  const q: QuantizeOptions = {};
  if (o.shape !== undefined) q.shape = o.shape;
  if (o.axis !== undefined) q.axis = o.axis;
  if (o.blockSize !== undefined) q.blockSize = o.blockSize;
  if (o.rounding !== undefined) q.rounding = o.rounding;
  if (o.seed !== undefined) q.seed = o.seed;
  if (o.scaleMode !== undefined) q.scaleMode = o.scaleMode;
  if (o.scaleBits !== undefined) q.scaleBits = o.scaleBits;
  if (o.preset !== undefined) q.preset = o.preset;
  if (o.flushSubnormalBlocks) q.flushSubnormalBlocks = true;
  if (o.scaleUpperBound !== undefined) q.scaleUpperBound = o.scaleUpperBound;
  if (o.tensorScale !== undefined) q.tensorScale = o.tensorScale;
  return q;
}

export function registerQdq(program: Command, ctx: CliContext): Command {
  return program
    .command('qdq')
    .description('quantize-dequantize: read raw little-endian float32 from stdin, write the values they take in a format to stdout')
    .requiredOption('-f, --format <name>', 'target format (see `microscale formats`), e.g. mxfp4, mx9, nvfp4, q4_0')
    .option('--shape <dims>', 'tensor shape, comma-separated, e.g. 4,64 (default: one axis holding every value)', shapeList)
    .option('--axis <n>', 'axis the blocks run along; negative counts from the end (default: the last)', integerIn(-(2 ** 31), 2 ** 31 - 1))
    .option('--block-size <n>', "elements per scale block, 0 = the whole axis (default: the format's)", integerIn(0, 2 ** 31))
    .addOption(new Option('--rounding <mode>', 'element rounding (default: rne; rna under --preset microxcaling)').choices(ROUNDINGS))
    .option('--seed <n>', 'seed of stochastic rounding (default: 0)', integerIn(0, 0xffffffff))
    .addOption(new Option('--scale-mode <mode>', 'shared-exponent rule of power-of-two scales (default: floor, as OCP)').choices(SCALE_MODES))
    .option('--scale-bits <n>', "width of a power-of-two scale, 2…8 (default: the format's, 8)", integerIn(2, 8))
    .addOption(new Option('--preset <name>', 'compatibility preset (default: ocp)').choices(PRESETS))
    .option('--flush-subnormal-blocks', 'power-of-two blocks whose max is below 2^-126 become zero (as microxcaling)')
    .option('--scale-upper-bound <x>', 'cap on the row max of fp8_e4m3_rowwise (default: 1200)', positiveNumber)
    .option('--tensor-scale <x>', 'nvfp4: use this FP32 per-tensor scale instead of max|x|/2688', positiveNumber)
    .addOption(
      new Option('--output <kind>', 'what to write: values (float32 LE), codes (packed element codes), container (QuantizedTensor.toBytes())')
        .choices(OUTPUTS)
        .default('values'),
    )
    .addHelpText(
      'after',
      `
Input: raw little-endian float32 values on stdin, e.g. a .f32 file or numpy's
x.astype('<f4').tobytes().

Output (--output):
  values     the dequantized values as raw little-endian float32, same count
             and order as the input
  codes      the element codes only: an LSB-first bit stream in blocked order
             (4-bit codes two per byte, low nibble first), QuantizedTensor.codes
  container  the serialized tensor (magic "MSQT", JSON header, codes, scales),
             readable with QuantizedTensor.fromBytes()

Exit status: 0 success; 2 bad command line (unknown option or format, bad
value, a --shape that does not match the input); 1 bad data (stdin not a whole
number of float32 values, a value the format cannot encode such as NaN in a
scalar fp4 cast).

Examples:
  $ microscale qdq --format mxfp4 < weights.f32 > weights.mxfp4.f32
  $ microscale qdq --format mx6 --shape 4,64 --axis 0 < x.f32 > y.f32
  $ microscale qdq -f mxint8 --preset microxcaling < x.f32 > y.f32
  $ microscale qdq --format nvfp4 --output container < x.f32 > x.msqt
  $ microscale qdq -f mxint8 --output codes < x.f32 | od -An -tx1 | head`,
    )
    .action(async (opts: QdqOptions) => {
      const format = getFormat(opts.format);
      if (ctx.io.stdinIsTerminal) {
        throw new UsageError(`qdq reads raw little-endian float32 values from stdin, but stdin is a terminal; pipe data in, e.g. microscale qdq --format ${format.name} < x.f32 > y.f32`);
      }
      const bytes = await ctx.io.readStdin();
      if (bytes.length % 4 !== 0) {
        throw new InputError(
          `stdin holds ${bytes.length} bytes, not a whole number of float32 values (4 bytes each, ${bytes.length % 4} left over); send raw little-endian float32 data`,
        );
      }
      const x = float32FromLittleEndian(bytes);
      if (opts.shape) {
        const n = opts.shape.reduce((a, b) => a * b, 1);
        if (n !== x.length) {
          throw new UsageError(
            `--shape ${opts.shape.join(',')} holds ${n} values but stdin has ${x.length} float32 values (${bytes.length} bytes); pass a shape whose product is ${x.length}`,
          );
        }
      }
      const q = quantize(x, format, quantizeOptions(opts));
      if (opts.output === 'values') ctx.io.stdout(float32ToLittleEndian(dequantize(q)));
      else if (opts.output === 'codes') ctx.io.stdout(q.codes);
      else ctx.io.stdout(q.toBytes());
    });
}
