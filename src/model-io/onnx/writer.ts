// The ONNX writer. Layouts:
//   fake-quant  every planned float32 weight (initializer or Constant node, in the main graph or any
//               subgraph) holds its dequantized values: the model runs anywhere, with the format's
//               rounding baked in.
//   packed      MatMul and plain Gemm weights whose format is integers times one scale per
//               power-of-two block go to com.microsoft.MatMulNBits (uint8 codes + float scales,
//               onnxruntime and transformers.js "q4"); other weights (Conv kernels, …) whose codes are an ONNX type onnxruntime
//               dequantizes (INT4, INT8, FP8) go behind a blocked DequantizeLinear when the model's
//               opset has it (21); every other planned weight is written fake-quantized.
// The model is rewritten over its own bytes: messages on the way to a changed tensor or node are
// re-encoded, everything else is copied unchanged.
import { dequantize } from '../../formats/api.js';
import { OptionError } from '../../formats/errors.js';
import type { ByteSink, ModelWriter, TensorPlanEntry, WriteContext, WriteSummary } from '../types.js';
import { chooseLayout, keptEntry, matchPlan, quantizePlanned, resolveOrKeep, resolvePlanned, type PlannedTensor } from '../write-helpers.js';
import { dequantizeLinearType, toDequantizeLinear, type DqType } from './dequantize-linear.js';
import { matMulNBitsBits, toMatMulNBits } from './matmul-nbits.js';
import { GRAPH, MODEL, NODE, ONNX_FLOAT, ONNX_UINT8, TENSOR, nodeProto, opsetProto, tensorProto } from './proto.js';
import { Chunks, concat, fields, intField, lenField, text, type WireField } from './wire.js';

export const ONNX_LAYOUTS = ['fake-quant', 'packed'] as const;
type OnnxLayout = (typeof ONNX_LAYOUTS)[number];

const MS_DOMAIN = 'com.microsoft';
const DQ_TYPE_NAMES: Record<number, string> = { 3: 'INT8', 17: 'FLOAT8E4M3FN', 19: 'FLOAT8E5M2', 22: 'INT4', 23: 'FLOAT4E2M1' };

interface GraphSite {
  readonly at: number;
  readonly end: number;
  readonly inputs: Set<string>;
  readonly outputs: Set<string>;
}

interface NodeSite {
  readonly at: number;
  readonly end: number;
  readonly graph: GraphSite;
  readonly opType: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: string[];
  readonly outputs: string[];
  /** Scalar attributes (int or float) by name. */
  readonly attributes: ReadonlyMap<string, number>;
}

/** Where a weight the reader lists lives in the model. */
interface TensorSite {
  readonly kind: 'initializer' | 'constant';
  /** The TensorProto's payload. */
  readonly at: number;
  readonly end: number;
  readonly graph: GraphSite;
  /** The Constant node (kind 'constant'). */
  readonly node: NodeSite | null;
  /** The value name the graph uses (initializer name, or the Constant's output). */
  readonly value: string;
  readonly dataType: number;
  /** The reader's name for it. */
  name: string;
}

