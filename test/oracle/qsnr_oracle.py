#!/usr/bin/env python3
"""Run the spec's independent numpy oracle (../shared/spec/oracle/ref_qsnr.py) on float32 files.

Usage: qsnr_oracle.py ORACLE_DIR FILE.f32 [FILE.f32 ...]  ->  JSON {file: {label: qsnr_db}}
"""
import json
import sys

import numpy as np

sys.path.insert(0, sys.argv[1])
import ref_qsnr as R  # noqa: E402

FORMATS = {
    "int8_tensor": lambda x: R.int8_scaled(x),
    "int8_channel_1024": lambda x: R.int8_scaled(x, 1024),
    "fp8_e4m3_tensor": lambda x: R.fp8_tensor_scaled(x, R.E4M3),
    "fp8_e5m2_tensor": lambda x: R.fp8_tensor_scaled(x, R.E5M2),
    "msfp16": lambda x: R.bdr_quant(x, 7, d2=0),
    "msfp12": lambda x: R.bdr_quant(x, 3, d2=0),
    "mx9": lambda x: R.bdr_quant(x, 7),
    "mx6": lambda x: R.bdr_quant(x, 4),
    "mx4": lambda x: R.bdr_quant(x, 2),
    "mxfp8_e4m3": lambda x: R.mx_quant(x, R.E4M3),
    "mxfp8_e5m2": lambda x: R.mx_quant(x, R.E5M2),
    "mxfp6_e3m2": lambda x: R.mx_quant(x, R.E3M2),
    "mxfp6_e2m3": lambda x: R.mx_quant(x, R.E2M3),
    "mxfp4": lambda x: R.mx_quant(x, R.E2M1),
    "mxfp4_ceil": lambda x: R.mx_quant(x, R.E2M1, mode="ceil"),
    "mxfp4_even": lambda x: R.mx_quant(x, R.E2M1, mode="even"),
    "mxfp4_rceil": lambda x: R.mx_quant(x, R.E2M1, mode="rceil"),
    "mxint8": lambda x: R.mx_quant(x, R.Int8Elem),
    "nvfp4": R.nvfp4,
    "q8_0": R.ggml_q8_0,
    "q5_1": R.ggml_q5_1,
    "q5_0": R.ggml_q5_0,
    "q4_1": R.ggml_q4_1,
    "q4_0": R.ggml_q4_0,
    "ggml_mxfp4": R.ggml_mxfp4,
}

out = {}
for path in sys.argv[2:]:
    x = np.fromfile(path, dtype="<f4").astype(np.float64)
    out[path] = {k: R.qsnr(x, f(x)) for k, f in FORMATS.items()}
print(json.dumps(out))
