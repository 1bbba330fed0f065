// A tiny LLaMA-architecture GGUF with seeded random F32 weights, small enough for llama.cpp to load
// and evaluate in well under a second: the hyper-parameters llama.cpp requires, a "llama" (SPM)
// vocabulary of unique tokens including the 256 byte tokens, F32 norms, contiguous tensor data.
import { encodeGgufHeader, type GgufKv } from '../../src/model-io/gguf/encode.js';
import { rng } from './random.js';

export const TINY = Object.freeze({ embd: 64, ff: 128, layers: 2, heads: 4, vocab: 320, context: 128 });

export interface TinyTensor {
  readonly name: string;
  /** Outermost first, as microscale's readers report it. */
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** The tensors of the tiny model, seeded; `override` replaces data by name (same shape). */
export function tinyLlamaTensors(seed = 1): TinyTensor[] {
  const r = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const make = (name: string, shape: number[], scale: number, offset = 0): TinyTensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = offset + scale * normal();
    return { name, shape, data };
  };
  const { embd, ff, layers, vocab } = TINY;
  const t: TinyTensor[] = [make('token_embd.weight', [vocab, embd], 1), make('output_norm.weight', [embd], 0.1, 1), make('output.weight', [vocab, embd], 0.2)];
  for (let i = 0; i < layers; i++) {
    const b = `blk.${i}.`;
    t.push(
      make(`${b}attn_norm.weight`, [embd], 0.1, 1),
      make(`${b}attn_q.weight`, [embd, embd], 0.15),
      make(`${b}attn_k.weight`, [embd, embd], 0.15),
      make(`${b}attn_v.weight`, [embd, embd], 0.15),
      make(`${b}attn_output.weight`, [embd, embd], 0.15),
      make(`${b}ffn_norm.weight`, [embd], 0.1, 1),
      make(`${b}ffn_gate.weight`, [ff, embd], 0.15),
      make(`${b}ffn_up.weight`, [ff, embd], 0.15),
      make(`${b}ffn_down.weight`, [embd, ff], 0.1),
    );
  }
  return t;
}

function vocabulary(bytesDescending: boolean): { tokens: string[]; types: number[]; scores: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let i = 0; i < 256; i++) {
    const b = bytesDescending ? 255 - i : i;
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  const words = 'the of and to in is it that for on was with as by at be this from or an are not but had have his they you one all were her can there she which their we if'.split(' ');
  for (let i = 0; tokens.length < TINY.vocab; i++) {
    tokens.push(`▁${words[i % words.length]}${i >= words.length ? i : ''}`);
    types.push(1);
  }
  return { tokens, types, scores: tokens.map((_, i) => -i) };
}

/** A GGUF file holding `tensors` (F32) under the tiny model's metadata; `bytesDescending` gives
 * another tokenizer of the same size (byte b is token 258 − b instead of 3 + b). */
export function tinyLlamaGguf(tensors: readonly TinyTensor[] = tinyLlamaTensors(), bytesDescending = false): Uint8Array {
  const { embd, ff, layers, heads, context } = TINY;
  const v = vocabulary(bytesDescending);
  const u32 = (key: string, value: number): GgufKv => ({ key, value: { type: 'u32', value } });
  const kvs: GgufKv[] = [
    { key: 'general.architecture', value: { type: 'string', value: 'llama' } },
    { key: 'general.name', value: { type: 'string', value: 'tiny-random-llama' } },
    u32('general.file_type', 0),
    u32('llama.context_length', context),
    u32('llama.embedding_length', embd),
    u32('llama.block_count', layers),
    u32('llama.feed_forward_length', ff),
    u32('llama.attention.head_count', heads),
    u32('llama.attention.head_count_kv', heads),
    u32('llama.rope.dimension_count', embd / heads),
    { key: 'llama.attention.layer_norm_rms_epsilon', value: { type: 'f32', value: 1e-5 } },
    { key: 'tokenizer.ggml.model', value: { type: 'string', value: 'llama' } },
    { key: 'tokenizer.ggml.tokens', value: { type: 'array', elementType: 'string', values: v.tokens } },
    { key: 'tokenizer.ggml.scores', value: { type: 'array', elementType: 'f32', values: v.scores } },
    { key: 'tokenizer.ggml.token_type', value: { type: 'array', elementType: 'i32', values: v.types } },
    u32('tokenizer.ggml.bos_token_id', 1),
    u32('tokenizer.ggml.eos_token_id', 2),
    u32('tokenizer.ggml.unknown_token_id', 0),
  ];
  const layout = encodeGgufHeader(
    kvs,
    tensors.map((t) => ({ name: t.name, dims: t.shape.slice().reverse(), typeId: 0, byteLength: t.data.byteLength })),
    32,
  );
  const out = new Uint8Array(layout.fileSize);
  out.set(layout.header);
  tensors.forEach((t, i) => out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), layout.header.length + layout.offsets[i]!));
  return out;
}
