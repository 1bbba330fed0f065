// Cases the fuzzer found, replayed exactly (seed file + mutations), with the error each must give;
// and checks that the harness's own watchdogs fire.
import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/bdr-explorer/readers/index.js';
import { fixtureBytes } from '../unit/readers/helpers.js';
import { AllocationWatch, applyAll, exerciseReader, shardBytes, type Mutation } from './harness.js';
import { WRITER_TARGETS } from './writers.js';

/** The writer target's refusal of its seed under `list` (a finding throws). */
async function writerRejection(label: string, list: Mutation[]): Promise<Error> {
  const target = WRITER_TARGETS.find((t) => t.label === label)!;
  const outcome = await target.run(applyAll(target.original!, list));
  if (outcome.ok) throw new Error(`${label}: the mutated file was written`);
  return outcome.error;
}

async function rejection(seed: string, list: Mutation[]): Promise<ModelFileError> {
  const outcome = await exerciseReader(applyAll(fixtureBytes(seed), list), seed, shardBytes());
  if (outcome.ok) throw new Error(`${seed}: the mutated file was accepted`);
  return outcome.error;
}

describe('fuzzer findings (READER_FUZZ_RUNS=100000, seed 24311)', () => {
  it('graph.onnx, flip at 994: dims multiplying past 2^53 on an external-data tensor are rejected, naming it', async () => {
    const e = await rejection('graph.onnx', [{ kind: 'flip', at: 994, mask: 6 }]);
    expect(e.problem).toBe('malformed');
    // the flip turns the name length 10 into 12: the name "w_external" swallows the next two bytes
    // and the fields after it are misread, giving dims whose product passes 2^53
    expect(e.tensor).toMatch(/^w_externalj/);
    expect(e.message).toMatch(/^graph\.onnx \(tensor "w_externalj\\x17"\): dims \[\d+(, \d+)*\] multiply to more than 2\^53 − 1 elements/);
  });

  it('model.json, a control character in a shard path: the error starts with model.json and names the manifest entry', async () => {
    const e = await rejection('model.json', [
      { kind: 'insert', at: 185, bytes: [127, 100, 123] },
      { kind: 'huge', at: 52, width: 2, value: 11800547600648353748n },
    ]);
    expect(e.file).toBe('model.json');
    expect(e.problem).toBe('not-found');
    expect(e.message).toMatch(/^model\.json: weight shard ".*" \(weightsManifest\[\d+\]\.paths\[\d+\]\) cannot be opened: .*no such shard/);
  });

  it('tfjs: a shard the resolver cannot find is reported against model.json', async () => {
    const shards = shardBytes();
    delete shards['group1-shard2of2.bin'];
    const outcome = await exerciseReader(fixtureBytes('model.json'), 'model.json', shards);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.message).toBe('model.json: weight shard "group1-shard2of2.bin" (weightsManifest[0].paths[1]) cannot be opened: group1-shard2of2.bin: no such shard; shards must lie next to model.json');
  });
});

describe('writer fuzzer findings (READER_FUZZ_RUNS=100000, seed 24313)', () => {
  it('weights.gguf → .gguf: a tensor name holding a newline is escaped in the error, which stays one line', async () => {
    const e = await writerRejection('write .gguf llama.cpp from weights.gguf', [
      { kind: 'flip', at: 85, mask: 126 },
      { kind: 'huge', at: 3238, width: 2, value: 9223372036854775807n },
      { kind: 'number', index: 183, text: '"x"' },
    ]);
    expect(e.constructor.name).toBe('EncodingError');
    expect(e.message).toBe('tensor "blk.0.at\\x0an_q.weight" block 4 (row 2, elements 0…31): the FP16 scale is not finite (the block spans more than FP16 can hold), which llama.cpp rejects; scale the weights down or keep this tensor in F32/F16');
  });
});

describe('writer fuzzer findings, round trip (READER_FUZZ_RUNS=100000, seed 24313)', () => {
  // The mutations turn "blk.0.ffn_down.weight" into "blk.0\nffn_down.weight": the layouts' parts
  // (`…_packed`, `…_blocks`) were written, but readQuantizedSafetensors matched part names with a
  // `.` that skips newlines and read the tensor back as plain parts, not as the quantized tensor.
  const list: Mutation[] = [
    { kind: 'number', index: 133, text: '0.5' },
    { kind: 'flip', at: 200, mask: 36 },
  ];
  for (const layout of ['compressed-tensors', 'gpt-oss']) {
    it(`weights.gguf → .safetensors ${layout}: a tensor name holding a newline reads back quantized`, async () => {
      const target = WRITER_TARGETS.find((t) => t.label === `write .safetensors ${layout} from weights.gguf`)!;
      // the target itself checks the round trip (a mismatch throws); the file must be written
      const outcome = await target.run(applyAll(target.original!, list));
      expect(outcome.ok).toBe(true);
    });
  }
});

describe('writer fuzzer findings, ONNX (READER_FUZZ_RUNS=100000, seed 24313)', () => {
  it('weights.onnx → .onnx fake-quant, flip at 3454: a second ModelProto.graph field is refused clearly, not as an internal error', async () => {
    // the flip turns the opset_import field's tag (8) into graph's (7): the reader keeps the last
    // graph (no weights), the writer scanned the first (7 weights)
    const e = await writerRejection('write .onnx fake-quant from weights.onnx', [{ kind: 'flip', at: 3454, mask: 120 }]);
    expect(e.constructor.name).toBe('OptionError');
    expect(e.message).toBe('weights.onnx is not a well-formed ONNX model (the ModelProto has 2 graph fields where it holds one; the file is corrupt)');
  });
});

describe('the allocation watch', () => {
  it('blames a step that allocates ArrayBuffers beyond the bytes given', () => {
    const watch = new AllocationWatch(1000, false);
    const big = new Uint8Array(watch.externalBound + (8 << 20)).fill(1);
    expect(() => watch.step('a step')).toThrow(/a step: \d+ bytes of ArrayBuffers allocated for 1000 bytes of files/);
    expect(big[0]).toBe(1);
  });

  it('does not count the results a step returns', () => {
    const watch = new AllocationWatch(1000, false);
    const values = new Float32Array(watch.externalBound).fill(1);
    expect(() => watch.step('a read', values.byteLength)).not.toThrow();
  });

  it('blames a step that grows the JS heap beyond the bytes given', () => {
    const watch = new AllocationWatch(1000, false);
    const many = Array.from({ length: Math.ceil(watch.heapBound / 8) + (4 << 20) }, (_, i) => i + 0.5);
    expect(() => watch.step('a step')).toThrow(/the JS heap grew by \d+ bytes/);
    expect(many.length).toBeGreaterThan(0);
  });
});
