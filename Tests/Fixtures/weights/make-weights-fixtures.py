#!/usr/bin/env python3
"""Writes the small weight files that Tests/SRWeightsTests read.

Run from anywhere (needs torch, safetensors, numpy; a throwaway venv is fine):
    python3 -m venv /tmp/wvenv && /tmp/wvenv/bin/pip install torch safetensors numpy
    /tmp/wvenv/bin/python Tests/Fixtures/weights/make-weights-fixtures.py

Every parameter element is a pure function of its (BasicSR) key and flat index, `value(key, i)`
below; SRWeightsTests recomputes it, so no expected values need to be stored. The values are
multiples of 1/128 in [-127/128, 127/128], exact in fp16 and bf16.
"""
import collections
import io
import os
import struct
import zipfile

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))

# Tiny RRDBNet: 3 -> 3 channels, x4, num_feat 2, num_grow_ch 1, num_block 2.
NF, GC, NB = 2, 1, 2


def value(key, i):
    return ((i * 37 + sum(key.encode())) % 255 - 127) / 128.0


def fill(key, tensor):
    flat = torch.tensor([value(key, i) for i in range(tensor.numel())], dtype=torch.float64)
    return flat.reshape(tensor.shape).to(tensor.dtype)


class RDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)


class RRDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = RDB(nf, gc), RDB(nf, gc), RDB(nf, gc)


class RRDBNet(nn.Module):
    """Only the parameter layout of BasicSR's RRDBNet (scale 4); no forward needed."""

    def __init__(self, nf, gc, nb):
        super().__init__()
        self.conv_first = nn.Conv2d(3, nf, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(nf, gc) for _ in range(nb)])
        self.conv_body = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_hr = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, 3, 3, 1, 1)


def tiny_rrdb():
    net = RRDBNet(NF, GC, NB)
    with torch.no_grad():
        for key, p in net.named_parameters():
            p.copy_(fill(key, p))
    return net


def old_esrgan_key(key):
    """BasicSR name -> ESRGAN's RRDBNet_arch.py name."""
    parts = key.split(".")
    if parts[0] == "body":
        return f"RRDB_trunk.{parts[1]}.RDB{parts[2][3]}.{parts[3]}.{parts[4]}"
    renames = {"conv_body": "trunk_conv", "conv_up1": "upconv1", "conv_up2": "upconv2", "conv_hr": "HRconv"}
    return ".".join([renames.get(parts[0], parts[0])] + parts[1:])


def sequential_esrgan_key(key):
    """BasicSR name -> the original RRDB_ESRGAN_x4.pth ("model.N") name."""
    parts = key.split(".")
    if parts[0] == "body":
        return f"model.1.sub.{parts[1]}.RDB{parts[2][3]}.{parts[3]}.0.{parts[4]}"
    if parts[0] == "conv_body":
        return f"model.1.sub.{NB}.{parts[1]}"
    index = {"conv_first": 0, "conv_up1": 3, "conv_up2": 6, "conv_hr": 8, "conv_last": 10}[parts[0]]
    return f"model.{index}.{parts[1]}"


def save(obj, name):
    torch.save(obj, os.path.join(HERE, name))


