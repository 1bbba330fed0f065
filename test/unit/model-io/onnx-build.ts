// Small ONNX models for the writer tests, encoded with the writer's own wire helpers (field numbers
// from onnx.proto): graph inputs/outputs with types, initializers, Constant nodes and If subgraphs.
import { GRAPH, MODEL, nodeProto, opsetProto, tensorProto, type NodeSpec } from '../../../src/model-io/onnx/proto.js';
import { Chunks, concat, intField, lenField, stringField } from '../../../src/model-io/onnx/wire.js';

export const FLOAT = 1;
export const FLOAT16 = 10;
export const BOOL = 9;

/** ValueInfoProto with a tensor type; a string dim is symbolic. */
export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): Chunks {
  const shape = new Chunks();
  for (const d of dims) shape.append(lenField(1, typeof d === 'number' ? intField(1, d) : stringField(2, d)));
  const tensorType = intField(1, elemType).append(lenField(2, shape));
  return stringField(1, name).append(lenField(2, lenField(1, tensorType)));
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  initializers?: { name: string; dims: number[]; dataType?: number; raw: Uint8Array }[];
  inputs?: [string, number, (number | string)[]][];
  outputs: [string, number, (number | string)[]][];
}

export function graph(g: GraphSpec): Chunks {
  const c = new Chunks();
  for (const n of g.nodes) c.append(lenField(GRAPH.node, nodeProto(n)));
  c.append(stringField(2, g.name));
  for (const t of g.initializers ?? []) c.append(lenField(GRAPH.initializer, tensorProto(t.name, t.dims, t.dataType ?? FLOAT, t.raw)));
  for (const [n, t, d] of g.inputs ?? []) c.append(lenField(GRAPH.input, valueInfo(n, t, d)));
  for (const [n, t, d] of g.outputs) c.append(lenField(GRAPH.output, valueInfo(n, t, d)));
  return c;
}

/** A ModelProto (IR 8, default opset 17) around `g`. */
export function model(g: GraphSpec, opset = 17): Uint8Array {
  const m = intField(1, 8).append(stringField(2, 'microscale-test')).append(lenField(MODEL.graph, graph(g))).append(lenField(MODEL.opsetImport, opsetProto('', opset)));
  return concat(m);
}

export const f32raw = (v: Float32Array) => new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));

/** A Constant node holding a float32 tensor. */
export function constant(output: string, dims: number[], values: Float32Array): NodeSpec {
  return { opType: 'Constant', inputs: [], outputs: [output], attributes: { value: { tensor: tensorProto('', dims, FLOAT, f32raw(values)) } } };
}
