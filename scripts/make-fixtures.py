#!/usr/bin/env python3
"""Reference fixtures for SRFuse's numerical tests, computed with PyTorch and ncnn.

Run from anywhere (the first run takes a minute or two, mostly installing torch):

    python3 scripts/make-fixtures.py

The script creates `.venv-fixtures/` at the repository root (git-ignored) with pinned torch,
numpy, safetensors, ncnn and pillow from PyPI, unless the interpreter running it already has them
inside a virtualenv, and re-executes itself with that venv's python. It runs
`scripts/fetch-models` when the ncnn models are missing ($SRFUSE_MODELS, else <repo>/models).

It writes Tests/Fixtures/reference/ (fixed seeds, one thread and a deterministic safetensors
writer, so re-running reproduces every file byte for byte; README.md there lists the layout):

1. Random-weight models, from this file's own PyTorch definitions of BasicSR / Real-ESRGAN's
   RRDBNet and SRVGGNetCompact (same state_dict key names, same forward pass):
       <name>.pth             torch.save of the state_dict (rrdbnet-x4: {'params_ema': sd},
                              srvgg-x4-prelu: {'params': sd}, the others: the plain state_dict)
       <name>.safetensors     the same state_dict
       <name>.io.safetensors  input (1x3xHxW, uniform [0,1]), output (fp32 forward pass),
                              output_f64 (the same weights and input run in float64)
   Hyper-parameters are in each io file's metadata ("config", JSON). Widths are small so the
   files stay small; the fixtures pin semantics (key names, concat order, residual scales,
   pixel-unshuffle order, upsampling, per-channel PReLU), not performance.

2. Real weights on a 32x32 crop of docs/sample/photo.png, through the ncnn Python package:
       realesrgan-x4plus-anime.crop.io.safetensors  (REALESRGAN_X4PLUSANIME_UP4X, RRDBNet 64/6/32)
       realesr-animevideov3.crop.io.safetensors     (REALESRGAN_ANIMAVIDEOV3_UP4X, SRVGG 64/16)
   Tensors: input (1x3x32x32 RGB in [0,1]), output (ncnn, plain fp32: no Winograd, no SGEMM, no
   fp16/bf16), output_ncnn_default (ncnn default options), and for the RRDB model output_torch:
   the ncnn weights converted to a PyTorch state_dict and run by this file's RRDBNet. The PSNRs
   between them are printed and stored in the metadata; the converted weights are not saved.

3. Gradients of the random-weight models, by PyTorch autograd in float64:
       <name>.grad.safetensors  lq (batch x 3 x H x W) and gt (float32, uniform [0,1]), loss
                                (float64), grad.<key> for every parameter (float32), and for
                                SRVGG param.<key>: its PReLU slopes with every other one negated
   The loss (L1, MSE or Charbonnier, BasicSR's mean reduction) is in the metadata ("loss").

   And for the real x4plus and animevideov3 weights (too many to store whole):
       <model>.grad.safetensors  lq (4x4, a 16x16 photo crop's 4x box-downscale in 8 bits), gt
                                 (the crop), the L1 loss, the gradients of every bias and PReLU
                                 slope and of the first (x4plus: and last) weight, and for every tensor its
                                 norm and two dot products with SplitMix64 +-1 vectors (see
                                 make_real_gradient_fixture)

4. torch.optim runs (Adam, Adam with L2, AdamW, SGD with momentum, Nesterov SGD; some with
   clip_grad_norm_) over six steps with fresh gradients and changing learning rates, and
   BasicSR's EMA beside them:
       optimizer-<name>.safetensors  initial.<p>, grad<s>.<p>, after<s>.<p>, ema<s>.<p>,
                                     state.<p>.<buffer> (float32)

Every step checks its result and the script exits non-zero on any failure.
"""

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-fixtures"
OUT_DIR = REPO / "Tests" / "Fixtures" / "reference"
PHOTO = REPO / "docs" / "sample" / "photo.png"
MODELS_DIR = Path(os.environ.get("SRFUSE_MODELS", REPO / "models"))

# Pinned so that a re-run produces the same numbers (ncnn's default path in particular).
REQUIREMENTS = [
    "torch==2.15.0",
    "numpy==2.4.6",
    "safetensors==0.8.0",
    "ncnn==1.0.20261020",
    "pillow==13.0.0",
]
MODULES = ["torch", "numpy", "safetensors", "ncnn", "PIL"]


def ensure_environment():
    """Continue in this interpreter if it is a venv with every dependency, else in our own venv."""
    in_venv = sys.prefix != sys.base_prefix
    if in_venv and all(_importable(m) for m in MODULES):
        return
    if os.environ.get("SRFUSE_FIXTURES_REEXEC"):
        sys.exit(f"make-fixtures: {sys.executable} still lacks one of {MODULES} after setup")
    python = VENV / "bin" / "python"
    marker = VENV / "srfuse-requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if not python.exists() or not marker.exists() or marker.read_text() != wanted:
        print(f"make-fixtures: creating {VENV} (torch from PyPI is large; this takes a while)", flush=True)
        _run([sys.executable, "-m", "venv", str(VENV)],
             "could not create the virtualenv (Debian: apt-get install python3-venv)")
        _run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
             "pip could not install the fixture dependencies")
        marker.write_text(wanted)
    os.environ["SRFUSE_FIXTURES_REEXEC"] = "1"
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


