// Shared pieces of the writer tests: an in-memory sink, a safetensors source built from arrays, and
// a run of check + write through the writer contract.
import { bytesSource } from '../../../src/bdr-explorer/readers/source.js';
import { openModel } from '../../../src/bdr-explorer/readers/open.js';
import type { ByteSink, ModelWriter, TensorPlanEntry, WriteSummary } from '../../../src/model-io/types.js';
import type { QuantizeOptions } from '../../../src/formats/options.js';
import { encodeSafetensorsHeader } from '../../../src/model-io/safetensors/file.js';
import { rng } from '../../helpers/random.js';

/** Collects every chunk written. */
export function memorySink(): ByteSink & { bytes(): Uint8Array } {
  const chunks: Uint8Array[] = [];
  return {
    write(chunk) {
      chunks.push(chunk.slice());
    },
    bytes() {
      const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      return out;
    },
  };
}

export interface SourceTensor {
  name: string;
  shape: number[];
  /** float32 values (written F32) or raw bytes with their dtype. */
  values?: Float32Array;
  raw?: { dtype: string; bytes: Uint8Array };
}

/** A safetensors file holding `tensors`. */
export function safetensorsFile(tensors: readonly SourceTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const parts = tensors.map((t) => (t.values ? { dtype: 'F32', bytes: new Uint8Array(t.values.buffer.slice(0)) } : t.raw!));
  const header = encodeSafetensorsHeader(
    tensors.map((t, i) => ({ name: t.name, dtype: parts[i]!.dtype, shape: t.shape, byteLength: parts[i]!.bytes.length })),
    metadata,
  );
  const out = new Uint8Array(header.length + parts.reduce((a, p) => a + p.bytes.length, 0));
  out.set(header);
  let at = header.length;
  for (const p of parts) {
    out.set(p.bytes, at);
    at += p.bytes.length;
  }
  return out;
}

/** Weight-like values: rows of different magnitude, a few outliers. */
export function weights(shape: readonly number[], seed: number): Float32Array {
  const next = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const row = shape[shape.length - 1] || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const rowScale = 2 ** (((Math.floor(i / row) * 7) % 9) - 4);
    out[i] = (next() * 2 - 1) * rowScale * (next() < 0.02 ? 8 : 1);
  }
  return out;
}

export type PlanRule = (name: string, shape: readonly number[]) => { format: string; options?: QuantizeOptions } | null;

/** A plan for every tensor of `bytes`: the rule's format, or keep. */
export async function planFor(bytes: Uint8Array, rule: PlanRule, name = 'model.safetensors'): Promise<TensorPlanEntry[]> {
  const reader = await openModel(bytes, { name });
  return reader.tensors().map((t) => {
    const r = t.floating && t.readable ? rule(t.name, t.shape) : null;
    return r ? { name: t.name, format: r.format, options: r.options ?? {} } : { name: t.name, format: null, options: {}, reason: 'kept by the test plan' };
  });
}

/** check, then write into memory, as the quantize command does. */
export async function runWriter(
  writer: ModelWriter,
  bytes: Uint8Array,
  plan: readonly TensorPlanEntry[],
  layout?: string,
  name = 'model.safetensors',
): Promise<{ out: Uint8Array; summary: WriteSummary; checked: readonly TensorPlanEntry[] }> {
  const source = bytesSource(bytes, name);
  const reader = await openModel(source);
  const ctx = { reader, source, plan, layout };
  const checked = await writer.check(ctx);
  const sink = memorySink();
  const summary = await writer.write(ctx, sink);
  const out = sink.bytes();
  return { out, summary, checked };
}
