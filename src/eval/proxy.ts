// The tensor-level proxy beside each model-level result: bits per element and the sweep's QSNR
// aggregates over the same tensors the plan quantizes, each tensor quantized once per format.
import type { ModelReader, TensorInfo } from '../bdr-explorer/readers/types.js';
import { measure, type TensorMetrics } from '../bdr-explorer/metrics.js';
import { summarize, type SweepRow } from '../bdr-explorer/sweep.js';
import type { Backend } from '../kernels/backend.js';
import { referenceBackend } from '../kernels/reference.js';
import { storedBits, type Assignment, type Candidate } from './runner.js';

/** Bits and tensor QSNR of one plan over the candidate tensors (kept ones at their stored bits). */
export interface PlanProxy {
  /** Bits per element over every candidate tensor, kept ones counted at their stored width. */
  readonly bitsPerElement: number;
  /** Tensors and elements the plan quantizes. */
  readonly quantizedTensors: number;
  readonly quantizedElements: number;
  /** The sweep's element-weighted mean and pooled QSNR over the quantized tensors (Infinity when none). */
  readonly tensorQsnrDb: number;
  readonly pooledTensorQsnrDb: number;
}

/** Quantizes each (tensor, format) once and keeps only its metrics. */
export class TensorProxy {
  private readonly cache = new Map<string, TensorMetrics>();
  constructor(
    private readonly reader: ModelReader,
    private readonly candidates: readonly Candidate[],
    private readonly backend: Backend = referenceBackend,
  ) {}

  /** Metrics of `tensor` in candidate `format` (quantized with the plan entry's options). */
  async metrics(tensor: TensorInfo, format: string): Promise<TensorMetrics> {
    const key = `${format}\u0000${tensor.name}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const entry = this.candidates.find((c) => c.format === format)?.quantized.get(tensor.name);
    if (!entry || entry.format === null) throw new Error(`internal: ${format} does not quantize ${tensor.name}`);
    const x = await this.reader.read(tensor.name);
    const q = await this.backend.quantize(x, entry.format, { ...entry.options, shape: tensor.shape });
    const m = measure(x, await this.backend.dequantize(q), q);
    this.cache.set(key, m);
    return m;
  }

  /** The proxy of an assignment over `tensors` (the candidate tensors). */
  async plan(tensors: readonly TensorInfo[], assignment: Assignment, label: string): Promise<PlanProxy> {
    const rows: SweepRow[] = [];
    let bits = 0;
    let elements = 0;
    for (const t of tensors) {
      elements += t.elements;
      const f = assignment.get(t.name);
      if (f === undefined) {
        bits += storedBits(t) * t.elements;
        continue;
      }
      const m = await this.metrics(t, f);
      bits += m.bitsPerElement * t.elements;
      rows.push({ tensor: t.name, format: label, formatName: f, shape: t.shape, options: {}, ...m });
    }
    const s = rows.length > 0 ? summarize(rows)[0]! : null;
    return {
      bitsPerElement: elements > 0 ? bits / elements : 0,
      quantizedTensors: rows.length,
      quantizedElements: s?.elements ?? 0,
      tensorQsnrDb: s?.meanQsnrDb ?? Infinity,
      pooledTensorQsnrDb: s?.pooledQsnrDb ?? Infinity,
    };
  }
}
