#!/usr/bin/env python3
"""Our independent numpy model of the formats in docs/specification.md, for QSNR agreement tests.

It shares no code with src/: every format is written here from the specification's formulas,
vectorised over blocks. The ggml quantisers follow ggml's float32 arithmetic.

Usage: qsnr_oracle.py FILE.f32 [FILE.f32 ...]  ->  JSON {file: {label: qsnr_db}}
       qsnr_oracle.py --labels                 ->  JSON [label, ...]
"""
import json
import sys

import numpy as np


def qsnr_db(x, y):
    """-10·log10(Σ(x−y)² / Σx²) in float64; +inf for an exact match."""
    noise = float(np.sum(np.square(x - y)))
    signal = float(np.sum(np.square(x)))
    return float("inf") if noise == 0.0 else -10.0 * np.log10(noise / signal)


def exponent_of(a):
    """⌊log₂ a⌋ for a > 0, exact (frexp gives a = f·2^e with f in [0.5, 1)); 0 where a == 0."""
    _, e = np.frexp(a)
    return np.where(a > 0, e - 1, 0).astype(np.int64)


# ------------------------------------------------------------------ scalar element grids

class FloatElement:
    """Sign + exp_bits + man_bits minifloat with subnormals, saturating at `largest`."""

    def __init__(self, exp_bits, man_bits, bias, largest):
        self.man_bits = man_bits
        self.min_exp = 1 - bias  # exponent of the smallest normal; subnormals share its step
        self.largest = largest
        self.top_pow2 = int(exponent_of(np.array([largest]))[0])

    def round(self, v):
        mag = np.abs(v)
        e = np.maximum(exponent_of(mag), self.min_exp)
        step = np.ldexp(1.0, e - self.man_bits)
        r = np.minimum(np.rint(mag / step) * step, self.largest)  # np.rint: ties to even
        return np.copysign(r, v)


class FixedElement:
    """Two's-complement int8 read as a Q1.6 fixed-point number, symmetric range ±127."""

    man_bits = 7  # width used by the 'even' scale rule
    top_pow2 = 0
    largest = 127 / 64

    def round(self, v):
        return np.clip(np.rint(v * 64.0), -127.0, 127.0) / 64.0


E4M3 = FloatElement(4, 3, 7, 448.0)
E5M2 = FloatElement(5, 2, 15, 57344.0)
E3M2 = FloatElement(3, 2, 3, 28.0)
E2M3 = FloatElement(2, 3, 1, 7.5)
E2M1 = FloatElement(2, 1, 1, 6.0)
INT8_Q16 = FixedElement()


# ------------------------------------------------------------------ OCP MX (one E8M0 scale per 32)

def scale_exponent(amax, el, rule):
    """Unbiased E8M0 exponent of each block's scale under one of the four scale rules."""
    a = np.where(amax > 0, amax, 1.0)
    e = exponent_of(a)
    frac = a / np.ldexp(1.0, e)  # mantissa in [1, 2)
    if rule == "floor":
        s = e - el.top_pow2
    elif rule == "ceil":
        s = e + (frac > 1.0) - el.top_pow2
    elif rule == "even":
        # amax rounded half-up to the element's mantissa width before taking the floor
        s = e + (frac >= 2.0 - 2.0 ** -(el.man_bits + 1)) - el.top_pow2
    elif rule == "rceil":
        d = a / el.largest
        de = exponent_of(d)
        s = de + (d > np.ldexp(1.0, de))
    else:
        raise ValueError(rule)
    return np.maximum(np.where(amax > 0, s, -127), -127)


def ocp_mx(x, el, rule="floor", k=32):
    blocks = x.reshape(-1, k)
    amax = np.abs(blocks).max(axis=1, keepdims=True)
    scale = np.ldexp(1.0, scale_exponent(amax, el, rule))
    return (el.round(blocks / scale) * scale).reshape(x.shape)


# ------------------------------------------------------------------ BDR: MSFP and MX9/MX6/MX4