/** The model's weights in the reader's order and naming, and every node's inputs. */
function scanModel(b: Uint8Array): { sites: TensorSite[]; nodes: NodeSite[]; graphAt: number; opsets: Map<string, number> } {
  const sites: TensorSite[] = [];
  const nodes: NodeSite[] = [];
  let constantIndex = 0;
  const tensorHead = (f: WireField) => {
    let name = '';
    let dataType = 0;
    for (const t of fields(b, f.at, f.end)) {
      if (t.field === TENSOR.name && t.wire === 2) name = text(b, t);
      else if (t.field === TENSOR.dataType && t.wire === 0) dataType = t.value;
    }
    return { name, dataType };
  };
  const scanGraph = (g: WireField) => {
    const fs = fields(b, g.at, g.end);
    const names = (field: number) =>
      new Set(fs.filter((f) => f.field === field && f.wire === 2).map((f) => text(b, fields(b, f.at, f.end).find((x) => x.field === 1) ?? f)));
    const graph: GraphSite = { at: g.at, end: g.end, inputs: names(GRAPH.input), outputs: names(GRAPH.output) };
    for (const f of fs) {
      if (f.field !== GRAPH.initializer || f.wire !== 2) continue;
      const h = tensorHead(f);
      sites.push({ kind: 'initializer', at: f.at, end: f.end, graph, node: null, value: h.name, dataType: h.dataType, name: h.name });
    }
    for (const f of fs) if (f.field === GRAPH.node && f.wire === 2) scanNode(f, graph);
  };
  const scanNode = (n: WireField, graph: GraphSite) => {
    let opType = '';
    let domain = '';
    let name = '';
    const inputs: string[] = [];
    const outputs: string[] = [];
    const attrs: WireField[] = [];
    for (const f of fields(b, n.at, n.end)) {
      if (f.wire !== 2) continue;
      if (f.field === NODE.opType) opType = text(b, f);
      else if (f.field === NODE.domain) domain = text(b, f);
      else if (f.field === NODE.name) name = text(b, f);
      else if (f.field === NODE.input) inputs.push(text(b, f));
      else if (f.field === NODE.output) outputs.push(text(b, f));
      else if (f.field === NODE.attribute) attrs.push(f);
    }
    const attributes = new Map<string, number>();
    for (const a of attrs) {
      let attrName = '';
      let value: number | null = null;
      for (const f of fields(b, a.at, a.end)) {
        if (f.field === 1 && f.wire === 2) attrName = text(b, f);
        else if (f.field === 2 && f.wire === 5) value = new DataView(b.buffer, b.byteOffset + f.at, 4).getFloat32(0, true);
        else if (f.field === 3 && f.wire === 0) value = f.value;
      }
      if (value !== null) attributes.set(attrName, value);
    }
    const node: NodeSite = { at: n.at, end: n.end, graph, opType, domain, name, inputs, outputs, attributes };
    nodes.push(node);
    const isConstant = opType === 'Constant' && (domain === '' || domain === 'ai.onnx');
    for (const a of attrs) {
      let attrName = '';
      let value: WireField | null = null;
      const subgraphs: WireField[] = [];
      for (const f of fields(b, a.at, a.end)) {
        if (f.wire !== 2) continue;
        if (f.field === 1) attrName = text(b, f);
        else if (f.field === 5) value = f;
        else if (f.field === 6 || f.field === 11) subgraphs.push(f);
      }
      if (isConstant && attrName === 'value' && value) {
        const h = tensorHead(value);
        const index = constantIndex++;
        const out = outputs[0] ?? '';
        sites.push({ kind: 'constant', at: value.at, end: value.end, graph, node, value: out, dataType: h.dataType, name: out || h.name || name || `Constant_${index}` });
      }
      for (const g of subgraphs) scanGraph(g);
    }
  };
  const top = fields(b, 0, b.length);
  const graphs = top.filter((f) => f.field === MODEL.graph && f.wire === 2);
  const graph = graphs[0];
  if (!graph) throw new OptionError('the ONNX model has no graph');
  // protobuf would merge repeated graphs; the reader keeps the last, so a rewrite of either is wrong
  if (graphs.length > 1) throw new OptionError(`the ModelProto has ${graphs.length} graph fields where it holds one; the file is corrupt`);
  const opsets = new Map<string, number>();
  for (const f of top) {
    if (f.field !== MODEL.opsetImport || f.wire !== 2) continue;
    let domain = '';
    let version = 0;
    for (const x of fields(b, f.at, f.end)) {
      if (x.field === 1 && x.wire === 2) domain = text(b, x);
      else if (x.field === 2 && x.wire === 0) version = x.value;
    }
    opsets.set(domain, version);
  }
  scanGraph(graph);
  // the reader's names: duplicates get #2, #3, …
  const used = new Set<string>();
  sites.forEach((s, i) => {
    const name = s.name;
    let unique = name || `tensor_${i}`;
    for (let k = 2; used.has(unique); k++) unique = `${name}#${k}`;
    used.add(unique);
    s.name = unique;
  });
  return { sites, nodes, graphAt: graph.at, opsets };
}

