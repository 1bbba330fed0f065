// The subset of onnx.proto the readers need, as a protobufjs JSON schema (field numbers from
// onnx/onnx.proto). The reader walks the graph structure itself, lazily; protobufjs decodes one
// TensorProto at a time when its data is not in raw_data.
import protobuf from 'protobufjs/light.js';

const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const single = (type: string, id: number) => ({ type, id });

/** ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto and StringStringEntryProto. */
export const ONNX_SCHEMA = {
  nested: {
    onnx: {
      nested: {
        ModelProto: { fields: { ir_version: single('int64', 1), producer_name: single('string', 2), graph: single('GraphProto', 7) } },
        GraphProto: {
          fields: {
            node: repeated('NodeProto', 1),
            name: single('string', 2),
            initializer: repeated('TensorProto', 5),
          },
        },
        NodeProto: {
          fields: {
            input: repeated('string', 1),
            output: repeated('string', 2),
            name: single('string', 3),
            op_type: single('string', 4),
            attribute: repeated('AttributeProto', 5),
            domain: single('string', 7),
          },
        },
        AttributeProto: {
          fields: {
            name: single('string', 1),
            t: single('TensorProto', 5),
            g: single('GraphProto', 6),
            tensors: repeated('TensorProto', 10),
            graphs: repeated('GraphProto', 11),
            type: single('int32', 20),
          },
        },
        TensorProto: {
          fields: {
            dims: repeated('int64', 1),
            data_type: single('int32', 2),
            float_data: repeated('float', 4),
            int32_data: repeated('int32', 5),
            string_data: repeated('bytes', 6),
            int64_data: repeated('int64', 7),
            name: single('string', 8),
            raw_data: single('bytes', 9),
            double_data: repeated('double', 10),
            uint64_data: repeated('uint64', 11),
            external_data: repeated('StringStringEntryProto', 13),
            data_location: single('int32', 14),
          },
        },
        StringStringEntryProto: { fields: { key: single('string', 1), value: single('string', 2) } },
      },
    },
  },
};

let root: protobuf.Root | undefined;

/** The protobufjs type of an ONNX message in the subset above. */
export function onnxType(name: 'ModelProto' | 'GraphProto' | 'NodeProto' | 'AttributeProto' | 'TensorProto'): protobuf.Type {
  root ??= protobuf.Root.fromJSON(ONNX_SCHEMA);
  return root.lookupType(`onnx.${name}`);
}

/** A protobufjs 64-bit integer (a number, or a Long when the `long` package is loaded) as a number. */
export function longToNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) {
    const { low, high, unsigned } = v as { low: number; high: number; unsigned?: boolean };
    return (unsigned ? high >>> 0 : high | 0) * 4294967296 + (low >>> 0);
  }
  return Number(v);
}