def bdr(x, m, k1=16, k2=2, d2=1):
    """Sign + m-bit magnitude, 8-bit shared exponent per k1, d2-bit shift per k2 (d2 = 0: MSFP)."""
    blocks = np.abs(x.reshape(-1, k1))
    amax = blocks.max(axis=1, keepdims=True)
    shared = np.where(amax > 0, exponent_of(amax), -127)
    if d2:
        pairs = blocks.reshape(blocks.shape[0], k1 // k2, k2).max(axis=2)
        limit = (1 << d2) - 1
        shift = np.where(pairs > 0, np.minimum(shared - exponent_of(pairs), limit), limit)
        shift = np.repeat(shift, k2, axis=1)
    else:
        shift = np.zeros_like(blocks, dtype=np.int64)
    step = np.ldexp(1.0, shared - shift + 1 - m)
    mags = np.minimum(np.rint(blocks / step), (1 << m) - 1) * step
    return np.copysign(mags.reshape(x.shape), x)


# ------------------------------------------------------------------ software FP32 scales

def int8_scaled(x, row=None):
    rows = x.reshape(-1, row) if row else x.reshape(1, -1)
    s = np.abs(rows).max(axis=1, keepdims=True) / 127.0
    return (np.clip(np.rint(rows / s), -127, 127) * s).reshape(x.shape)


def fp8_tensor(x, el):
    s = np.abs(x).max() / el.largest
    return el.round(x / s) * s


def nvfp4(x, k=16):
    """E2M1 in blocks of 16, E4M3 block scale (clamped to [2⁻⁹, 448]) times an FP32 tensor scale."""
    tensor = np.abs(x).max() / (6.0 * 448.0)
    blocks = x.reshape(-1, k)
    amax = np.abs(blocks).max(axis=1, keepdims=True)
    block = E4M3.round(np.clip(amax / 6.0 / tensor, 2.0 ** -9, 448.0))
    s = block * tensor
    return (E2M1.round(blocks / s) * s).reshape(x.shape)


# ------------------------------------------------------------------ ggml reference quantisers

F32 = np.float32


def half(v):
    return v.astype(np.float16).astype(np.float64)


def inverse(d):
    safe = np.where(d != 0, d, F32(1))
    return np.where(d != 0, F32(1) / safe, F32(0)).astype(F32)


def ggml_q8_0(x):
    b = x.reshape(-1, 32).astype(F32)
    d = (np.abs(b).max(axis=1, keepdims=True) / F32(127)).astype(F32)
    v = b * inverse(d)
    q = np.sign(v) * np.floor(np.abs(v) + F32(0.5))  # roundf: ties away from zero
    return (q * half(d)).reshape(x.shape)


def signed_max(b):
    """The element of largest magnitude with its sign (the first one on ties)."""
    return np.take_along_axis(b, np.abs(b).argmax(axis=1)[:, None], axis=1)


def ggml_offset(x, levels):
    """Q4_0 (levels 16) and Q5_0 (levels 32): d = max / −(levels/2), codes offset by levels/2."""
    b = x.reshape(-1, 32).astype(F32)
    d = (signed_max(b) / F32(-levels // 2)).astype(F32)
    q = np.minimum(levels - 1, np.trunc(b * inverse(d) + F32(levels // 2 + 0.5)))
    return ((q - levels // 2) * half(d)).reshape(x.shape)


def ggml_min_max(x, levels):
    """Q4_1 (levels 16) and Q5_1 (levels 32): unsigned codes times d plus the block minimum."""
    b = x.reshape(-1, 32).astype(F32)
    lo = b.min(axis=1, keepdims=True)
    d = ((b.max(axis=1, keepdims=True) - lo) / F32(levels - 1)).astype(F32)
    q = np.minimum(levels - 1, np.trunc((b - lo) * inverse(d) + F32(0.5)))
    return (q * half(d) + half(lo)).reshape(x.shape)


def ggml_mxfp4(x):
    """FLOOR E8M0 scale; nearest E2M1 value, ties to the smaller magnitude (ggml's first index)."""
    b = x.reshape(-1, 32).astype(F32)
    amax = np.abs(b).max(axis=1, keepdims=True)
    scale = np.ldexp(1.0, np.where(amax > 0, exponent_of(amax) - 2, -127)).astype(F32)
    grid = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6], dtype=F32) * scale[:, :, None]
    err = np.abs(grid - np.abs(b)[:, :, None])
    mags = np.take_along_axis(grid, err.argmin(axis=2)[:, :, None], axis=2)[:, :, 0]
    return np.copysign(mags.astype(np.float64), b).reshape(x.shape)


# ------------------------------------------------------------------ the labels the tests use

FORMATS = {
    "int8_tensor": lambda x: int8_scaled(x),
    "int8_channel_1024": lambda x: int8_scaled(x, 1024),
    "fp8_e4m3_tensor": lambda x: fp8_tensor(x, E4M3),
    "fp8_e5m2_tensor": lambda x: fp8_tensor(x, E5M2),
    "msfp16": lambda x: bdr(x, 7, d2=0),
    "msfp12": lambda x: bdr(x, 3, d2=0),
    "mx9": lambda x: bdr(x, 7),
    "mx6": lambda x: bdr(x, 4),
    "mx4": lambda x: bdr(x, 2),
    "mxfp8_e4m3": lambda x: ocp_mx(x, E4M3),
    "mxfp8_e5m2": lambda x: ocp_mx(x, E5M2),
    "mxfp6_e3m2": lambda x: ocp_mx(x, E3M2),
    "mxfp6_e2m3": lambda x: ocp_mx(x, E2M3),
    "mxfp4": lambda x: ocp_mx(x, E2M1),
    "mxfp4_ceil": lambda x: ocp_mx(x, E2M1, "ceil"),
    "mxfp4_even": lambda x: ocp_mx(x, E2M1, "even"),
    "mxfp4_rceil": lambda x: ocp_mx(x, E2M1, "rceil"),
    "mxint8": lambda x: ocp_mx(x, INT8_Q16),
    "nvfp4": nvfp4,
    "q8_0": ggml_q8_0,
    "q5_1": lambda x: ggml_min_max(x, 32),
    "q5_0": lambda x: ggml_offset(x, 32),
    "q4_1": lambda x: ggml_min_max(x, 16),
    "q4_0": lambda x: ggml_offset(x, 16),
    "ggml_mxfp4": ggml_mxfp4,
}


def main(args):
    if args == ["--labels"]:
        print(json.dumps(list(FORMATS)))
        return 0
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    out = {}
    for path in args:
        x = np.fromfile(path, dtype="<f4").astype(np.float64)
        out[path] = {label: qsnr_db(x, f(x)) for label, f in FORMATS.items()}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
