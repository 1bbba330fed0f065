// ONNX: a protobuf ModelProto. The reader walks ModelProto.graph → GraphProto.node/initializer →
// NodeProto.attribute → AttributeProto.t/tensors/g/graphs with a lazy wire-format scanner, noting
// where each TensorProto lies and reading only its small fields, so that opening a model touches
// no tensor data. Weights are the graph initializers and the `value` of Constant nodes, in the main
// graph and in every subgraph (If/Loop/Scan bodies).
import { codeTable, decodePlain, elementCount, isFloatDtype, PLAIN_BITS, plainByteLength, type PlainDtype } from './dtypes.js';
import { ModelFileError } from './errors.js';
import { longToNumber, onnxType } from './onnx-schema.js';
import { Cursor, decodeUtf8, type ByteSource } from './source.js';
import { checkElements, readTensorBytes } from './tensor-io.js';
import { makeReader, type ModelReader, type TensorEntry } from './types.js';

/** TensorProto.DataType → stored dtype (a plain dtype, or a name for types read() cannot decode). */
const ONNX_DTYPES: ReadonlyMap<number, PlainDtype | 'string' | 'c64' | 'c128'> = new Map([
  [1, 'f32'],
  [2, 'u8'],
  [3, 'i8'],
  [4, 'u16'],
  [5, 'i16'],
  [6, 'i32'],
  [7, 'i64'],
  [8, 'string'],
  [9, 'bool'],
  [10, 'f16'],
  [11, 'f64'],
  [12, 'u32'],
  [13, 'u64'],
  [14, 'c64'],
  [15, 'c128'],
  [16, 'bf16'],
  [17, 'f8_e4m3'],
  [18, 'f8_e4m3fnuz'],
  [19, 'f8_e5m2'],
  [20, 'f8_e5m2fnuz'],
  [21, 'u4'],
  [22, 'i4'],
  [23, 'f4_e2m1'],
  [24, 'f8_e8m0'],
  [25, 'u2'],
  [26, 'i2'],
] as const);

/** Which typed TensorProto field holds the data of a dtype when raw_data is absent. */
function typedField(dtype: string): number {
  switch (dtype) {
    case 'f32':
    case 'c64':
      return 4; // float_data
    case 'f64':
    case 'c128':
      return 10; // double_data
    case 'i64':
      return 7; // int64_data
    case 'u32':
    case 'u64':
      return 11; // uint64_data
    case 'string':
      return 6; // string_data
    default:
      return 5; // int32_data
  }
}

const FIELD_NAMES: Record<number, string> = { 4: 'float_data', 5: 'int32_data', 6: 'string_data', 7: 'int64_data', 10: 'double_data', 11: 'uint64_data' };
const MAX_DEPTH = 32;
const MAX_STRING = 1 << 20;

/** What the scan learns about one TensorProto. */
interface TensorScan {
  start: number;
  end: number;
  dims: number[];
  dataType: number;
  name: string;
  raw: { offset: number; length: number } | null;
  /** Per typed field: payload bytes and, where the wire format tells, the element count. */
  typed: Map<number, { bytes: number; count: number | null }>;
  external: boolean;
  location: string;
  segmented: boolean;
}

type Visit = {
  varint?(field: number, value: number): void;
  fixed?(field: number, size: number): void;
  len?(field: number, start: number, length: number): Promise<void> | void;
};

class OnnxScanner {
  readonly c: Cursor;
  constructor(readonly source: ByteSource) {
    this.c = new Cursor(source);
  }

  fail(problem: 'malformed' | 'truncated', detail: string): never {
    throw new ModelFileError(this.source.name, problem, detail);
  }