interface Decision {
  readonly planned: PlannedTensor;
  readonly site: TensorSite;
  readonly entry: TensorPlanEntry;
  /** The MatMul a packed weight feeds, with MatMulNBits' code width. */
  readonly packed: { node: NodeSite; bits: number } | null;
  /** The ONNX type of a weight stored as codes + scales behind a blocked DequantizeLinear. */
  readonly dq?: DqType;
}

/** The K axis of B (input 1) of a MatMul, or of a Gemm that MatMulNBits computes alike (alpha 1, A not
 * transposed, no C or a 1-D [N] bias with beta 1); null for any other consumer. */
function matMulKAxis(node: NodeSite, weight: readonly number[], shapes: ReadonlyMap<string, readonly number[]>): number | null {
  if (node.opType === 'MatMul') return 0;
  if (node.opType !== 'Gemm') return null;
  const a = node.attributes;
  if ((a.get('alpha') ?? 1) !== 1 || (a.get('transA') ?? 0) !== 0) return null;
  const transB = (a.get('transB') ?? 0) !== 0;
  const c = node.inputs[2];
  if (c) {
    const shape = shapes.get(c);
    if ((a.get('beta') ?? 1) !== 1 || !shape || shape.length !== 1 || shape[0] !== weight[transB ? 0 : 1]) return null;
  }
  return transB ? 1 : 0;
}

/** The ONNX writer rewrites an ONNX graph, so it takes ONNX sources only; checked before the
 * whole source is read into memory (the rewrite needs all of it). */
function requireOnnxSource(ctx: WriteContext): void {
  if (ctx.reader.format !== 'onnx') throw new OptionError(`the ONNX writer rewrites ONNX models; ${ctx.reader.file} is ${ctx.reader.format} (write safetensors or GGUF instead)`);
}

