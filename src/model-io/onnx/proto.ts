// Encoders for the ONNX messages the writer adds (TensorProto, NodeProto, AttributeProto,
// OperatorSetIdProto), with field numbers from onnx/onnx.proto.
import { Chunks, floatField, intField, lenField, packedInts, stringField } from './wire.js';

/** TensorProto.DataType values the writer emits. */
export const ONNX_FLOAT = 1;
export const ONNX_UINT8 = 2;

export const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9 } as const;
export const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
export const ATTRIBUTE = { name: 1, f: 2, i: 3, t: 5, g: 6, ints: 8, graphs: 11, type: 20 } as const;
export const GRAPH = { node: 1, initializer: 5, input: 11, output: 12 } as const;
export const MODEL = { graph: 7, opsetImport: 8 } as const;
/** AttributeProto.AttributeType. */
const ATTR_TYPE = { FLOAT: 1, INT: 2, TENSOR: 4, GRAPH: 5, INTS: 7 } as const;

export function tensorProto(name: string, dims: readonly number[], dataType: number, raw: Uint8Array): Chunks {
  const c = new Chunks();
  if (dims.length > 0) c.append(packedInts(TENSOR.dims, dims));
  return c.append(intField(TENSOR.dataType, dataType)).append(stringField(TENSOR.name, name)).append(lenField(TENSOR.rawData, raw));
}

export type AttributeValue = { int: number } | { float: number } | { ints: readonly number[] } | { tensor: Chunks } | { graph: Chunks };

export function attribute(name: string, v: AttributeValue): Chunks {
  const c = stringField(ATTRIBUTE.name, name);
  if ('int' in v) return c.append(intField(ATTRIBUTE.i, v.int)).append(intField(ATTRIBUTE.type, ATTR_TYPE.INT));
  if ('float' in v) return c.append(floatField(ATTRIBUTE.f, v.float)).append(intField(ATTRIBUTE.type, ATTR_TYPE.FLOAT));
  if ('ints' in v) return c.append(packedInts(ATTRIBUTE.ints, v.ints)).append(intField(ATTRIBUTE.type, ATTR_TYPE.INTS));
  if ('graph' in v) return c.append(lenField(ATTRIBUTE.g, v.graph)).append(intField(ATTRIBUTE.type, ATTR_TYPE.GRAPH));
  return c.append(lenField(ATTRIBUTE.t, v.tensor)).append(intField(ATTRIBUTE.type, ATTR_TYPE.TENSOR));
}

export interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly domain?: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

export function nodeProto(n: NodeSpec): Chunks {
  const c = new Chunks();
  for (const i of n.inputs) c.append(stringField(NODE.input, i));
  for (const o of n.outputs) c.append(stringField(NODE.output, o));
  if (n.name) c.append(stringField(NODE.name, n.name));
  c.append(stringField(NODE.opType, n.opType));
  for (const [k, v] of Object.entries(n.attributes ?? {})) c.append(lenField(NODE.attribute, attribute(k, v)));
  if (n.domain) c.append(stringField(NODE.domain, n.domain));
  return c;
}

export function opsetProto(domain: string, version: number): Chunks {
  return stringField(1, domain).append(intField(2, version));
}