  async varint(end: number, what: string): Promise<number> {
    const c = this.c;
    if (!c.has(10)) {
      if (c.pos >= end) this.fail('truncated', `${what} is cut off at offset ${c.pos}`);
      await c.need(Math.min(10, c.remaining), what);
    }
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (c.pos >= end || !c.has(1)) this.fail('truncated', `${what} runs past its message at offset ${c.pos}`);
      const b = c.u8();
      v += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return v > Number.MAX_SAFE_INTEGER ? Infinity : v;
    }
    return this.fail('malformed', `${what} is a varint longer than 10 bytes at offset ${c.pos}`);
  }

  /** Walk the fields of the message at [start, end), calling `visit` for each. */
  async message(start: number, end: number, what: string, visit: Visit): Promise<void> {
    const c = this.c;
    c.pos = start;
    while (c.pos < end) {
      const tag = await this.varint(end, `a field tag in ${what}`);
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      if (field === 0 || !Number.isSafeInteger(field)) this.fail('malformed', `invalid field number in ${what} at offset ${c.pos}`);
      if (wire === 0) {
        const v = await this.varint(end, `field ${field} of ${what}`);
        visit.varint?.(field, v);
      } else if (wire === 1 || wire === 5) {
        const size = wire === 1 ? 8 : 4;
        if (c.pos + size > end) this.fail('truncated', `field ${field} of ${what} runs past its message`);
        c.pos += size;
        visit.fixed?.(field, size);
      } else if (wire === 2) {
        const len = await this.varint(end, `the length of field ${field} of ${what}`);
        const at = c.pos;
        if (!(at + len <= end)) this.fail('truncated', `field ${field} of ${what} claims ${len} bytes at offset ${at}, past the end of its message at ${end}`);
        await visit.len?.(field, at, len);
        c.pos = at + len;
      } else {
        this.fail('malformed', `wire type ${wire} in ${what} at offset ${c.pos} (not an ONNX model, or corrupt)`);
      }
    }
    if (c.pos !== end) this.fail('malformed', `${what} overruns its length`);
  }

  async string(start: number, len: number, what: string): Promise<string> {
    if (len > MAX_STRING) this.fail('malformed', `${what} is ${len} bytes long`);
    this.c.pos = start;
    await this.c.need(len, what);
    return decodeUtf8(this.c.bytes(len), this.source.name, what);
  }

  async tensor(start: number, end: number): Promise<TensorScan> {
    const t: TensorScan = { start, end, dims: [], dataType: 0, name: '', raw: null, typed: new Map(), external: false, location: '', segmented: false };
    const bump = (field: number, bytes: number, count: number | null) => {
      const prev = t.typed.get(field);
      t.typed.set(field, {
        bytes: (prev?.bytes ?? 0) + bytes,
        count: prev === undefined ? count : prev.count === null || count === null ? null : prev.count + count,
      });
    };
    await this.message(start, end, 'a TensorProto', {
      varint: (field, v) => {
        if (field === 1) t.dims.push(v);
        else if (field === 2) t.dataType = v;
        else if (field === 14) t.external = v === 1;
        else if (field === 5 || field === 7 || field === 11) bump(field, 1, 1);
      },
      fixed: (field, size) => {
        if ((field === 4 && size === 4) || (field === 10 && size === 8)) bump(field, size, 1);
      },
      len: async (field, at, len) => {
        if (field === 1) {
          this.c.pos = at;
          while (this.c.pos < at + len) t.dims.push(await this.varint(at + len, 'a packed dimension'));
        } else if (field === 8) t.name = await this.string(at, len, 'a tensor name');
        else if (field === 9) t.raw = { offset: at, length: len };
        else if (field === 4 || field === 10) {
          const size = field === 4 ? 4 : 8;
          if (len % size !== 0) this.fail('malformed', `packed ${FIELD_NAMES[field]} of ${len} bytes is not a whole number of ${size}-byte values`);
          bump(field, len, len / size);
        }
        else if (field === 5 || field === 7 || field === 11) bump(field, len, null);
        else if (field === 6) bump(field, len, 1);
        else if (field === 3) t.segmented = true;
        else if (field === 13) {
          let key = '';
          let value = '';
          await this.message(at, at + len, 'an external_data entry', {
            len: async (f, s, l) => {
              if (f === 1) key = await this.string(s, l, 'an external_data key');
              else if (f === 2) value = await this.string(s, l, 'an external_data value');
            },
          });
          if (key === 'location') t.location = value;
        }
      },
    });
    return t;
  }
}

interface Found {
  scan: TensorScan;
  name: string;
}

