#!/usr/bin/env python3
"""Writes GGUF fixtures with PyPI's `gguf` package, an implementation independent of ours.

Usage: make_gguf_fixtures.py OUT_DIR

OUT_DIR/quant_types.gguf   one tensor per ggml type the loader decodes, plus metadata of
                           every GGUF value type (tests/loader/test_gguf_fixtures.cpp
                           expects exactly the values written below)
OUT_DIR/quant_types/NAME.f32
                           gguf.quants.dequantize() of tensor NAME: raw little-endian fp32
OUT_DIR/aligned64.gguf     general.alignment = 64 and tensors whose sizes need padding

Quantized tensors are random bytes with their fp16 scale fields replaced by finite values,
so every code, sign and sub-block scale is exercised (gguf-py has no quantizer for the
K-types); the types gguf-py can quantize also get a tensor quantized from random floats.
"""
import os
import sys

import numpy as np
import gguf
from gguf import quants
from gguf.constants import GGMLQuantizationType as T

ROWS, COLS = 3, 512  # 512 is a whole number of 256-element super-blocks

# Byte offsets of the fp16 factors inside one block (ggml's block_* structs).
HALF_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}
QUANTIZABLE = [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]


def random_blocks(rng, qtype):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    n_blocks = ROWS * COLS // block_size
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in HALF_FIELDS[qtype]:
        halves = (rng.standard_normal(n_blocks) * 0.05).astype(np.float16)
        raw[:, off:off + 2] = halves.view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(ROWS, COLS // block_size * type_size)


def add_metadata(w):
    # Keep in sync with test_gguf_fixtures.cpp.
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 1.5)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "h\u00e9llo GGUF")
    w.add_uint64("test.u64", 2**40 + 3)
    w.add_int64("test.i64", -(2**40))
    w.add_float64("test.f64", 0.1)
    w.add_array("test.arr_i32", [1, -2, 3])
    w.add_array("test.arr_str", ["a", "bc", ""])
    w.add_array("test.arr_f32", [0.5, -0.25])
    w.add_array("test.nested", [[1, 2], [3]])


def write(path, w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    out = sys.argv[1]
    ref_dir = os.path.join(out, "quant_types")
    os.makedirs(ref_dir, exist_ok=True)
    rng = np.random.default_rng(20240601)

    w = gguf.GGUFWriter(os.path.join(out, "quant_types.gguf"), "llama")
    add_metadata(w)
    tensors = []
    floats = rng.standard_normal((ROWS, COLS)).astype(np.float32)
    tensors.append(("F32", floats, T.F32))
    tensors.append(("F16", floats.astype(np.float16), T.F16))
    tensors.append(("BF16", quants.quantize(floats, T.BF16), T.BF16))
    for qtype in HALF_FIELDS:
        tensors.append((qtype.name, random_blocks(rng, qtype), qtype))
    for qtype in QUANTIZABLE:
        tensors.append((qtype.name + ".quantized", quants.quantize(floats, qtype), qtype))
    for name, data, qtype in tensors:
        ref = quants.dequantize(data, qtype).astype("<f4").reshape(-1)
        assert ref.size == ROWS * COLS, name
        ref.tofile(os.path.join(ref_dir, name + ".f32"))
        w.add_tensor(name, data, raw_dtype=qtype)
    write(None, w)

    w = gguf.GGUFWriter(os.path.join(out, "aligned64.gguf"), "llama")
    w.add_custom_alignment(64)
    w.add_string("general.name", "aligned")
    w.add_tensor("five", np.arange(5, dtype=np.float32))
    w.add_tensor("q4_block", quants.quantize(floats[:1, :32], T.Q4_0), raw_dtype=T.Q4_0)
    w.add_tensor("three_d", np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4))
    write(None, w)


if __name__ == "__main__":
    main()