def write_ncnn_srvgg():
    """A tiny SRVGGNetCompact (3 -> 3, num_feat 4, num_conv 1, x2) in ncnn's format, with the
    UP2X-style trailing bicubic resize by 0.5. Conv weights use both the fp16 and fp32 tags."""
    nf, up = 4, 2
    convs = [("body.0", nf, 3), ("body.2", nf, nf), ("body.4", 3 * up * up, nf)]
    lines = [
        "Input            input.1     0 1 data",
        "Split            split0      1 2 data in_0 in_1",
    ]
    blob = "in_1"
    out = open(os.path.join(HERE, "srvgg-tiny.bin"), "wb")
    for n, (key, cout, cin) in enumerate(convs):
        count = cout * cin * 9
        lines.append(f"Convolution      Conv_{n}     1 1 {blob} c{n} 0={cout} 1=3 4=1 5=1 6={count}")
        weight = np.array([value(key + ".weight", i) for i in range(count)])
        if n == 1:
            out.write(struct.pack("<I", 0) + weight.astype("<f4").tobytes())
        else:
            data = weight.astype("<f2").tobytes()
            out.write(struct.pack("<I", 0x01306B47) + data + b"\0" * (-len(data) % 4))
        out.write(np.array([value(key + ".bias", i) for i in range(cout)]).astype("<f4").tobytes())
        blob = f"c{n}"
        if n < len(convs) - 1:
            slope_key = f"body.{2 * n + 1}.weight"
            lines.append(f"PReLU            PRelu_{n}    1 1 {blob} p{n} 0={nf}")
            out.write(np.array([value(slope_key, i) for i in range(nf)]).astype("<f4").tobytes())
            blob = f"p{n}"
    out.close()
    lines += [
        f"PixelShuffle     shuffle     1 1 {blob} shuffled 0={up}",
        f"Interp           Resize_up   1 1 in_0 upsampled 0=1 1={up:.6e} 2={up:.6e}",
        "BinaryOp         Add         2 1 shuffled upsampled sum",
        "Interp           Resize_out  1 1 sum output 0=3 1=5.000000e-01 2=5.000000e-01",
    ]
    blobs = len({tok for line in lines for tok in line.split()[4 + int(line.split()[2]):][: int(line.split()[3])]})
    with open(os.path.join(HERE, "srvgg-tiny.param"), "w") as f:
        f.write(f"7767517\n{len(lines)} {blobs}\n" + "\n".join(lines) + "\n")


class Evil:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def main():
    net = tiny_rrdb()
    sd = net.state_dict()  # an OrderedDict with _metadata (pickled with BUILD)

    save(sd, "rrdb-tiny.pth")
    save(tiny_rrdb().half().state_dict(), "rrdb-tiny-fp16.pth")

    # BasicSR layout, saved through a file object so that the zip's top folder is "archive/".
    negated = collections.OrderedDict((k, -v) for k, v in sd.items())
    buffer = io.BytesIO()
    torch.save({"params_ema": sd, "params": negated}, buffer)
    with open(os.path.join(HERE, "rrdb-tiny-ema.pth"), "wb") as f:
        f.write(buffer.getvalue())

    save({"module." + k: v for k, v in sd.items()}, "rrdb-tiny-module.pth")
    save({old_esrgan_key(k): v for k, v in sd.items()}, "rrdb-tiny-oldkeys.pth")
    save({sequential_esrgan_key(k): v for k, v in sd.items()}, "rrdb-tiny-model-n.pth")
    save_file(dict(sd), os.path.join(HERE, "rrdb-tiny.safetensors"), metadata={"format": "pt"})

    # Tensor views and element types; SRWeightsTests holds the expected values.
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4  # 0, 0.25, ..., 2.75
    shared = torch.arange(10, dtype=torch.float32)
    views = {
        "transposed": base.t(),  # [4, 3], stride (1, 4)
        "sliced": base[1:, 1:3],  # [2, 2], offset 5, stride (4, 1)
        "expanded": torch.tensor([1.5, -2.0]).expand(3, 2),  # stride (0, 1)
        "scalar": torch.tensor(-0.75),
        "parameter": nn.Parameter(torch.tensor([0.5, 1.0, 2.0])),
        "half": torch.tensor([1.0, -0.5, 65504.0, 2.0**-24], dtype=torch.float16),
        "bfloat": torch.tensor([1.0, -3.0, 0.15625], dtype=torch.bfloat16),
        "double": torch.tensor([[0.1, -1e-3]], dtype=torch.float64),
        "shared_a": shared[2:5],
        "shared_b": shared[7:],
        "empty": torch.zeros(0, 3),
    }
    save(views, "views.pth")
    save_file(
        {"half": views["half"], "bfloat": views["bfloat"], "single": torch.tensor([[3.25, -1.0]])},
        os.path.join(HERE, "dtypes.safetensors"),
    )

    save({"x": Evil()}, "evil.pth")

    with open(os.path.join(HERE, "rrdb-tiny.pth"), "rb") as f:
        whole = f.read()
    with open(os.path.join(HERE, "truncated.pth"), "wb") as f:
        f.write(whole[:4096])  # cut inside the storages: no central directory
    with zipfile.ZipFile(os.path.join(HERE, "rrdb-tiny.pth")) as src, zipfile.ZipFile(
        os.path.join(HERE, "compressed.pth"), "w", zipfile.ZIP_DEFLATED
    ) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))

    write_ncnn_srvgg()


if __name__ == "__main__":
    main()
