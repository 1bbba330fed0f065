// Literal reproducers of issue #10's conformance gaps (found by differential runs against ggml and
// the microxcaling emulator). Every backend must give exactly these bits; the expected values come
// from the references themselves, not from microscale.
import type { QuantizeOptions } from '../../src/index.js';

export interface FakeQuantizeCase {
  readonly label: string;
  readonly format: string;
  readonly options: QuantizeOptions;
  readonly input: readonly number[];
  /** float32 bit patterns the reference gives (NaN: any NaN). */
  readonly want: readonly number[];
}

/** microxcaling's float32 artefacts (MICROXCALING.md §4.1, §4.2), as the emulator outputs them. */
export const MICROXCALING_ARTEFACTS: readonly FakeQuantizeCase[] = [
  { label: 'shared exponent: float32 log2 rounds 0x62ffffff up to 2^71', format: 'mxfp8_e4m3', options: { preset: 'microxcaling', rounding: 'rna', blockSize: 32 }, input: [0x62ffffff], want: [0x63000000] },
  { label: 'block max within 44 ulps of FLT_MAX: an integer block becomes NaN', format: 'mxint8', options: { preset: 'microxcaling' }, input: [0x7f7fffff], want: [0x7fc00000] },
  { label: 'element exponent: float32 log2 of 0x3f7fffff gives 0 (rtz step twice too coarse)', format: 'mxfp8_e4m3', options: { preset: 'microxcaling', rounding: 'rtz' }, input: [0x3f800000, 0x3f7fffff], want: [0x3f800000, 0x3f600000] },
  { label: '⌊|t| + 0.5⌋ in float32: t = 0.5 − 2^−25 rounds up', format: 'mxfp4', options: { preset: 'microxcaling', rounding: 'rna' }, input: [0x40800000, 0x3e7fffff], want: [0x40800000, 0x3f000000] },
];

/** ggml's quantizer on blocks where it differed: −0 in an all-zero MXFP4 block is written as +0. */
export const GGML_ZERO_BLOCK = { format: 'ggml_mxfp4', input: [-0, ...new Array<number>(31).fill(0)], wantBlock: new Array<number>(17).fill(0) };

/** Blocks as llama.cpp's dequantizers read them: bytes and the float32 bits ggml gives. */
export const GGML_DECODE_CASES: readonly { label: string; format: string; bytes: readonly number[]; want: Readonly<Record<number, number>> }[] = [
  // sub-blocks scaled by bytes 0xFF (ggml ignores bit 7 except that 0x7F is 0: 480), 0x80 (0), 0x7F (0)
  // and 0x38 (1); element 0 holds code 1 (0.5), element 8 code 0
  { label: 'ggml_nvfp4 UE4M3 byte 0xFF reads as 480', format: 'ggml_nvfp4', bytes: [0xff, 0x80, 0x7f, 0x38, 0x01, ...new Array<number>(31).fill(0x11)], want: { 0: 0x43700000, 1: 0x43700000, 8: 0, 16: 0, 32: 0, 48: 0x3f000000 } },
  // scale 2^1 (byte 0x80); code 8 (−0 in E2M1) in elements 0, 1 and 16, code 1 (0.5 · 2) in 17
  { label: 'ggml_mxfp4 E2M1 code 8 reads as +0', format: 'ggml_mxfp4', bytes: [0x80, 0x88, ...new Array<number>(15).fill(0x18)], want: { 0: 0, 16: 0, 1: 0, 17: 0x3f800000 } },
  // E8M0 0xFF: ggml_e8m0_to_fp32_half(255) = 2^127, so codes 1, 2, 9 give 2^127, +Inf, −2^127
  { label: 'ggml_mxfp4 E8M0 byte 0xFF reads as 2^128, not NaN', format: 'ggml_mxfp4', bytes: [0xff, 0x10, 0x92, ...new Array<number>(14).fill(0x08)], want: { 0: 0, 16: 0x7f000000, 1: 0x7f800000, 17: 0xff000000, 2: 0 } },
  { label: 'ggml_nvfp4 E2M1 code 8 reads as +0', format: 'ggml_nvfp4', bytes: [0x38, 0x38, 0x38, 0x38, 0x88, ...new Array<number>(31).fill(0x88)], want: { 0: 0, 8: 0, 63: 0 } },
];
