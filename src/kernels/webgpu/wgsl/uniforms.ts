// Uniform structs: one field list drives both the WGSL declaration and the host-side packing.

type FieldType = 'u32' | 'i32';

/** A uniform struct of 32-bit scalars. */
export class UniformStruct<K extends string> {
  private readonly index: Map<K, number>;
  /** Bytes of one packed struct (a multiple of 16). */
  readonly byteLength: number;

  constructor(
    readonly name: string,
    private readonly fields: readonly (readonly [K, FieldType])[],
  ) {
    this.index = new Map(fields.map(([k], i) => [k, i]));
    this.byteLength = Math.ceil((fields.length * 4) / 16) * 16;
  }

  /** The WGSL declaration. */
  wgsl(): string {
    const body = this.fields.map(([k, t]) => `  ${k}: ${t},`).join('\n');
    return `struct ${this.name} {\n${body}\n}`;
  }

  /** Pack values (missing fields are 0). Integers are stored as 32-bit two's complement. */
  pack(values: Partial<Record<K, number>>): Uint32Array {
    const out = new Uint32Array(this.byteLength / 4);
    for (const [k, v] of Object.entries(values) as [K, number][]) {
      const i = this.index.get(k);
      if (i === undefined) throw new RangeError(`unknown uniform field ${k}`);
      if (!Number.isInteger(v)) throw new RangeError(`uniform ${k} must be an integer; got ${v}`);
      out[i] = v >>> 0;
    }
    return out;
  }
}

/** Parameters of every quantize-family kernel. */
export const Q_PARAMS = new UniformStruct('QParams', [
  ['n', 'u32'],
  ['flat_base', 'u32'],
  ['seed_mix', 'u32'],
  ['rounding', 'u32'],
  ['scale_mode', 'u32'],
  ['smax', 'i32'],
  ['flush', 'u32'],
  ['micro', 'u32'],
  ['torchao', 'u32'],
  ['tensor_scale', 'u32'],
  ['bound', 'u32'],
  ['wgx', 'u32'],
  ['n_wg', 'u32'],
  ['n_blocks', 'u32'],
  ['n_subs', 'u32'],
  ['code_words', 'u32'],
  ['scale_words', 'u32'],
  ['sub_words', 'u32'],
  ['row_len', 'u32'],
  ['inner', 'u32'],
  ['bs', 'u32'],
  ['bpr', 'u32'],
  ['sbpr', 'u32'],
] as const);

/** Parameters of the dequantize and matmul kernels. */
export const D_PARAMS = new UniformStruct('DParams', [
  ['n', 'u32'],
  ['flat_base', 'u32'],
  ['code_base', 'u32'],
  ['wgx', 'u32'],
  ['n_wg', 'u32'],
  ['row_len', 'u32'],
  ['inner', 'u32'],
  ['bs', 'u32'],
  ['bpr', 'u32'],
  ['sbpr', 'u32'],
  ['scale_bias', 'i32'],
  ['scale_nan', 'u32'],
  ['tensor_scale', 'u32'],
  ['m', 'u32'],
  ['n_out', 'u32'],
  ['k', 'u32'],
  ['m_base', 'u32'],
  ['single_row', 'u32'],
  ['bs_log2', 'u32'],
] as const);
