// Small writers for hand-made (often deliberately broken) model files in the validation tests.

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}
export function u64(v: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
}
export function f32s(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** safetensors: u64 header length, JSON header, data. */
export function safetensors(header: unknown, data: Uint8Array, headerLength?: number | bigint): Uint8Array {
  const json = utf8(JSON.stringify(header));
  return concat([u64(headerLength ?? json.length), json, data]);
}

export interface GgufTensorSpec {
  name: string;
  ne: (number | bigint)[];
  type: number;
  offset: number | bigint;
}

/** GGUF with string metadata and raw tensor-info fields (so tests can put any value in them). */
export function gguf(opts: {
  version?: number;
  magic?: string;
  kv?: [string, number, Uint8Array][];
  tensors: GgufTensorSpec[];
  alignment?: number;
  data: Uint8Array;
  tensorCount?: number | bigint;
  kvCount?: number | bigint;
}): Uint8Array {
  const str = (s: string) => concat([u64(utf8(s).length), utf8(s)]);
  const kv = (opts.kv ?? []).map(([k, type, value]) => concat([str(k), u32(type), value]));
  const infos = opts.tensors.map((t) => concat([str(t.name), u32(t.ne.length), ...t.ne.map(u64), u32(t.type), u64(t.offset)]));
  const head = concat([
    utf8(opts.magic ?? 'GGUF'),
    u32(opts.version ?? 3),
    u64(opts.tensorCount ?? opts.tensors.length),
    u64(opts.kvCount ?? kv.length),
    ...kv,
    ...infos,
  ]);
  const align = opts.alignment ?? 32;
  return concat([head, new Uint8Array(Math.ceil(head.length / align) * align - head.length), opts.data]);
}

/** .npy with a literal header dict. */
export function npy(dict: string, data: Uint8Array, version = 1): Uint8Array {
  const prelude = version === 1 ? 10 : 12;
  const head = new Uint8Array(prelude);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const text = utf8(dict + '\n');
  if (version === 1) new DataView(head.buffer).setUint16(8, text.length, true);
  else new DataView(head.buffer).setUint32(8, text.length, true);
  return concat([head, text, data]);
}

// ------------------------------------------------------------------------------ protobuf writing
export function varint(v: number | bigint): Uint8Array {
  let n = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return new Uint8Array(out);
}
export const pbVarint = (field: number, v: number | bigint) => concat([varint(field * 8), varint(v)]);
export const pbBytes = (field: number, b: Uint8Array) => concat([varint(field * 8 + 2), varint(b.length), b]);
export const pbString = (field: number, s: string) => pbBytes(field, utf8(s));

/** A TensorProto with raw_data (or other fields appended through `extra`). */
export function tensorProto(name: string, dataType: number, dims: number[], raw: Uint8Array | null, extra: Uint8Array[] = []): Uint8Array {
  return concat([...dims.map((d) => pbVarint(1, d)), pbVarint(2, dataType), pbString(8, name), ...(raw ? [pbBytes(9, raw)] : []), ...extra]);
}

/** A ModelProto whose graph has these initializers and a Constant node per `constants` entry. */
export function onnxModel(initializers: Uint8Array[], constants: [string, Uint8Array][] = []): Uint8Array {
  const nodes = constants.map(([out, t]) => pbBytes(1, concat([pbString(2, out), pbString(4, 'Constant'), pbBytes(5, concat([pbString(1, 'value'), pbBytes(5, t), pbVarint(20, 4)]))])));
  const graph = concat([...nodes, pbString(2, 'g'), ...initializers.map((t) => pbBytes(5, t))]);
  return concat([pbVarint(1, 8), pbBytes(7, graph)]);
}
