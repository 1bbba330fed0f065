// Peer implementations for bench/wasm.bench.mjs, each loaded only when installed:
// onnxruntime-node (MatMulNBits 4-bit block 32, and fp32 MatMul) from models built in memory,
// @tensorflow/tfjs-backend-wasm matMul, and @petamoriken/float16.
import protobuf from 'protobufjs/light.js';

async function optional(name) {
  try {
    return await import(name);
  } catch {
    return null;
  }
}

// The part of onnx.proto these two models use (field numbers from onnx/onnx.proto).
const one = (type, id) => ({ type, id });
const many = (type, id) => ({ rule: 'repeated', type, id });
const ONNX = protobuf.Root.fromJSON({
  nested: {
    ModelProto: { fields: { ir_version: one('int64', 1), producer_name: one('string', 2), graph: one('GraphProto', 7), opset_import: many('OperatorSetIdProto', 8) } },
    OperatorSetIdProto: { fields: { domain: one('string', 1), version: one('int64', 2) } },
    GraphProto: {
      fields: { node: many('NodeProto', 1), name: one('string', 2), initializer: many('TensorProto', 5), input: many('ValueInfoProto', 11), output: many('ValueInfoProto', 12) },
    },
    NodeProto: { fields: { input: many('string', 1), output: many('string', 2), name: one('string', 3), op_type: one('string', 4), attribute: many('AttributeProto', 5), domain: one('string', 7) } },
    AttributeProto: { fields: { name: one('string', 1), i: one('int64', 3), type: one('int32', 20) } },
    TensorProto: { fields: { dims: many('int64', 1), data_type: one('int32', 2), name: one('string', 8), raw_data: one('bytes', 9) } },
    ValueInfoProto: { fields: { name: one('string', 1), type: one('TypeProto', 2) } },
    TypeProto: { fields: { tensor_type: one('TensorTypeProto', 1) } },
    TensorTypeProto: { fields: { elem_type: one('int32', 1), shape: one('TensorShapeProto', 2) } },
    TensorShapeProto: { fields: { dim: many('Dimension', 1) } },
    Dimension: { fields: { dim_value: one('int64', 1) } },
  },
});
const FLOAT = 1;
const UINT8 = 2;
const INT = 2;

const valueInfo = (name, dims) => ({ name, type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => ({ dim_value: d })) } } } });
const tensor = (name, type, dims, bytes) => ({ name, data_type: type, dims, raw_data: bytes });
const bytesOf = (view) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

function encodeModel(graph, opsets) {
  const Model = ONNX.lookupType('ModelProto');
  return Model.encode(Model.fromObject({ ir_version: 9, producer_name: 'microscale-bench', graph, opset_import: opsets })).finish();
}

/** y = a·wᵀ with w [N, K] as MatMulNBits (4 bits, block 32, symmetric: zero point 8) codes and float scales. */
function matMulNBitsModel(M, N, K, packed, scales) {
  const graph = {
    name: 'gemv',
    node: [
      {
        op_type: 'MatMulNBits',
        domain: 'com.microsoft',
        input: ['A', 'B', 'scales'],
        output: ['Y'],
        attribute: [
          { name: 'K', i: K, type: INT },
          { name: 'N', i: N, type: INT },
          { name: 'bits', i: 4, type: INT },
          { name: 'block_size', i: 32, type: INT },
        ],
      },
    ],
    initializer: [tensor('B', UINT8, [N, K / 32, 16], packed), tensor('scales', FLOAT, [N * (K / 32)], bytesOf(scales))],
    input: [valueInfo('A', [M, K])],
    output: [valueInfo('Y', [M, N])],
  };
  return encodeModel(graph, [
    { domain: '', version: 21 },
    { domain: 'com.microsoft', version: 1 },
  ]);
}

/** y = a·b with b [K, N] fp32 (the transposed weights). */
function matMulModel(M, N, K, bKN) {
  const graph = {
    name: 'gemm',
    node: [{ op_type: 'MatMul', input: ['A', 'B'], output: ['Y'] }],
    initializer: [tensor('B', FLOAT, [K, N], bytesOf(bKN))],
    input: [valueInfo('A', [M, K])],
    output: [valueInfo('Y', [M, N])],
  };
  return encodeModel(graph, [{ domain: '', version: 21 }]);
}

/** 4-bit symmetric block-32 codes of w [N, K] in MatMulNBits' layout (low nibble first), with float scales. */
function packNBits(w, N, K) {
  const blocks = K / 32;
  const packed = new Uint8Array(N * blocks * 16);
  const scales = new Float32Array(N * blocks);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(w[n * K + b * 32 + j]));
      const s = amax / 7 || 1;
      scales[n * blocks + b] = s;
      for (let j = 0; j < 32; j += 2) {
        const q = (v) => Math.max(0, Math.min(15, Math.round(v / s) + 8));
        packed[(n * blocks + b) * 16 + j / 2] = q(w[n * K + b * 32 + j]) | (q(w[n * K + b * 32 + j + 1]) << 4);
      }
    }
  }
  return { packed, scales };
}

/** onnxruntime-node sessions, or null when it is not installed. */
export async function onnxPeer() {
  const ort = await optional('onnxruntime-node');
  if (!ort) return null;
  const session = (bytes, threads) => ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  return {
    version: ort.env?.versions?.node ?? 'onnxruntime-node',
    /** A runner of y = a·wᵀ with MatMulNBits weights made from w [N, K]. */
    async matMulNBits(w, N, K, M, threads) {
      const { packed, scales } = packNBits(w, N, K);
      const s = await session(matMulNBitsModel(M, N, K, packed, scales), threads);
      return async (a) => (await s.run({ A: new ort.Tensor('float32', a, [M, K]) })).Y.data;
    },
    /** A runner of y = a·wᵀ with fp32 MatMul (w stored transposed as the initializer). */
    async matMul(w, N, K, M, threads) {
      const bKN = new Float32Array(K * N);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) bKN[k * N + n] = w[n * K + k];
      const s = await session(matMulModel(M, N, K, bKN), threads);
      return async (a) => (await s.run({ A: new ort.Tensor('float32', a, [M, K]) })).Y.data;
    },
  };
}

/** tfjs with the WASM backend (one thread), or null when it is not installed. */
export async function tfjsWasmPeer() {
  const tf = await optional('@tensorflow/tfjs-core');
  const wasm = await optional('@tensorflow/tfjs-backend-wasm');
  if (!tf || !wasm) return null;
  wasm.setThreadsCount?.(1);
  await tf.setBackend('wasm');
  await tf.ready();
  return {
    /** A runner of y = a·wᵀ with w as a dense float32 tensor. */
    matMul(w, N, K, M) {
      const wt = tf.tensor2d(w, [N, K]);
      return async (a) => {
        const at = tf.tensor2d(a, [M, K]);
        const y = tf.matMul(at, wt, false, true);
        const data = await y.data();
        at.dispose();
        y.dispose();
        return data;
      };
    },
  };
}

/** @petamoriken/float16, or null. */
export function float16Peer() {
  return optional('@petamoriken/float16');
}