async function decide(ctx: WriteContext, layout: OnnxLayout, bytes: Uint8Array): Promise<{ decisions: Decision[]; scan: ReturnType<typeof scanModel> }> {
  requireOnnxSource(ctx);
  let scan: ReturnType<typeof scanModel>;
  try {
    scan = scanModel(bytes);
  } catch (e) {
    throw new OptionError(`${ctx.reader.file} is not a well-formed ONNX model (${(e as Error).message})`);
  }
  const planned = matchPlan(ctx);
  if (scan.sites.length !== planned.length || scan.sites.some((s, i) => s.name !== planned[i]!.info.name)) {
    throw new Error(`internal: the ONNX writer found ${scan.sites.length} weights where the reader lists ${planned.length}`);
  }
  const consumers = new Map<string, { node: NodeSite; index: number }[]>();
  for (const n of scan.nodes) n.inputs.forEach((v, index) => consumers.set(v, [...(consumers.get(v) ?? []), { node: n, index }]));
  const siteShapes = new Map(scan.sites.map((site, i) => [site.value, planned[i]!.info.shape]));
  const decisions = planned.map((t, i): Decision => {
    const site = scan.sites[i]!;
    if (!t.format) return { planned: t, site, entry: t.entry, packed: null };
    if (site.dataType !== ONNX_FLOAT) {
      const entry = keptEntry(t.entry, `ONNX weights are rewritten as float32 values; this one is ${t.info.dtype}, and changing its type would change the graph's types`);
      return { planned: { ...t, entry, format: null }, site, entry, packed: null };
    }
    if (layout === 'packed') {
      const uses = consumers.get(site.value) ?? [];
      const use = uses.length === 1 ? uses[0]! : null;
      const fits = use !== null && use.index === 1 && (use.node.domain === '' || use.node.domain === 'ai.onnx') && use.node.graph === site.graph &&
        t.info.shape.length === 2 && site.value === t.info.name && !site.graph.inputs.has(site.value) && !site.graph.outputs.has(site.value);
      // MatMul's B is [K, N]; Gemm's is [K, N], or [N, K] with transB. MatMulNBits quantizes along K.
      const kAxis = fits ? matMulKAxis(use!.node, t.info.shape, siteShapes) : null;
      if (kAxis !== null) {
        const options = { ...t.entry.options, axis: kAxis };
        let bits: number | string;
        try {
          bits = matMulNBitsBits(t.format, resolvePlanned({ ...t, entry: { ...t.entry, options } }));
        } catch (e) {
          bits = (e as Error).message; // K does not suit the format (whole ggml blocks): stays fake-quantized along the plan's axis
        }
        if (typeof bits === 'number') {
          const entry = { ...t.entry, options };
          return { planned: { ...t, entry }, site, entry, packed: { node: use!.node, bits } };
        }
      }
      // any other weight: codes + scales and a blocked DequantizeLinear that yields the same value name
      const opset = scan.opsets.get('') ?? scan.opsets.get('ai.onnx') ?? 0;
      const { resolved, kept } = resolveOrKeep(t);
      if (kept) return { planned: kept, site, entry: kept.entry, packed: null };
      const type = dequantizeLinearType(t.format, resolved);
      if (typeof type !== 'string' && opset >= type.opset && t.info.elements > 0 && site.value === t.info.name && !site.graph.inputs.has(site.value)) {
        return { planned: t, site, entry: t.entry, packed: null, dq: type };
      }
    }
    const { kept } = resolveOrKeep(t); // option errors surface in check, before any byte
    if (kept) return { planned: kept, site, entry: kept.entry, packed: null };
    return { planned: t, site, entry: t.entry, packed: null };
  });
  return { decisions, scan };
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Little-endian float32 bytes (ONNX raw_data): a copy on little-endian hosts. */
function float32Bytes(v: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  const out = new Uint8Array(v.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) dv.setFloat32(4 * i, v[i]!, true);
  return out;
}

/** A TensorProto like the original (name, dims, doc string) with float32 raw data in place of its data. */
function floatTensorLike(b: Uint8Array, at: number, end: number, values: Float32Array): Chunks {
  const dataFields = new Set([TENSOR.dataType, 3, 4, 5, 6, 7, TENSOR.rawData, 10, 11, 13, 14]);
  const c = new Chunks();
  for (const f of fields(b, at, end)) if (!dataFields.has(f.field)) c.push(b.subarray(f.start, f.end));
  return c.append(intField(TENSOR.dataType, ONNX_FLOAT)).append(lenField(TENSOR.rawData, float32Bytes(values)));
}

export const onnxWriter: ModelWriter = {
  kind: 'onnx',
  layouts: ONNX_LAYOUTS,

  async check(ctx: WriteContext): Promise<readonly TensorPlanEntry[]> {
    const layout = chooseLayout(ctx, ONNX_LAYOUTS, 'onnx') as OnnxLayout;
    requireOnnxSource(ctx);
    const bytes = await ctx.source.read(0, ctx.source.size);
    return (await decide(ctx, layout, bytes)).decisions.map((d) => d.entry);
  },

  async write(ctx: WriteContext, sink: ByteSink): Promise<WriteSummary> {
    const layout = chooseLayout(ctx, ONNX_LAYOUTS, 'onnx') as OnnxLayout;
    requireOnnxSource(ctx);
    const b = await ctx.source.read(0, ctx.source.size);
    const { decisions, scan } = await decide(ctx, layout, b);
    const taken = new Set([...scan.sites.map((s) => s.value), ...scan.nodes.flatMap((n) => [...n.inputs, ...n.outputs])]);
    const fresh = (base: string) => {
      let name = base;
      for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
      taken.add(name);
      return name;
    };
    // what replaces each changed message, keyed by its payload offset
    const tensorReplacement = new Map<number, Chunks | null>();
    const nodeReplacement = new Map<number, Chunks[]>();
    const graphAdditions = new Map<number, Chunks[]>();
    const graphPrepends = new Map<number, Chunks[]>();
    const quantized: string[] = [];
    const kept: { name: string; reason: string }[] = [];
    const packed: { name: string; as: string }[] = [];
    for (const [i, d] of decisions.entries()) {
      const t = d.planned;
      if (!t.format) {
        kept.push({ name: t.info.name, reason: t.entry.reason ?? 'kept as stored' });
        ctx.onProgress?.(i + 1, decisions.length, t.info.name);
        continue;
      }
      const values = await ctx.reader.read(t.info.name);
      const q = await quantizePlanned(ctx, t, values);
      quantized.push(t.info.name);
      if (d.packed) {
        const w = toMatMulNBits(q, d.packed.bits);
        const bName = fresh(`${d.site.value}_Q${w.bits}`);
        const sName = fresh(`${d.site.value}_scales`);
        const bTensor = tensorProto(bName, [w.N, w.B.length / w.N / (w.blockSize * w.bits / 8), (w.blockSize * w.bits) / 8], ONNX_UINT8, w.B);
        const sTensor = tensorProto(sName, [w.N, w.scales.length / w.N], ONNX_FLOAT, float32Bytes(w.scales));
        if (d.site.kind === 'initializer') {
          tensorReplacement.set(d.site.at, null);
          graphAdditions.set(d.site.graph.at, [...(graphAdditions.get(d.site.graph.at) ?? []), bTensor, sTensor]);
        } else {
          nodeReplacement.set(d.site.node!.at, [
            nodeProto({ opType: 'Constant', inputs: [], outputs: [bName], attributes: { value: { tensor: bTensor } } }),
            nodeProto({ opType: 'Constant', inputs: [], outputs: [sName], attributes: { value: { tensor: sTensor } } }),
          ]);
        }
        const mm = d.packed.node;
        nodeReplacement.set(mm.at, [
          nodeProto({
            opType: 'MatMulNBits',
            domain: MS_DOMAIN,
            name: mm.name,
            // a Gemm's C is MatMulNBits' bias (input 5, after zero_points and g_idx)
            inputs: mm.inputs[2] ? [mm.inputs[0]!, bName, sName, '', '', mm.inputs[2]] : [mm.inputs[0]!, bName, sName],
            outputs: mm.outputs,
            attributes: { K: { int: w.K }, N: { int: w.N }, bits: { int: w.bits }, block_size: { int: w.blockSize } },
          }),
        ]);
        packed.push({ name: t.info.name, as: `${MS_DOMAIN}.MatMulNBits (${w.bits}-bit, block ${w.blockSize})` });
      } else if (d.dq) {
        const w = toDequantizeLinear(q, d.dq);
        const qName = fresh(`${d.site.value}_quantized`);
        const sName = fresh(`${d.site.value}_scale`);
        const qTensor = tensorProto(qName, t.info.shape, d.dq.dataType, w.codes);
        const sTensor = tensorProto(sName, w.scaleShape, ONNX_FLOAT, float32Bytes(w.scales));
        const dqNode = nodeProto({
          opType: 'DequantizeLinear',
          inputs: [qName, sName],
          outputs: [d.site.value],
          name: fresh(`${d.site.value}_DequantizeLinear`),
          attributes: { axis: { int: w.axis }, block_size: { int: w.blockSize } },
        });
        if (d.site.kind === 'initializer') {
          tensorReplacement.set(d.site.at, null);
          graphAdditions.set(d.site.graph.at, [...(graphAdditions.get(d.site.graph.at) ?? []), qTensor, sTensor]);
          graphPrepends.set(d.site.graph.at, [...(graphPrepends.get(d.site.graph.at) ?? []), dqNode]);
        } else {
          nodeReplacement.set(d.site.node!.at, [
            nodeProto({ opType: 'Constant', inputs: [], outputs: [qName], attributes: { value: { tensor: qTensor } } }),
            nodeProto({ opType: 'Constant', inputs: [], outputs: [sName], attributes: { value: { tensor: sTensor } } }),
            dqNode,
          ]);
        }
        packed.push({ name: t.info.name, as: `DequantizeLinear (${d.dq.bits}-bit ${DQ_TYPE_NAMES[d.dq.dataType]}, block ${w.blockSize} along axis ${w.axis})` });
      } else {
        tensorReplacement.set(d.site.at, floatTensorLike(b, d.site.at, d.site.end, ctx.backend ? await ctx.backend.dequantize(q) : dequantize(q)));
      }
      ctx.onProgress?.(i + 1, decisions.length, t.info.name);
    }

    const rewriteGraph = (at: number, end: number): Chunks => {
      const c = new Chunks();
      // DequantizeLinear nodes of initializers read only initializers: they go first, before any use
      for (const n of graphPrepends.get(at) ?? []) c.append(lenField(GRAPH.node, n));
      for (const f of fields(b, at, end)) {
        if (f.wire === 2 && f.field === GRAPH.initializer && tensorReplacement.has(f.at)) {
          const r = tensorReplacement.get(f.at)!;
          if (r) c.append(lenField(GRAPH.initializer, r));
        } else if (f.wire === 2 && f.field === GRAPH.node) {
          const r = nodeReplacement.get(f.at);
          if (r) for (const n of r) c.append(lenField(GRAPH.node, n));
          else c.append(lenField(GRAPH.node, rewriteNode(f.at, f.end)));
        } else {
          c.push(b.subarray(f.start, f.end));
        }
      }
      for (const t of graphAdditions.get(at) ?? []) c.append(lenField(GRAPH.initializer, t));
      return c;
    };
    const rewriteNode = (at: number, end: number): Chunks => {
      const c = new Chunks();
      for (const f of fields(b, at, end)) {
        if (f.wire === 2 && f.field === NODE.attribute) c.append(lenField(NODE.attribute, rewriteAttribute(f.at, f.end)));
        else c.push(b.subarray(f.start, f.end));
      }
      return c;
    };
    const rewriteAttribute = (at: number, end: number): Chunks => {
      const c = new Chunks();
      for (const f of fields(b, at, end)) {
        if (f.wire === 2 && f.field === 5 && tensorReplacement.get(f.at)) c.append(lenField(5, tensorReplacement.get(f.at)!));
        else if (f.wire === 2 && (f.field === 6 || f.field === 11)) c.append(lenField(f.field, rewriteGraph(f.at, f.end)));
        else c.push(b.subarray(f.start, f.end));
      }
      return c;
    };
    const model = new Chunks();
    for (const f of fields(b, 0, b.length)) {
      if (f.wire === 2 && f.field === MODEL.graph) model.append(lenField(MODEL.graph, rewriteGraph(f.at, f.end)));
      else model.push(b.subarray(f.start, f.end));
    }
    if (packed.length > 0 && !scan.opsets.has(MS_DOMAIN)) model.append(lenField(MODEL.opsetImport, opsetProto(MS_DOMAIN, 1)));
    // the rewrite is many small pieces: hand the sink chunks of about 1 MiB
    let written = 0;
    let pending = new Chunks();
    const flush = async () => {
      if (pending.length === 0) return;
      const out = concat(pending);
      await sink.write(out);
      written += out.length;
      pending = new Chunks();
    };
    for (const part of model.parts) {
      if (part.length >= 1 << 20) {
        await flush();
        await sink.write(part);
        written += part.length;
      } else {
        pending.push(part);
        if (pending.length >= 1 << 20) await flush();
      }
    }
    await flush();
    return { kind: 'onnx', layout, bytesWritten: written, quantized, kept, ...(layout === 'packed' ? { packed } : {}) };
  },
};
