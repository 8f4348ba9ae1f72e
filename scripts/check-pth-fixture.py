#!/usr/bin/env python3
"""Checks that PyTorch reads the checkpoints SRFuse's PyTorchWriter writes. CI has no torch, so
this runs by hand (with .venv-fixtures/bin/python, which has torch) after the writer changes:

    .venv-fixtures/bin/python scripts/check-pth-fixture.py
        Loads Tests/Fixtures/pth/written-by-srfuse.pth with torch.load(weights_only=True), as
        BasicSR's load_network does (then load_net[param_key]), and compares every group, key
        (in order), shape, dtype and float32 bit pattern with written-by-srfuse.json.
        PyTorchWriterTests asserts the writer still produces exactly that .pth.

    .venv-fixtures/bin/python scripts/check-pth-fixture.py WRITTEN.pth REFERENCE [KEY]
        Loads both files (.pth with torch.load(weights_only=True), or .safetensors) and checks
        that WRITTEN's 'params' (or its group KEY) holds exactly REFERENCE's state dict, bit for
        bit: REFERENCE's group KEY, else params_ema, else params, else the plain state dict.

Exits 1 with the first difference, 0 with a one-line summary.
"""
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(path):
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def state_dict(checkpoint, key=None):
    """The group BasicSR / Real-ESRGAN would load: KEY, params_ema, params, or the dict itself."""
    for candidate in ([key] if key else []) + ["params_ema", "params"]:
        if candidate in checkpoint:
            return checkpoint[candidate]
    return checkpoint


def bits(tensor):
    return tensor.contiguous().view(torch.int32).flatten().tolist()


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def check_fixture():
    folder = os.path.join(ROOT, "Tests", "Fixtures", "pth")
    loaded = torch.load(os.path.join(folder, "written-by-srfuse.pth"), map_location="cpu", weights_only=True)
    with open(os.path.join(folder, "written-by-srfuse.json")) as f:
        expected = json.load(f)
    if list(loaded.keys()) != [key for key, _ in expected]:
        fail(f"groups {list(loaded.keys())}, expected {[key for key, _ in expected]}")
    count = 0
    for key, tensors in expected:
        group = loaded[key]
        if [t["name"] for t in tensors] != list(group.keys()):
            fail(f"{key}: keys {list(group.keys())} in that order, expected {[t['name'] for t in tensors]}")
        for t in tensors:
            value = group[t["name"]]
            if value.dtype != torch.float32 or list(value.shape) != t["shape"]:
                fail(f"{key}.{t['name']}: {value.dtype} {list(value.shape)}, expected float32 {t['shape']}")
            # The JSON holds unsigned bit patterns; int32 views are signed.
            if [b & 0xFFFFFFFF for b in bits(value)] != t["bits"]:
                fail(f"{key}.{t['name']}: values differ")
            count += 1
    print(f"ok: torch {torch.__version__} loads written-by-srfuse.pth (weights_only=True): "
          f"{count} tensors in {len(expected)} groups, keys in order, every value bit for bit")


def check_rewrite(written_path, reference_path, key=None):
    written = load(written_path)
    written = written[key] if key else written["params"]
    reference = state_dict(load(reference_path), key)
    if set(written.keys()) != set(reference.keys()):
        fail(f"keys differ: {sorted(set(written.keys()) ^ set(reference.keys()))}")
    for name, value in reference.items():
        other = written[name]
        if other.dtype != torch.float32 or other.shape != value.shape or bits(other) != bits(value.float()):
            fail(f"{name}: {other.dtype} {list(other.shape)} differs from {value.dtype} {list(value.shape)}")
    print(f"ok: torch {torch.__version__} loads {os.path.basename(written_path)} (weights_only=True): "
          f"the {len(reference)} tensors of {os.path.basename(reference_path)}, bit for bit")


if __name__ == "__main__":
    if len(sys.argv) == 1:
        check_fixture()
    elif len(sys.argv) in (3, 4):
        check_rewrite(*sys.argv[1:])
    else:
        sys.exit(__doc__)