def _importable(module):
    import importlib.util
    return importlib.util.find_spec(module) is not None


def _run(cmd, message):
    if subprocess.run(cmd).returncode != 0:
        sys.exit(f"make-fixtures: {message}: {' '.join(map(str, cmd))}")


if __name__ == "__main__":
    ensure_environment()

# Heavy imports only after the environment is settled (they fail outside the venv).
import ncnn  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Architectures (BasicSR rrdbnet_arch.py and Real-ESRGAN srvgg_arch.py, written out again here).
# ---------------------------------------------------------------------------------------------

def pixel_unshuffle(x, scale):
    """BasicSR's pixel_unshuffle: channel index c*scale^2 + dy*scale + dx (as F.pixel_unshuffle)."""
    b, c, hh, hw = x.shape
    if hh % scale or hw % scale:
        raise ValueError(f"pixel_unshuffle: {hh}x{hw} is not a multiple of {scale}")
    h, w = hh // scale, hw // scale
    x = x.view(b, c, h, scale, w, scale).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(b, c * scale * scale, h, w)


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs; each sees the concatenation of the block input and all earlier outputs."""

    def __init__(self, num_feat=64, num_grow_ch=32):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x):
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, num_feat, num_grow_ch=32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x):
        out = self.rdb3(self.rdb2(self.rdb1(x)))
        return out * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN generator. Scales 2 and 1 pixel-unshuffle the input and keep the x4 trunk."""

    def __init__(self, num_in_ch, num_out_ch, scale=4, num_feat=64, num_block=23, num_grow_ch=32):
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"RRDBNet scale must be 1, 2 or 4, not {scale}")
        self.scale = scale
        num_in_ch = num_in_ch * {4: 1, 2: 4, 1: 16}[scale]
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x):
        if self.scale == 2:
            x = pixel_unshuffle(x, 2)
        elif self.scale == 1:
            x = pixel_unshuffle(x, 4)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


class SRVGGNetCompact(nn.Module):
    """Plain conv stack at low resolution; pixel shuffle at the end plus the nearest-upsampled input."""

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4,
                 act_type="prelu"):
        super().__init__()
        self.upscale = upscale

        def activation():
            if act_type == "relu":
                return nn.ReLU()
            if act_type == "prelu":
                return nn.PReLU(num_parameters=num_feat)
            if act_type == "lrelu":
                return nn.LeakyReLU(negative_slope=0.1)
            raise ValueError(f"unknown act_type {act_type!r}")

        # Convs and activations share one ModuleList, so the keys are body.0 (conv), body.1
        # (activation), ...; parameter-free activations leave gaps in the numbering.
        self.body = nn.ModuleList([nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), activation()])
        for _ in range(num_conv):
            self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.body.append(activation())
        self.body.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x):
        out = x
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out)
        return out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


def build(config):
    args = {k: v for k, v in config.items() if k != "arch"}
    return {"RRDBNet": RRDBNet, "SRVGGNetCompact": SRVGGNetCompact}[config["arch"]](**args)


# ---------------------------------------------------------------------------------------------
# Random-weight fixtures
# ---------------------------------------------------------------------------------------------

# Widths are far below the published ones (64/32) to keep the committed files small (the two
# real-weight crop files already take 1 MB). num_feat != num_grow_ch, so swapped widths or concat
# offsets cannot cancel out; num_block 2 covers RRDB-to-RRDB chaining and body.1.* keys.
RANDOM_MODELS = [
    # name, config, input (H, W), seed, .pth wrapper key (None = plain state_dict)
    ("rrdbnet-x4",
     dict(arch="RRDBNet", num_in_ch=3, num_out_ch=3, scale=4, num_feat=8, num_block=2,
          num_grow_ch=4),
     (12, 10), 1001, "params_ema"),
    ("rrdbnet-x2",
     dict(arch="RRDBNet", num_in_ch=3, num_out_ch=3, scale=2, num_feat=8, num_block=1,
          num_grow_ch=4),
     (14, 10), 1002, None),
    ("rrdbnet-x1",
     dict(arch="RRDBNet", num_in_ch=3, num_out_ch=3, scale=1, num_feat=8, num_block=1,
          num_grow_ch=4),
     (16, 12), 1003, None),
    ("srvgg-x4-prelu",
     dict(arch="SRVGGNetCompact", num_in_ch=3, num_out_ch=3, num_feat=16, num_conv=4, upscale=4,
          act_type="prelu"),
     (7, 11), 1004, "params"),
]


