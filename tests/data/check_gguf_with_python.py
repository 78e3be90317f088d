#!/usr/bin/env python3
"""Checks a GGUF file written by glowq's GgufWriter with PyPI's `gguf` reader.

Usage: check_gguf_with_python.py FILE.gguf EXPECT.json

EXPECT.json (written by tests/loader/test_gguf_writer.cpp):
  {"kv": {key: {"type": gguf value type number, "elem": element type (arrays),
                "value": value}},
   "tensors": [{"name", "type", "shape" (ne order), "values": path of raw fp32}]}
Nested arrays are compared flattened (gguf's reader flattens them). Exits non-zero and
says what differs on any mismatch.
"""
import json
import math
import sys

import numpy as np
import gguf
from gguf import quants


def flatten(v):
    if isinstance(v, list):
        out = []
        for x in v:
            out.extend(flatten(x))
        return out
    return [v]


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=0.0) or float(a) == float(b)
    return a == b


def main():
    path, expect_path = sys.argv[1], sys.argv[2]
    with open(expect_path) as f:
        expect = json.load(f)
    r = gguf.GGUFReader(path)
    errors = []
    for key, e in expect["kv"].items():
        field = r.fields.get(key)
        if field is None:
            errors.append(f"missing key {key}")
            continue
        if int(field.types[0]) != e["type"]:
            errors.append(f"{key}: type {field.types} != {e['type']}")
            continue
        if e["type"] == 9 and len(field.types) > 1 and e.get("elem") is not None and int(field.types[1]) != e["elem"]:
            errors.append(f"{key}: element type {field.types} != {e['elem']}")
        got, want = flatten(field.contents()), flatten(e["value"])
        if len(got) != len(want) or not all(same(a, b) for a, b in zip(got, want)):
            errors.append(f"{key}: {got[:8]} != {want[:8]}")
    tensors = {t.name: t for t in r.tensors}
    for e in expect["tensors"]:
        t = tensors.get(e["name"])
        if t is None:
            errors.append(f"missing tensor {e['name']}")
            continue
        if int(t.tensor_type) != e["type"] or [int(x) for x in t.shape] != e["shape"]:
            errors.append(f"{e['name']}: {t.tensor_type.name} {list(t.shape)} != {e['type']} {e['shape']}")
            continue
        got = quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
        want = np.fromfile(e["values"], dtype="<f4")
        if got.shape != want.shape or not np.array_equal(got, want):
            errors.append(f"{e['name']}: values differ (max abs diff "
                          f"{np.max(np.abs(got - want)) if got.shape == want.shape else 'shape'})")
    extra = set(tensors) - {e["name"] for e in expect["tensors"]}
    if extra:
        errors.append(f"unexpected tensors {sorted(extra)}")
    for msg in errors:
        print("check_gguf_with_python:", msg, file=sys.stderr)
    print(f"check_gguf_with_python: {len(expect['kv'])} keys, {len(expect['tensors'])} tensors, "
          f"{len(errors)} problems")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