/** Open an ONNX model: scans the graph and every subgraph for initializers and Constant nodes. */
export async function openOnnx(source: ByteSource): Promise<ModelReader> {
  const s = new OnnxScanner(source);
  const found: Found[] = [];
  let graphs = 0;
  let constantIndex = 0;

  const scanGraph = async (start: number, end: number, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) s.fail('malformed', `subgraphs nest more than ${MAX_DEPTH} deep`);
    graphs++;
    const nodes: [number, number][] = [];
    const inits: [number, number][] = [];
    await s.message(start, end, 'a GraphProto', {
      len: (field, at, len) => {
        if (field === 1) nodes.push([at, at + len]);
        else if (field === 5) inits.push([at, at + len]);
      },
    });
    for (const [a, b] of inits) {
      const scan = await s.tensor(a, b);
      found.push({ scan, name: scan.name });
    }
    for (const [a, b] of nodes) await scanNode(a, b, depth);
  };

  const scanNode = async (start: number, end: number, depth: number): Promise<void> => {
    let opType = '';
    let domain = '';
    let nodeName = '';
    let output: string | null = null;
    const attrs: [number, number][] = [];
    await s.message(start, end, 'a NodeProto', {
      len: async (field, at, len) => {
        if (field === 4) opType = await s.string(at, len, 'an op_type');
        else if (field === 7) domain = await s.string(at, len, 'a node domain');
        else if (field === 3) nodeName = await s.string(at, len, 'a node name');
        else if (field === 2 && output === null) output = await s.string(at, len, 'a node output');
        else if (field === 5) attrs.push([at, at + len]);
      },
    });
    const isConstant = opType === 'Constant' && (domain === '' || domain === 'ai.onnx');
    for (const [a, b] of attrs) {
      let attrName = '';
      let value: [number, number] | null = null;
      const subgraphs: [number, number][] = [];
      await s.message(a, b, 'an AttributeProto', {
        len: async (field, at, len) => {
          if (field === 1) attrName = await s.string(at, len, 'an attribute name');
          else if (field === 5) value = [at, at + len];
          else if (field === 6 || field === 11) subgraphs.push([at, at + len]);
        },
      });
      if (isConstant && attrName === 'value' && value) {
        const scan = await s.tensor(value[0], value[1]);
        const index = constantIndex++;
        found.push({ scan, name: output || scan.name || nodeName || `Constant_${index}` });
      }
      for (const [ga, gb] of subgraphs) await scanGraph(ga, gb, depth + 1);
    }
  };

  let graphRange: [number, number] | null = null;
  await s.message(0, source.size, 'the ModelProto', {
    len: (field, at, len) => {
      if (field === 7) graphRange = [at, at + len];
    },
  });
  if (!graphRange) throw new ModelFileError(source.name, 'malformed', 'the ModelProto has no graph (field 7); is this an ONNX model?');
  await scanGraph(graphRange[0], graphRange[1], 0);

  const used = new Set<string>();
  const entries = found.map(({ scan, name }, i) => {
    let unique = name || `tensor_${i}`;
    for (let k = 2; used.has(unique); k++) unique = `${name}#${k}`;
    used.add(unique);
    return tensorEntry(source, scan, unique);
  });
  return makeReader('onnx', source, entries);
}