def randomize(model, generator):
    """He-normal conv weights (leaky-ReLU gain), small non-zero biases, varied PReLU slopes.

    BasicSR's own init (Kaiming x 0.1, zero bias) gives near-zero outputs that would hide
    mistakes; this keeps activations O(1) through the residual trunk and exercises every bias
    and every per-channel slope.
    """
    gain = math.sqrt(2.0 / (1.0 + 0.2 ** 2))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
                module.weight.normal_(0.0, gain / math.sqrt(fan_in), generator=generator)
                module.bias.uniform_(-0.1, 0.1, generator=generator)
            elif isinstance(module, nn.PReLU):
                module.weight.uniform_(0.05, 0.35, generator=generator)


SAFETENSORS_DTYPES = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8")}


def save_file(tensors, path, metadata):
    """Write a .safetensors file with a sorted header, then read it back with the official reader.

    The safetensors package orders `__metadata__` from a hash map, so its files differ from run
    to run; this writer makes re-running the script byte-for-byte reproducible.
    """
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, tensor in tensors.items():
        dtype, numpy_dtype = SAFETENSORS_DTYPES[tensor.dtype]
        data = np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype=numpy_dtype).tobytes()
        header[name] = {"dtype": dtype, "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # the format pads the header so data is 8-aligned
    with open(path, "wb") as f:
        f.write(len(encoded).to_bytes(8, "little"))
        f.write(encoded)
        f.writelines(chunks)

    with safe_open(str(path), framework="pt") as f:
        check(f.metadata() == metadata, f"{path}: metadata did not survive a round trip")
        check(set(f.keys()) == set(tensors), f"{path}: tensor names did not survive a round trip")
        for name, tensor in tensors.items():
            check(torch.equal(f.get_tensor(name), tensor), f"{path}: {name} differs on reading")


def tensor_metadata(config, **extra):
    meta = {"config": json.dumps(config, sort_keys=True), "layout": "NCHW, RGB",
            "generator": "scripts/make-fixtures.py", "torch": torch.__version__}
    meta.update({k: str(v) for k, v in extra.items()})
    return meta


def make_random_fixture(name, config, size, seed, pth_key):
    generator = torch.Generator().manual_seed(seed)
    model = build(config).eval()
    randomize(model, generator)
    height, width = size
    x = torch.rand(1, config["num_in_ch"], height, width, generator=generator)

    with torch.no_grad():
        y32 = model(x)
        y64 = copy.deepcopy(model).double()(x.double())

    scale = config.get("scale", config.get("upscale"))
    expected = (1, config["num_out_ch"], height * scale, width * scale)
    check(tuple(y32.shape) == expected, f"{name}: output shape {tuple(y32.shape)} != {expected}")
    # Non-trivial output: the network part must move the result, not just pass the input.
    if config["arch"] == "SRVGGNetCompact":
        learned = y64 - F.interpolate(x.double(), scale_factor=scale, mode="nearest")
    else:
        learned = y64
    std = learned.std().item()
    check(0.05 < std < 10.0, f"{name}: network output std {std:.3g} is degenerate")
    err = (y32.double() - y64).abs().max().item()
    check(err < 1e-4, f"{name}: fp32 vs fp64 differ by {err:.3g}")

    state = model.state_dict()
    torch.save(state if pth_key is None else {pth_key: state}, OUT_DIR / f"{name}.pth")
    save_file(dict(state), OUT_DIR / f"{name}.safetensors",
              metadata=tensor_metadata(config))
    save_file({"input": x.contiguous(), "output": y32.contiguous(),
               "output_f64": y64.contiguous()},
              OUT_DIR / f"{name}.io.safetensors",
              metadata=tensor_metadata(config, seed=seed, pth_key=pth_key or "",
                                       max_abs_fp32_vs_f64=f"{err:.3e}"))
    params = sum(t.numel() for t in state.values())
    print(f"  {name:16s} {params:6d} params  input {height}x{width}  output std {std:.3f}"
          f"  fp32 vs f64 max {err:.2e}")


# ---------------------------------------------------------------------------------------------
# Gradient fixtures: PyTorch autograd in float64 on the random-weight models
# ---------------------------------------------------------------------------------------------

# name of a random-weight model above, pixel loss, batch, LR input (H, W), seed
GRADIENT_CASES = [
    ("rrdbnet-x4", "l1", 3, (6, 5), 2001),
    ("rrdbnet-x2", "mse", 3, (6, 4), 2002),
    ("rrdbnet-x1", "charbonnier", 2, (8, 4), 2003),
    ("srvgg-x4-prelu", "l1", 3, (5, 7), 2004),
]


def pixel_loss(kind, prediction, target):
    """BasicSR's L1Loss, MSELoss and CharbonnierLoss (eps 1e-12), all with reduction 'mean'."""
    if kind == "l1":
        return F.l1_loss(prediction, target)
    if kind == "mse":
        return F.mse_loss(prediction, target)
    return torch.mean(torch.sqrt((prediction - target) ** 2 + 1e-12))


def make_gradient_fixture(name, loss_kind, batch, size, seed):
    """<name>.grad.safetensors: lq, gt (float32, the values SRFuse reads), the float64 loss and
    every parameter's float64 gradient (stored as float32, keys grad.<state_dict key>).

    SRVGG's slopes are given both signs first (stored as param.<key>, overriding the weights
    file): with negative slopes PReLU's backward must take its mask from the input, not the output.
    """
    config = next(c for n, c, *_ in RANDOM_MODELS if n == name)
    model = build(config)
    model.load_state_dict(load_file(str(OUT_DIR / f"{name}.safetensors")))
    overrides = {}
    with torch.no_grad():
        for module_name, module in model.named_modules():
            if isinstance(module, nn.PReLU):
                module.weight[1::2] *= -1
                overrides[f"param.{module_name}.weight"] = module.weight.detach().clone()
    generator = torch.Generator().manual_seed(seed)
    scale = config.get("scale", config.get("upscale"))
    height, width = size
    lq = torch.rand(batch, 3, height, width, generator=generator)
    gt = torch.rand(batch, 3, height * scale, width * scale, generator=generator)

    model = model.double()
    loss = pixel_loss(loss_kind, model(lq.double()), gt.double())
    loss.backward()
    tensors = {"lq": lq, "gt": gt, "loss": loss.detach().reshape(1)}
    tensors.update(overrides)
    for key, parameter in model.named_parameters():
        check(parameter.grad is not None and parameter.grad.abs().max() > 0, f"{name}: {key} has no gradient")
        tensors[f"grad.{key}"] = parameter.grad.float().contiguous()
    save_file(tensors, OUT_DIR / f"{name}.grad.safetensors",
              metadata=tensor_metadata(config, loss=loss_kind, seed=seed))
    print(f"  {name:16s} {loss_kind:11s} batch {batch}  input {height}x{width}  loss {loss.item():.6f}")


# ---------------------------------------------------------------------------------------------
# Optimizer fixtures: torch.optim steps with changing gradients and learning rates
# ---------------------------------------------------------------------------------------------

# name, torch.optim class and options, max gradient norm (None: no clipping), seed
OPTIMIZER_CASES = [
    ("adam", "Adam", dict(betas=(0.9, 0.99)), None, 3001),
    ("adam-l2", "Adam", dict(weight_decay=1e-2), None, 3002),
    ("adamw", "AdamW", dict(), 0.5, 3003),
    ("sgd-momentum", "SGD", dict(momentum=0.9, weight_decay=1e-4), None, 3004),
    ("sgd-nesterov", "SGD", dict(momentum=0.9, dampening=0.0, nesterov=True), 0.5, 3005),
]
OPTIMIZER_STEPS = 6
OPTIMIZER_LRS = [1e-2, 2e-2, 5e-3, 1e-2, 3e-2, 1e-3]
EMA_DECAY = 0.9


def make_optimizer_fixture(name, optimizer_class, options, max_norm, seed):
    """optimizer-<name>.safetensors: two parameters (a 4x3x3x3 weight and a bias), and per step
    s: grad<s>.<p> (drawn fresh each step), lr in the metadata, after<s>.<p> (the parameters),
    ema<s>.<p> (BasicSR's EMA, decay 0.9, started from the initial parameters); the optimizer's
    state after the last step as state.<p>.<buffer>. float32 throughout, as torch trains."""
    generator = torch.Generator().manual_seed(seed)
    params = {"weight": torch.randn(4, 3, 3, 3, generator=generator), "bias": torch.randn(4, generator=generator)}
    tensors = {f"initial.{k}": v.clone() for k, v in params.items()}
    live = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    ema = {k: v.clone() for k, v in params.items()}
    optimizer = getattr(torch.optim, optimizer_class)(list(live.values()), lr=OPTIMIZER_LRS[0], **options)
    for step, lr in enumerate(OPTIMIZER_LRS):
        for key, parameter in live.items():
            parameter.grad = torch.randn(parameter.shape, generator=generator) * (0.5 + step)
            tensors[f"grad{step}.{key}"] = parameter.grad.clone()
        if max_norm is not None:
            torch.nn.utils.clip_grad_norm_(list(live.values()), max_norm)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()
        with torch.no_grad():
            for key, parameter in live.items():
                ema[key].mul_(EMA_DECAY).add_(parameter, alpha=1 - EMA_DECAY)
                tensors[f"after{step}.{key}"] = parameter.detach().clone()
                tensors[f"ema{step}.{key}"] = ema[key].clone()
    for key, parameter in live.items():
        for buffer, value in optimizer.state[parameter].items():
            if torch.is_tensor(value) and value.dim() > 0:
                tensors[f"state.{key}.{buffer}"] = value.clone()
    metadata = {"optimizer": optimizer_class, "options": json.dumps(options, sort_keys=True),
                "max_norm": "" if max_norm is None else str(max_norm), "ema_decay": str(EMA_DECAY),
                "lrs": json.dumps(OPTIMIZER_LRS), "steps": str(OPTIMIZER_STEPS), "seed": str(seed),
                "generator": "scripts/make-fixtures.py", "torch": torch.__version__}
    save_file(tensors, OUT_DIR / f"optimizer-{name}.safetensors", metadata=metadata)
    print(f"  {name:14s} {optimizer_class} {options} clip {max_norm}")


# ---------------------------------------------------------------------------------------------
# ncnn models: reading .param/.bin, running them, converting to PyTorch state_dicts
# ---------------------------------------------------------------------------------------------

NCNN_FP16_TAG = 0x01306B47
# Layer types in these models that own no weights in the .bin file.
WEIGHTLESS_LAYERS = {"Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle"}


def parse_param(path):
    """ncnn .param text: '<type> <name> <nin> <nout> <bottoms...> <tops...> k=v ...' per layer."""
    lines = path.read_text().split("\n")
    check(lines[0].strip() == "7767517", f"{path}: not an ncnn param file (bad magic)")
    layer_count = int(lines[1].split()[0])
    layers = []
    for line in lines[2:]:
        fields = line.split()
        if not fields:
            continue
        kind, name, nin, nout = fields[0], fields[1], int(fields[2]), int(fields[3])
        params = {}
        for item in fields[4 + nin + nout:]:
            key, value = item.split("=", 1)
            key = int(key)
            if key <= -23300:  # array parameter: -23300-k=count,v1,v2,...
                params[-key - 23300] = [float(v) for v in value.split(",")[1:]]
            else:
                params[key] = float(value) if any(c in value for c in ".eE") else int(value)
        layers.append({"type": kind, "name": name, "params": params})
    check(len(layers) == layer_count, f"{path}: {len(layers)} layers, header says {layer_count}")
    return layers


def read_ncnn_weights(param_path, bin_path):
    """Per weighted layer, in file order: (layer, {"weight": array, "bias": array?})."""
    layers = parse_param(param_path)
    data = bin_path.read_bytes()
    offset = 0

    def take_fp32(count):
        nonlocal offset
        values = np.frombuffer(data, dtype="<f4", count=count, offset=offset)
        offset += 4 * count
        return values.astype(np.float32)

    def take_tagged(count):
        # ModelBin type 0: a 4-byte tag, then fp16 (padded to 4 bytes) or raw fp32 when tag is 0.
        nonlocal offset
        tag = int.from_bytes(data[offset:offset + 4], "little")
        offset += 4
        if tag == NCNN_FP16_TAG:
            values = np.frombuffer(data, dtype="<f2", count=count, offset=offset)
            offset += (2 * count + 3) // 4 * 4
            return values.astype(np.float32)
        if tag == 0:
            return take_fp32(count)
        raise SystemExit(f"make-fixtures: {bin_path}: unsupported weight tag {tag:#010x}")

    weighted = []
    for layer in layers:
        p = layer["params"]
        if layer["type"] == "Convolution":
            out_ch, kernel, size = p[0], p[1], p[6]
            in_ch = size // (out_ch * kernel * kernel)
            check(in_ch * out_ch * kernel * kernel == size, f"{layer['name']}: odd weight size")
            blobs = {"weight": take_tagged(size).reshape(out_ch, in_ch, kernel, kernel)}
            if p.get(5, 0):
                blobs["bias"] = take_fp32(out_ch)
            weighted.append((layer, blobs))
        elif layer["type"] == "PReLU":
            weighted.append((layer, {"weight": take_fp32(p[0])}))
        elif layer["type"] not in WEIGHTLESS_LAYERS:
            raise SystemExit(f"make-fixtures: {param_path}: no weight reader for {layer['type']}")
    check(offset == len(data), f"{bin_path}: read {offset} of {len(data)} bytes")
    return weighted


def rrdbnet_from_ncnn(param_path, bin_path):
    """RRDBNet config + state_dict: the convs, in file order, are the state_dict's convs."""
    convs = [(layer, blobs) for layer, blobs in read_ncnn_weights(param_path, bin_path)
             if layer["type"] == "Convolution"]
    num_block, rest = divmod(len(convs) - 6, 15)
    check(rest == 0 and num_block > 0, f"{param_path}: {len(convs)} convs is not an RRDBNet")
    keys = ["conv_first"]
    keys += [f"body.{b}.rdb{r}.conv{c}"
             for b in range(num_block) for r in (1, 2, 3) for c in range(1, 6)]
    keys += ["conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]

    state = {}
    for key, (layer, blobs) in zip(keys, convs):
        # The exporter fused LeakyReLU(0.2) into exactly the convs our forward pass follows by
        # lrelu; checking this catches a mapping that is off by one conv.
        fused = layer["params"].get(9, 0) == 2 and layer["params"].get(10) == [0.2]
        wants = key.endswith(("conv1", "conv2", "conv3", "conv4", "up1", "up2", "hr"))
        check(fused == wants, f"{layer['name']} -> {key}: fused activation does not match")
        state[f"{key}.weight"] = torch.from_numpy(blobs["weight"].copy())
        state[f"{key}.bias"] = torch.from_numpy(blobs["bias"].copy())

    first, last = convs[0][1]["weight"], convs[-1][1]["weight"]
    config = dict(arch="RRDBNet", num_in_ch=first.shape[1], num_out_ch=last.shape[0], scale=4,
                  num_feat=first.shape[0], num_block=num_block,
                  num_grow_ch=convs[1][1]["weight"].shape[0])
    return config, state


def srvgg_from_ncnn(param_path, bin_path):
    """SRVGGNetCompact config + state_dict: convs and PReLUs, in file order, are body.0, body.1, ..."""
    weighted = read_ncnn_weights(param_path, bin_path)
    state = {}
    for index, (layer, blobs) in enumerate(weighted):
        expected = "Convolution" if index % 2 == 0 else "PReLU"
        check(layer["type"] == expected, f"{layer['name']}: expected {expected} at body.{index}")
        for blob, value in blobs.items():
            state[f"body.{index}.{blob}"] = torch.from_numpy(value.copy())
    first, last = weighted[0][1]["weight"], weighted[-1][1]["weight"]
    upscale = math.isqrt(last.shape[0] // first.shape[1])
    config = dict(arch="SRVGGNetCompact", num_in_ch=first.shape[1], num_out_ch=first.shape[1],
                  num_feat=first.shape[0], num_conv=(len(weighted) - 3) // 2, upscale=upscale,
                  act_type="prelu")
    return config, state


def run_ncnn(param_path, bin_path, chw, plain):
    """Run one ncnn model on a (3, H, W) float32 array; returns the (3, H', W') output."""
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 1
    if plain:
        # Direct fp32 convolution only: the reference SRFuse's fp32 kernels should match.
        for option in ("use_winograd_convolution", "use_winograd23_convolution",
                       "use_winograd43_convolution", "use_winograd63_convolution",
                       "use_sgemm_convolution", "use_fp16_packed", "use_fp16_storage",
                       "use_fp16_arithmetic", "use_bf16_packed", "use_bf16_storage"):
            setattr(net.opt, option, False)
    # Options must be set before loading: load_model builds the per-layer pipelines.
    check(net.load_param(str(param_path)) == 0, f"ncnn could not load {param_path}")
    check(net.load_model(str(bin_path)) == 0, f"ncnn could not load {bin_path}")

    # ncnn.Mat wraps the array's memory without a copy: `array` must outlive the extraction.
    array = np.ascontiguousarray(chw, dtype=np.float32)
    extractor = net.create_extractor()
    check(extractor.input(net.input_names()[0], ncnn.Mat(array)) == 0, "ncnn input failed")
    status, out = extractor.extract(net.output_names()[0])
    check(status == 0, f"ncnn extract failed on {param_path.name} ({status})")
    result = np.array(out, dtype=np.float32, copy=True)
    del extractor, array
    net.clear()
    return result


def psnr(a, b):
    """PSNR in dB for values in [0, 1], computed in float64 on unclamped values."""
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


# The 32x32 crop of docs/sample/photo.png: iris edge, highlight, dark eye corner and fur.
CROP = dict(x=76, y=44, w=32, h=32)

REAL_MODELS = [
    # fixture name, ncnn model, converter to PyTorch, store output_torch
    ("realesrgan-x4plus-anime", "REALESRGAN_X4PLUSANIME_UP4X", rrdbnet_from_ncnn, True),
    ("realesr-animevideov3", "REALESRGAN_ANIMAVIDEOV3_UP4X", srvgg_from_ncnn, False),
]


def load_crop():
    image = Image.open(PHOTO)
    check(image.mode == "RGB", f"{PHOTO}: expected an 8-bit RGB PNG, got mode {image.mode}")
    pixels = np.asarray(image, dtype=np.uint8)
    c = CROP
    crop = pixels[c["y"]:c["y"] + c["h"], c["x"]:c["x"] + c["w"]]
    check(crop.shape == (c["h"], c["w"], 3), f"{PHOTO}: crop {c} is outside the image")
    return (crop.astype(np.float32) / 255.0).transpose(2, 0, 1).copy()  # HWC uint8 -> CHW [0,1]


def make_real_fixture(name, model, converter, store_torch, chw):
    param, weights = MODELS_DIR / f"{model}.param", MODELS_DIR / f"{model}.bin"
    plain = run_ncnn(param, weights, chw, plain=True)
    default = run_ncnn(param, weights, chw, plain=False)
    check(plain.shape == (3, 4 * chw.shape[1], 4 * chw.shape[2]),
          f"{model}: unexpected output shape {plain.shape}")

    # The models take and give RGB in [0, 1]: the output, averaged back down 4x, must look like
    # the input. A 0..255 or BGR convention would fail this by a wide margin.
    pooled = plain.reshape(3, chw.shape[1], 4, chw.shape[2], 4).mean(axis=(2, 4))
    consistency = psnr(pooled, chw)
    check(consistency > 25.0, f"{model}: output does not match the input ({consistency:.1f} dB)")

    config, state = converter(param, weights)
    torch_model = build(config).eval()
    torch_model.load_state_dict(state, strict=True)
    with torch.no_grad():
        torch_out = torch_model(torch.from_numpy(chw)[None])[0].numpy()

    scores = {
        "psnr_ncnn_plain_vs_torch": psnr(plain, torch_out),
        "psnr_ncnn_default_vs_torch": psnr(default, torch_out),
        "psnr_ncnn_plain_vs_default": psnr(plain, default),
        "max_abs_ncnn_plain_vs_torch": float(np.abs(plain - torch_out).max()),
        "max_abs_ncnn_default_vs_torch": float(np.abs(default - torch_out).max()),
    }
    # fp16-stored weights decode exactly to fp32, so only summation order differs.
    check(scores["psnr_ncnn_plain_vs_torch"] > 90.0,
          f"{model}: PyTorch conversion disagrees with ncnn "
          f"({scores['psnr_ncnn_plain_vs_torch']:.1f} dB)")

    tensors = {"input": torch.from_numpy(chw)[None], "output": torch.from_numpy(plain)[None],
               "output_ncnn_default": torch.from_numpy(default)[None]}
    if store_torch:
        tensors["output_torch"] = torch.from_numpy(torch_out.copy())[None]
    metadata = tensor_metadata(
        config, source=f"docs/sample/photo.png, crop x={CROP['x']} y={CROP['y']} "
                       f"w={CROP['w']} h={CROP['h']}",
        crop=json.dumps(CROP, sort_keys=True), model=f"{model}.param/.bin",
        ncnn=ncnn.__version__, output="ncnn, fp32, Winograd/SGEMM/fp16/bf16 off",
        output_ncnn_default="ncnn, default options (Vulkan off)",
        psnr_downscaled_output_vs_input=f"{consistency:.2f}",
        **{k: f"{v:.6g}" for k, v in scores.items()})
    save_file({k: v.contiguous() for k, v in tensors.items()},
              OUT_DIR / f"{name}.crop.io.safetensors", metadata=metadata)

    print(f"  {name}: {model} ({config['arch']} "
          f"{ {k: v for k, v in config.items() if k != 'arch'} })")
    print(f"    ncnn plain   vs torch: {scores['psnr_ncnn_plain_vs_torch']:7.2f} dB"
          f"  (max abs {scores['max_abs_ncnn_plain_vs_torch']:.2e})")
    print(f"    ncnn default vs torch: {scores['psnr_ncnn_default_vs_torch']:7.2f} dB"
          f"  (max abs {scores['max_abs_ncnn_default_vs_torch']:.2e})")
    print(f"    ncnn plain vs default: {scores['psnr_ncnn_plain_vs_default']:7.2f} dB;"
          f"  4x-averaged output vs input: {consistency:.1f} dB")


# ---------------------------------------------------------------------------------------------
# The real x4plus gradient: too large to store whole (16.7M values), so stored in part
# ---------------------------------------------------------------------------------------------

SPLITMIX_GAMMA = 0x9E3779B97F4A7C15
PROJECTION_SEEDS = (1, 2)


def splitmix_signs(seed, count, start):
    """+-1 from bit 0 of SplitMix64(seed)'s outputs start+1 ... start+count (Tests/SRTestSupport
    SplitMix64: state += gamma, then the two xor-shift-multiply rounds)."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(start + 1, start + count + 1, dtype=np.uint64) * np.uint64(SPLITMIX_GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return np.where((z & np.uint64(1)) == 1, 1.0, -1.0)


def closest_to_kink(model, lq):
    """The smallest |input| of any leaky ReLU or PReLU in the float64 forward pass of `lq`."""
    smallest = [math.inf]

    def record(module, inputs):
        smallest[0] = min(smallest[0], inputs[0].abs().min().item())

    hooks = [m.register_forward_pre_hook(record) for m in model.modules() if isinstance(m, (nn.LeakyReLU, nn.PReLU))]
    with torch.no_grad():
        model(lq.double())
    for hook in hooks:
        hook.remove()
    return smallest[0]


REAL_GRADIENTS = [
    # fixture name, ncnn model, converter, the weights stored whole besides every 1-D tensor
    ("realesrgan-x4plus", "REALESRGAN_X4PLUS_UP4X", rrdbnet_from_ncnn, ("conv_first.weight", "conv_last.weight")),
    ("realesr-animevideov3", "REALESRGAN_ANIMAVIDEOV3_UP4X", srvgg_from_ncnn, ("body.0.weight",)),
]


def make_real_gradient_fixture(name, ncnn_name, converter, whole):
    """<name>.grad.safetensors: the L1 gradient of a real model's weights for one sample pair
    from docs/sample/photo.png: gt a 16x16 crop, lq its 4x box-downscale rounded to 8 bits (both
    exact 8-bit PNGs). The crop is the first, scanning rows then columns in steps of 8 pixels,
    whose leaky-ReLU (PReLU) inputs all stay at least 1e-5 from 0: closer, float32 rounding
    could flip a mask and change a gradient by far more than the float32 error of the rest
    (one such element at 1e-6 moved some x4plus tensors by 2%). Stored: the gradient of every
    1-D tensor (biases, PReLU slopes) and of the weights `whole` names, whole (grad.<key>); for
    every tensor, in sorted key order, its norm (norms) and its dot products with two +-1
    vectors drawn from SplitMix64 seeds 1 and 2 over all tensors in that order (projections,
    [tensors, 2]): a wrong gradient anywhere moves them by about its error's norm."""
    config, state = converter(MODELS_DIR / f"{ncnn_name}.param", MODELS_DIR / f"{ncnn_name}.bin")
    model = build(config)
    model.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    model = model.double()
    pixels = np.asarray(Image.open(PHOTO), dtype=np.uint8).transpose(2, 0, 1).astype(np.float64)
    for y, x in ((y, x) for y in range(0, pixels.shape[1] - 15, 8) for x in range(0, pixels.shape[2] - 15, 8)):
        gt8 = pixels[:, y:y + 16, x:x + 16]
        lq8 = np.round(gt8.reshape(3, 4, 4, 4, 4).mean(axis=(2, 4)))
        gt = torch.from_numpy((gt8 / 255.0).astype(np.float32))[None]
        lq = torch.from_numpy((lq8 / 255.0).astype(np.float32))[None]
        margin = closest_to_kink(model, lq)
        if margin >= 1e-5:
            break
    check(margin >= 1e-5, "no photo crop keeps every leaky-ReLU input 1e-5 from 0")
    loss = F.l1_loss(model(lq.double()), gt.double())
    loss.backward()
    gradients = {key: p.grad for key, p in model.named_parameters()}
    keys = sorted(gradients)
    tensors = {"lq": lq, "gt": gt, "loss": loss.detach().reshape(1)}
    norms, projections, start = [], [], 0
    for key in keys:
        g = gradients[key].reshape(-1).numpy()
        norms.append(float(np.linalg.norm(g)))
        projections.append([float(np.dot(g, splitmix_signs(seed, g.size, start))) for seed in PROJECTION_SEEDS])
        start += g.size
        if gradients[key].dim() == 1 or key in whole:
            tensors[f"grad.{key}"] = gradients[key].float().contiguous()
    tensors["norms"] = torch.tensor(norms, dtype=torch.float64)
    tensors["projections"] = torch.tensor(projections, dtype=torch.float64)
    save_file(tensors, OUT_DIR / f"{name}.grad.safetensors",
              metadata=tensor_metadata(config, loss="l1", keys=json.dumps(keys), crop=json.dumps(dict(x=x, y=y, w=16, h=16)),
                                       closest_to_kink=f"{margin:.3e}"))
    print(f"  {name}  l1  4x4 -> 16x16 photo crop at ({x}, {y}), activation inputs >= {margin:.2e} from 0,"
          f"  loss {loss.item():.6f}  {len(keys)} tensors")


# ---------------------------------------------------------------------------------------------

def check(condition, message):
    if not condition:
        raise SystemExit(f"make-fixtures: {message}")


def main():
    sys.stdout.reconfigure(line_buffering=True)  # keep our lines in order with fetch-models'
    torch.set_num_threads(1)  # one thread: the same summation order on every machine
    OUT_DIR.mkdir(parents=True, exist_ok=True)

    x = torch.rand(2, 3, 8, 12, generator=torch.Generator().manual_seed(0))
    for s in (2, 4):
        check(torch.equal(pixel_unshuffle(x, s), F.pixel_unshuffle(x, s)),
              "pixel_unshuffle disagrees with torch's channel order")

    print(f"random-weight models -> {OUT_DIR.relative_to(REPO)}/")
    for name, config, size, seed, pth_key in RANDOM_MODELS:
        make_random_fixture(name, config, size, seed, pth_key)

    print(f"gradients (PyTorch autograd, float64) -> {OUT_DIR.relative_to(REPO)}/")
    for case in GRADIENT_CASES:
        make_gradient_fixture(*case)

    print(f"optimizers (torch.optim, {OPTIMIZER_STEPS} steps) -> {OUT_DIR.relative_to(REPO)}/")
    for case in OPTIMIZER_CASES:
        make_optimizer_fixture(*case)

    needed = [MODELS_DIR / f"{m}.{ext}" for _, m, _, _ in REAL_MODELS for ext in ("param", "bin")]
    if not all(p.exists() for p in needed):
        _run([str(REPO / "scripts" / "fetch-models")], "fetch-models failed")
    print(f"real weights on {PHOTO.relative_to(REPO)} crop {CROP}:")
    chw = load_crop()
    for name, model, converter, store_torch in REAL_MODELS:
        make_real_fixture(name, model, converter, store_torch, chw)
    for case in REAL_GRADIENTS:
        make_real_gradient_fixture(*case)

    total = 0
    print("fixture sizes:")
    for path in sorted(OUT_DIR.glob("*")):
        if path.suffix in (".pth", ".safetensors"):
            total += path.stat().st_size
            print(f"  {path.stat().st_size:9,d}  {path.name}")
    print(f"  {total:9,d}  total")
    # 2 MB for the forward fixtures, and about 0.4 MB for the gradient ones.
    check(total < 2_500_000, f"fixtures total {total:,} bytes, over the 2.5 MB budget")


if __name__ == "__main__":
    main()
