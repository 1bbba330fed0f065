import { describe, expect, it } from 'vitest';
import type { TensorInfo } from '../../../src/bdr-explorer/readers/types.js';
import { FormatError, OptionError } from '../../../src/index.js';
import { buildPlan, checkPlanMap } from '../../../src/model-io/plan.js';

const info = (name: string, shape: number[], dtype = 'f32', floating = true, readable = true): TensorInfo => ({
  name,
  shape,
  dtype,
  elements: shape.reduce((a, b) => a * b, 1),
  byteLength: 4 * shape.reduce((a, b) => a * b, 1),
  floating,
  readable,
});

const MODEL = [
  info('token_embd.weight', [320, 64]),
  info('blk.0.attn_norm.weight', [64]),
  info('blk.0.attn_q.weight', [64, 64]),
  info('blk.0.ffn_down.weight', [64, 128]),
  info('blk.0.odd.weight', [8, 40]),
  info('positions', [4, 32], 'i64', false),
  info('blk.0.ffn_up.weight', [128, 64], 'q4_0'),
  info('k_quant', [256, 256], 'q4_k', true, false),
];

const byName = (plan: ReturnType<typeof buildPlan>) => Object.fromEntries(plan.map((e) => [e.name, e]));

describe('buildPlan', () => {
  it('quantizes 2-D float tensors and keeps the rest, each with its reason', () => {
    const plan = byName(buildPlan(MODEL, { format: 'q4_0' }));
    expect(plan['token_embd.weight']).toEqual({ name: 'token_embd.weight', format: 'q4_0', options: { preset: 'ggml' } });
    expect(plan['blk.0.attn_q.weight']!.format).toBe('q4_0');
    expect(plan['blk.0.attn_norm.weight']).toMatchObject({ format: null, reason: '1-D (norm, bias or scale)' });
    expect(plan['blk.0.odd.weight']).toMatchObject({ format: null, reason: expect.stringContaining('rows of 40 elements are not whole 32-element q4_0 blocks') });
    expect(plan['positions']).toMatchObject({ format: null, reason: 'i64 holds integers, not weights' });
    expect(plan['blk.0.ffn_up.weight']).toMatchObject({ format: null, reason: expect.stringContaining('already quantized (q4_0)') });
    expect(plan['k_quant']).toMatchObject({ format: null, reason: expect.stringContaining('not decoded by microscale') });
  });

  it('keeps the source order and gives every tensor an entry', () => {
    expect(buildPlan(MODEL, { format: 'q8_0' }).map((e) => e.name)).toEqual(MODEL.map((t) => t.name));
  });

  it('applies --tensors, --exclude and --min-elements', () => {
    const plan = byName(buildPlan(MODEL, { format: 'q8_0', tensors: '^blk\\.', exclude: 'attn_q', minElements: 5000 }));
    expect(plan['token_embd.weight']!.reason).toBe('not matched by --tensors');
    expect(plan['blk.0.attn_q.weight']!.reason).toBe('matched by --exclude');
    expect(plan['blk.0.ffn_down.weight']!.format).toBe('q8_0');
    const small = byName(buildPlan(MODEL, { format: 'q8_0', minElements: 5000 }));
    expect(small['blk.0.attn_q.weight']!.reason).toBe('4096 elements, below --min-elements 5000');
  });

  it('takes formats per pattern from a plan, first match first, --format for the rest', () => {
    const plan = byName(buildPlan(MODEL, { format: 'q4_0', plan: { ffn_down: 'q8_0', 'attn_q': 'keep', embd: 'mxfp4' } }));
    expect(plan['blk.0.ffn_down.weight']!.format).toBe('q8_0');
    expect(plan['blk.0.attn_q.weight']).toMatchObject({ format: null, reason: '--plan pattern "attn_q" keeps it' });
    expect(plan['token_embd.weight']).toEqual({ name: 'token_embd.weight', format: 'mxfp4', options: {} });
    const only = byName(buildPlan(MODEL, { plan: { ffn_down: 'q5_1' } }));
    expect(only['blk.0.attn_q.weight']!.reason).toBe('no --plan pattern matches and no --format was given');
  });

  it('accepts GGUF dtype spellings and passes preset and block size', () => {
    expect(byName(buildPlan(MODEL, { format: 'f16' }))['blk.0.attn_q.weight']!.format).toBe('fp16');
    expect(byName(buildPlan(MODEL, { format: 'mxfp6_e2m3', blockSize: 16 }))['blk.0.attn_q.weight']!.options).toEqual({ blockSize: 16 });
    expect(byName(buildPlan(MODEL, { format: 'nvfp4', preset: 'torchao' }))['blk.0.attn_q.weight']!.options).toEqual({ preset: 'torchao' });
  });

  it('rejects bad input with errors that name the problem', () => {
    expect(() => buildPlan(MODEL, {})).toThrow(/--format.*--plan/);
    expect(() => buildPlan(MODEL, { format: 'q4_9' })).toThrow(FormatError);
    expect(() => buildPlan(MODEL, { format: 'q4_0', tensors: '(' })).toThrow(/--tensors "\(" is not a valid regular expression/);
    expect(() => buildPlan(MODEL, { format: 'q4_0', minElements: -1 })).toThrow(OptionError);
    expect(() => buildPlan(MODEL, { format: 'mxfp4', preset: 'ggml' })).toThrow(/preset "ggml"/);
  });
});

describe('checkPlanMap', () => {
  it('takes format names, "keep" and null', () => {
    expect(checkPlanMap({ a: 'q4_0', b: 'keep', c: null })).toEqual({ a: 'q4_0', b: null, c: null });
  });
  it('names the bad entry', () => {
    expect(() => checkPlanMap([])).toThrow(/JSON object mapping tensor-name patterns/);
    expect(() => checkPlanMap({ x: 4 })).toThrow(/pattern "x" maps to 4/);
    expect(() => checkPlanMap({ '[': 'q4_0' })).toThrow(/not a valid regular expression/);
    expect(() => checkPlanMap({ x: 'q9' })).toThrow(FormatError);
  });
});