function tensorEntry(source: ByteSource, t: TensorScan, name: string): TensorEntry {
  const file = source.name;
  const dtype = ONNX_DTYPES.get(t.dataType);
  if (!dtype) throw new ModelFileError(file, 'unknown-dtype', `unknown TensorProto data_type ${t.dataType}`, name);
  if (t.dims.some((d) => !Number.isSafeInteger(d))) throw new ModelFileError(file, 'malformed', `dims [${t.dims.join(', ')}] must be non-negative integers`, name);
  const shape = t.dims;
  const elements = elementCount(shape);
  // external and string tensors have no byte count to check the shape against: bound it here
  if (!Number.isSafeInteger(elements)) {
    throw new ModelFileError(file, 'malformed', `dims [${shape.join(', ')}] multiply to more than 2^53 − 1 elements (corrupt dims)`, name);
  }
  const plain = dtype === 'string' || dtype === 'c64' || dtype === 'c128' ? null : dtype;
  const field = typedField(dtype);
  const typed = t.typed.get(field);
  let readable = plain !== null && !t.external && !t.segmented;
  let byteLength: number;
  if (t.external) {
    byteLength = 0;
  } else if (t.raw) {
    byteLength = t.raw.length;
    const expected = plain ? plainByteLength(plain, elements) : dtype === 'c64' ? 8 * elements : dtype === 'c128' ? 16 * elements : t.raw.length;
    if (expected !== t.raw.length) {
      throw new ModelFileError(file, 'size-mismatch', `shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes but raw_data holds ${t.raw.length}`, name);
    }
  } else if (typed) {
    byteLength = typed.bytes;
    const perElement = dtype === 'c64' || dtype === 'c128' ? 2 : 1;
    if (typed.count !== null && typed.count !== elements * perElement) {
      throw new ModelFileError(file, 'size-mismatch', `shape [${shape.join(', ')}] has ${elements} elements but ${FIELD_NAMES[field]} holds ${typed.count} values`, name);
    }
    // every varint takes at least one byte: a count the payload cannot hold is caught before any allocation
    if (typed.count === null && typed.bytes < elements * perElement) {
      throw new ModelFileError(file, 'size-mismatch', `shape [${shape.join(', ')}] has ${elements} elements but ${FIELD_NAMES[field]} is only ${typed.bytes} bytes`, name);
    }
    if (plain && PLAIN_BITS[plain] < 8) readable = false; // packed 4- and 2-bit values in int32_data
  } else {
    byteLength = 0;
    if (elements !== 0 && dtype !== 'string') {
      throw new ModelFileError(file, 'size-mismatch', `shape [${shape.join(', ')}] has ${elements} elements but the tensor holds no data`, name);
    }
  }
  return {
    info: Object.freeze({
      name,
      shape: Object.freeze(shape),
      dtype,
      elements,
      byteLength,
      floating: plain ? isFloatDtype(plain) : dtype !== 'string',
      readable,
    }),
    async decode() {
      if (t.external) {
        throw new ModelFileError(file, 'unsupported', `data is stored in an external file${t.location ? ` (${t.location})` : ''}; external data is not supported — save the model with the weights inside (onnx.save(model, path, save_as_external_data=False))`, name);
      }
      if (t.segmented) throw new ModelFileError(file, 'unsupported', 'segmented tensors are not supported', name);
      if (!plain) throw new ModelFileError(file, 'unsupported', `dtype ${dtype} has no float32 reading`, name);
      if (t.raw) return decodePlain(await readTensorBytes(source, t.raw.offset, t.raw.length, elements, name), plain, elements);
      if (!readable) throw new ModelFileError(file, 'unsupported', `${dtype} values stored in int32_data are not supported (only raw_data)`, name);
      if (elements === 0) return new Float32Array(0);
      checkElements(file, elements, name);
      return decodeTyped(await readTensorBytes(source, t.start, t.end - t.start, 0, name), plain, field, elements, file, name);
    },
  };
}

/** Decode a whole TensorProto with protobufjs and convert its typed field to float32. */
function decodeTyped(bytes: Uint8Array, dtype: PlainDtype, field: number, elements: number, file: string, name: string): Float32Array {
  let msg: Record<string, unknown>;
  try {
    msg = onnxType('TensorProto').decode(bytes) as unknown as Record<string, unknown>;
  } catch (e) {
    throw new ModelFileError(file, 'malformed', `the TensorProto does not decode (${(e as Error).message})`, name);
  }
  const values = msg[FIELD_NAMES[field]!] as unknown[] | undefined;
  if (!values || values.length !== elements) {
    throw new ModelFileError(file, 'size-mismatch', `${elements} elements expected in ${FIELD_NAMES[field]}, found ${values?.length ?? 0}`, name);
  }
  const out = new Float32Array(elements);
  if (field === 4 || field === 10) {
    for (let i = 0; i < elements; i++) out[i] = values[i] as number;
  } else if (field === 7 || field === 11) {
    for (let i = 0; i < elements; i++) out[i] = longToNumber(values[i]);
  } else if (dtype === 'f16' || dtype.startsWith('f8')) {
    // float16 and float8 values are stored as their bit patterns in int32_data
    const table = codeTable(dtype);
    const mask = table.length - 1;
    for (let i = 0; i < elements; i++) out[i] = table[(values[i] as number) & mask]!;
  } else if (dtype === 'bf16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < elements; i++) bits[i] = ((values[i] as number) & 0xffff) << 16;
  } else if (dtype === 'bool') {
    for (let i = 0; i < elements; i++) out[i] = values[i] ? 1 : 0;
  } else {
    for (let i = 0; i < elements; i++) out[i] = values[i] as number;
  }
  return out;
}
