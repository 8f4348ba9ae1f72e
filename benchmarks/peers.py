#!/usr/bin/env python3
"""Run SRFuse and its peers on the same network, weights and inputs; write a markdown table.

    python3 benchmarks/peers.py                      # 2 threads, 64x64 and 128x128
    python3 benchmarks/peers.py --sizes 64 --threads 1 --skip openvino-bf16
    python3 benchmarks/peers.py --torch-compile      # adds a torch.compile row (slow to compile)

The network is Real-ESRGAN's RealESRGAN_x4plus (RRDBNet 64 features, 23 blocks, growth 32) with
the real weights of the ncnn files REALESRGAN_X4PLUS_UP4X.param/.bin ($SRFUSE_MODELS, else
<repo>/models; `scripts/fetch-models` runs when they are missing). The ncnn weights are converted
to a PyTorch state dict with scripts/make-fixtures.py's converter and RRDBNet, and exported to
ONNX (static shapes, one file per input size) for ONNX Runtime and OpenVINO.

Engines (rows; `--skip NAME` drops the rows named NAME or NAME-*, e.g. `--skip openvino`):
    srfuse            `srfuse bench --model realesrgan-x4plus --image IN.png --json --save-output`
                      (the default JIT backend: fused, JIT-compiled kernels, each convolution's
                      chosen by timing on this CPU, `--tuning cached` over a cache in the work
                      directory, so its setup time includes the timing)
    srfuse-direct     the same with `--tuning off` (direct kernels only)
    srfuse-reference  the same with `--backend reference` (the unoptimized interpreter)
    srfuse-bf16       the same with `--precision bf16` (bf16 kernels on CPUs with AVX512-BF16
                      that SRFuse uses them on; fp32 elsewhere, and the row says so)
    torch             PyTorch eager, fp32, inference_mode
    torch-compile     torch.compile (inductor, freezing); only with --torch-compile
    onnxruntime       ONNX Runtime, CPU execution provider, intra-op threads = --threads
    openvino          OpenVINO CPU plugin, INFERENCE_PRECISION_HINT=f32
    openvino-bf16     OpenVINO CPU plugin with its default precision (bf16 on CPUs with AVX512-BF16/AMX)
    ncnn              ncnn, default options (Winograd on), Vulkan off
    ncnn-nowinograd   ncnn, Winograd convolutions off
All run batch 1 with the same thread count, each in its own process: warm-up runs, then timed
runs, median reported. Peak RSS is that process's ru_maxrss, read with wait4() by a small launcher
process (a child's ru_maxrss starts from the memory of the process that spawned it, so the
orchestrator, which holds PyTorch, must not spawn the engines directly).

Inputs: deterministic SxS regions of docs/sample/photo.png (160x120 RGB): the centred SxS crop
when it fits, else the centred 120x120 square resized bicubically (in float) to SxS; quantized
to 16 bits and written as 16-bit RGB PNGs, so every engine sees exactly the values SRFuse reads.
PSNRs are against SRFuse's output (its --save-output 16-bit PNG), or PyTorch's when SRFuse is
skipped. The table goes to stdout and benchmarks/RESULTS.md (--output).

The script creates `.venv-bench/` at the repository root (git-ignored) with pinned torch,
onnxruntime, openvino, ncnn, onnx, numpy and pillow from PyPI (about 6 GB, mostly torch's CUDA
wheels), unless it already runs inside a virtualenv that has them, and re-executes itself with
that venv's python. Any engine error stops the script with a message and a non-zero exit code.
"""

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import shlex
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import types
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-bench"
PHOTO = REPO / "docs" / "sample" / "photo.png"
MODELS_DIR = Path(os.environ.get("SRFUSE_MODELS", REPO / "models"))
NCNN_MODEL = "REALESRGAN_X4PLUS_UP4X"
SRFUSE_MODEL = "realesrgan-x4plus"
DEFAULT_SRFUSE = REPO / ".build" / "release" / "srfuse"
MAKE_FIXTURES = REPO / "scripts" / "make-fixtures.py"
EXPECTED_CONFIG = dict(arch="RRDBNet", num_in_ch=3, num_out_ch=3, scale=4, num_feat=64,
                       num_block=23, num_grow_ch=32)

# Multiply-adds per input pixel of the 351 3x3 convolutions of RRDBNet 64/23/32 x4 (the
# LeakyReLUs, residual adds, concats and upsamplings are not counted).
MACS_PER_PIXEL = 17_926_848
SCALE = 4

# Pinned, so that numbers from different runs come from the same engine versions.
REQ_TORCH = ["torch==2.15.0", "numpy==2.4.6", "pillow==13.0.0", "safetensors==0.8.0"]
REQ_NCNN = ["ncnn==1.0.20261020"]
REQ_ONNX = ["onnx==1.23.2", "onnxscript==0.7.2"]  # torch.onnx.export (dynamo exporter)
REQ_ORT = ["onnxruntime==1.31.1"]
REQ_OPENVINO = ["openvino==2026.4.1"]


class Engine:
    def __init__(self, name, title, family, requirements, modules, precision="fp32", extra=False):
        # family: the library whose version the table reports
        self.name, self.title, self.family = name, title, family
        self.requirements, self.modules = requirements, modules
        self.precision, self.extra = precision, extra


ENGINES = [
    Engine("srfuse", "SRFuse (JIT: fused, compiled kernels, tuned)", "SRFuse", [], []),
    Engine("srfuse-direct", "SRFuse, direct kernels only (--tuning off)", "SRFuse", [], []),
    Engine("srfuse-reference", "SRFuse reference interpreter", "SRFuse", [], []),
    Engine("srfuse-bf16", "SRFuse --precision bf16 --tuning off", "SRFuse", [], [], precision="bf16", extra=True),
    Engine("torch", "PyTorch eager", "PyTorch", [], ["torch"]),
    Engine("torch-compile", "torch.compile (inductor, freezing)", "PyTorch", [], ["torch"]),
    Engine("onnxruntime", "ONNX Runtime (CPU EP)", "ONNX Runtime", REQ_ORT + REQ_ONNX,
           ["onnxruntime", "onnx", "onnxscript"]),
    Engine("openvino", "OpenVINO, precision hint f32", "OpenVINO", REQ_OPENVINO + REQ_ONNX,
           ["openvino", "onnx", "onnxscript"]),
    Engine("openvino-bf16", "OpenVINO default precision", "OpenVINO", REQ_OPENVINO + REQ_ONNX,
           ["openvino", "onnx", "onnxscript"], precision="default", extra=True),
    Engine("ncnn", "ncnn (Winograd on, default)", "ncnn", REQ_NCNN, ["ncnn"]),
    Engine("ncnn-nowinograd", "ncnn, Winograd off", "ncnn", REQ_NCNN, ["ncnn"]),
]
ENGINE_NAMES = [e.name for e in ENGINES]


def fail(message):
    raise SystemExit(f"peers: error: {message}")


# ---------------------------------------------------------------------------------------------
# Command line and environment
# ---------------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Benchmark SRFuse against PyTorch, ONNX Runtime, OpenVINO and ncnn on "
                    "Real-ESRGAN x4plus (see the module docstring for details).")
    p.add_argument("--sizes", default="64,128",
                   help="comma-separated square input sizes (default 64,128)")
    p.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs per peer (default 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per peer (default 5)")
    p.add_argument("--srfuse-warmup", type=int, default=1,
                   help="untimed runs for SRFuse (default 1)")
    p.add_argument("--srfuse-repeats", type=int, default=3,
                   help="timed runs for SRFuse (default 3; the reference interpreter is slow)")
    p.add_argument("--srfuse", type=Path, default=DEFAULT_SRFUSE,
                   help=f"the srfuse executable (default {DEFAULT_SRFUSE.relative_to(REPO)})")
    p.add_argument("--skip", action="append", default=[], metavar="ENGINE",
                   help="drop the rows ENGINE and ENGINE-* (repeatable or comma-separated): "
                        + ", ".join(ENGINE_NAMES))
    p.add_argument("--torch-compile", action="store_true",
                   help="add a torch.compile row (compiling takes 30-50 s per size)")
    p.add_argument("--output", type=Path, default=REPO / "benchmarks" / "RESULTS.md",
                   help="markdown file to write (default benchmarks/RESULTS.md)")
    p.add_argument("--keep-temp", action="store_true",
                   help="keep the temporary directory (inputs, ONNX files, outputs)")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # internal: run one engine from a job file
    args = p.parse_args(argv)

    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        p.error(f"--sizes takes comma-separated integers, not {args.sizes!r}")
    if not args.sizes or any(s < 8 for s in args.sizes):
        p.error("--sizes: every size must be at least 8")
    for name in ("threads", "repeats", "srfuse_repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0 or args.srfuse_warmup < 0:
        p.error("warm-up counts must be at least 0")
    skips = [s.strip() for item in args.skip for s in item.split(",") if s.strip()]
    for s in skips:
        if not any(n == s or n.startswith(s + "-") for n in ENGINE_NAMES):
            p.error(f"--skip {s}: no such engine (engines: {', '.join(ENGINE_NAMES)})")
    args.engines = [e for e in ENGINES
                    if not any(e.name == s or e.name.startswith(s + "-") for s in skips)
                    and (e.name != "torch-compile" or args.torch_compile)]
    if not args.engines:
        p.error("every engine is skipped")
    return args


def ensure_environment(engines):
    """Continue here if this is a venv with every module needed, else in .venv-bench."""
    # torch converts the weights and exports ONNX; make-fixtures.py (whose converter we use)
    # imports safetensors and PIL, and ncnn unless we stub it (done when ncnn is skipped).
    requirements = list(REQ_TORCH)
    modules = ["torch", "numpy", "PIL", "safetensors"]
    for engine in engines:
        requirements += [r for r in engine.requirements if r not in requirements]
        modules += [m for m in engine.modules if m not in modules]
    in_venv = sys.prefix != sys.base_prefix
    if in_venv and all(importlib.util.find_spec(m) is not None for m in modules):
        return
    if os.environ.get("SRFUSE_BENCH_REEXEC"):
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        fail(f"{sys.executable} still lacks {missing} after setting up {VENV}")
    python = VENV / "bin" / "python"
    marker = VENV / "srfuse-requirements.txt"
    installed = set(marker.read_text().split()) if python.exists() and marker.exists() else set()
    if not set(requirements) <= installed:
        if not python.exists():
            print(f"peers: creating {VENV} (torch from PyPI is large; this takes a few minutes)",
                  flush=True)
            run_checked([sys.executable, "-m", "venv", str(VENV)],
                        "could not create the virtualenv (Debian: apt-get install python3-venv)")
        print(f"peers: installing {' '.join(requirements)}", flush=True)
        run_checked([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                     *requirements],
                    "pip could not install the benchmark dependencies (an engine that cannot be "
                    "installed can be left out with --skip ENGINE)")
        marker.write_text("\n".join(sorted(installed | set(requirements))) + "\n")
    os.environ["SRFUSE_BENCH_REEXEC"] = "1"
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


def run_checked(cmd, message):
    if subprocess.run(cmd).returncode != 0:
        fail(f"{message}: {' '.join(map(str, cmd))}")


def load_make_fixtures(stub_ncnn):
    """scripts/make-fixtures.py as a module (RRDBNet, the ncnn reader and converter)."""
    if stub_ncnn and "ncnn" not in sys.modules:
        # make-fixtures imports ncnn at the top; a process that does not run ncnn (the PyTorch
        # worker, or any run with ncnn skipped) gets an empty stand-in instead.
        sys.modules["ncnn"] = types.ModuleType("ncnn")
    spec = importlib.util.spec_from_file_location("srfuse_make_fixtures", MAKE_FIXTURES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------
# 16-bit RGB PNG (Pillow reads 16-bit RGB as 8-bit, so both directions are done here)
# ---------------------------------------------------------------------------------------------

def write_png16(path, hwc_u16):
    import numpy as np
    height, width, channels = hwc_u16.shape
    if channels != 3:
        fail(f"write_png16: expected RGB, got {channels} channels")
    rows = np.ascontiguousarray(hwc_u16, dtype=">u2").reshape(height, width * 3)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows.view(np.uint8)], axis=1)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                           + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b""))


def read_png16_rgb(path):
    """A 16-bit RGB (or RGBA: alpha dropped) non-interlaced PNG as an (H, W, 3) uint16 array."""
    import numpy as np
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path}: not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        fail(f"{path}: no IHDR chunk")
    width, height, depth, color, _, _, interlace = header
    if depth != 16 or color not in (2, 6) or interlace != 0:
        fail(f"{path}: expected a 16-bit RGB non-interlaced PNG, got depth {depth}, "
             f"colour type {color}, interlace {interlace}")
    channels = 3 if color == 2 else 4
    bpp, stride = 2 * channels, 2 * channels * width
    raw = zlib.decompress(b"".join(idat))
    if len(raw) != height * (stride + 1):
        fail(f"{path}: image data has {len(raw)} bytes, expected {height * (stride + 1)}")
    rows = np.frombuffer(raw, np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: running sum along the row, per byte lane
            cur = np.cumsum(line.reshape(width, bpp), axis=0).reshape(stride) & 0xFF
        elif kind == 2:  # Up
            cur = (line + prev) & 0xFF
        elif kind in (3, 4):  # Average, Paeth: sequential along the row
            cur_list, line_list, up = [0] * stride, line.tolist(), prev.tolist()
            for i in range(stride):
                left = cur_list[i - bpp] if i >= bpp else 0
                if kind == 3:
                    pred = (left + up[i]) >> 1
                else:
                    upleft = up[i - bpp] if i >= bpp else 0
                    p = left + up[i] - upleft
                    pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - upleft)
                    pred = left if pa <= pb and pa <= pc else (up[i] if pb <= pc else upleft)
                cur_list[i] = (line_list[i] + pred) & 0xFF
            cur = np.array(cur_list, np.int32)
        else:
            fail(f"{path}: unknown PNG filter type {kind} in row {y}")
        out[y] = cur
        prev = cur
    pixels = out.view(">u2").reshape(height, width, channels)[:, :, :3]
    return pixels.astype(np.uint16)


# ---------------------------------------------------------------------------------------------
# Inputs, weights, ONNX
# ---------------------------------------------------------------------------------------------

def make_input(size, directory):
    """(3, S, S) float32 in [0, 1] (multiples of 1/65535) and the 16-bit PNG holding it."""
    import numpy as np
    from PIL import Image
    image = Image.open(PHOTO)
    if image.mode != "RGB":
        fail(f"{PHOTO}: expected an 8-bit RGB PNG, got mode {image.mode}")
    width, height = image.size
    pixels = np.asarray(image, np.float32) / 255.0
    if size <= min(width, height):
        top, left = (height - size) // 2, (width - size) // 2
        crop = pixels[top:top + size, left:left + size]
        how = f"centred {size}x{size} crop"
    else:
        side = min(width, height)
        top, left = (height - side) // 2, (width - side) // 2
        square = pixels[top:top + side, left:left + side]
        planes = [np.asarray(Image.fromarray(np.ascontiguousarray(square[:, :, c]), mode="F")
                             .resize((size, size), Image.Resampling.BICUBIC)) for c in range(3)]
        crop = np.stack(planes, axis=2)
        how = f"centred {side}x{side} square, bicubic-resized to {size}x{size}"
    u16 = np.round(np.clip(crop, 0.0, 1.0) * 65535.0).astype(np.uint16)
    path = Path(directory) / f"input-{size}.png"
    write_png16(path, u16)
    if not np.array_equal(read_png16_rgb(path), u16):
        fail(f"{path}: 16-bit PNG round trip failed")
    chw = (u16.astype(np.float32) / np.float32(65535.0)).transpose(2, 0, 1).copy()
    return chw, path, how


def ensure_models():
    files = [MODELS_DIR / f"{NCNN_MODEL}.{ext}" for ext in ("param", "bin")]
    if not all(f.exists() and f.stat().st_size > 0 for f in files):
        print(f"peers: {NCNN_MODEL} missing in {MODELS_DIR}; running scripts/fetch-models",
              flush=True)
        run_checked([str(REPO / "scripts" / "fetch-models")], "scripts/fetch-models failed")
    for f in files:
        if not f.exists():
            fail(f"{f} is still missing after scripts/fetch-models")
    return files


def convert_weights(make_fixtures, param, weights, directory):
    """ncnn .param/.bin -> PyTorch state dict (saved) and the built model."""
    import torch
    config, state = make_fixtures.rrdbnet_from_ncnn(param, weights)
    if config != EXPECTED_CONFIG:
        fail(f"{param}: expected {EXPECTED_CONFIG}, the file holds {config}")
    model = make_fixtures.build(config).eval()
    model.load_state_dict(state, strict=True)
    params = sum(t.numel() for t in state.values())

    # The FLOP count used for GFLOP/s: every conv's weight count times its output pixels.
    macs, convs = [0], [0]

    def count(module, _, output):
        macs[0] += module.weight.numel() * output.shape[2] * output.shape[3]
        convs[0] += 1

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(1, 3, 8, 8))
    for hook in hooks:
        hook.remove()
    if (convs[0], macs[0]) != (351, MACS_PER_PIXEL * 64):
        fail(f"the converted model has {convs[0]} convs and {macs[0] / 64:,.0f} multiply-adds "
             f"per pixel, expected 351 and {MACS_PER_PIXEL:,}")

    path = Path(directory) / "rrdbnet-x4plus.pth"
    torch.save(state, path)
    return model, path, params


def export_onnx(model, size, directory):
    import logging
    import torch
    # The exporter warns that torchvision's ops cannot be registered; we have no such ops.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    path = Path(directory) / f"rrdbnet-x4plus-{size}.onnx"
    x = torch.zeros(1, 3, size, size)
    start = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(model, (x,), str(path), dynamo=True, external_data=False,
                          input_names=["input"], output_names=["output"], verbose=False)
    if not path.exists() or path.stat().st_size < 60_000_000:
        fail(f"ONNX export wrote no model (or too small a one) to {path}")
    return path, time.perf_counter() - start


# ---------------------------------------------------------------------------------------------
# Workers: one engine in one process (python peers.py --worker JOB.json)
# ---------------------------------------------------------------------------------------------

def vm_hwm_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def timed_runs(run, warmup, repeats):
    output = None
    for _ in range(warmup):
        output = run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        output = run()
        times.append(time.perf_counter() - start)
    return times, output


def worker_torch(job, compiled):
    import numpy as np
    import torch
    make_fixtures = load_make_fixtures(stub_ncnn=True)
    torch.set_num_threads(job["threads"])
    start = time.perf_counter()
    model = make_fixtures.build(EXPECTED_CONFIG).eval()
    model.load_state_dict(torch.load(job["state_dict"], weights_only=True), strict=True)
    x = torch.from_numpy(np.load(job["input"]))[None]
    info = {"version": torch.__version__, "threads": torch.get_num_threads()}
    if compiled:
        import torch._inductor.config as inductor_config
        inductor_config.freezing = True
        model = torch.compile(model)
        with torch.inference_mode():
            model(x)  # compiles
    setup = time.perf_counter() - start

    def run():
        with torch.inference_mode():
            return model(x)

    times, out = timed_runs(run, job["warmup"], job["repeats"])
    return times, setup, out[0].numpy(), info


def worker_onnxruntime(job):
    import numpy as np
    import onnxruntime as ort
    start = time.perf_counter()
    options = ort.SessionOptions()
    options.intra_op_num_threads = job["threads"]
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(job["onnx"], options, providers=["CPUExecutionProvider"])
    if session.get_providers()[0] != "CPUExecutionProvider":
        fail(f"ONNX Runtime chose {session.get_providers()}")
    x = np.load(job["input"])[None]
    setup = time.perf_counter() - start
    times, out = timed_runs(lambda: session.run(["output"], {"input": x})[0],
                            job["warmup"], job["repeats"])
    return times, setup, out[0], {"version": ort.__version__}


def worker_openvino(job, f32):
    import numpy as np
    import openvino as ov
    start = time.perf_counter()
    core = ov.Core()
    config = {"INFERENCE_NUM_THREADS": job["threads"], "PERFORMANCE_HINT": "LATENCY",
              "NUM_STREAMS": 1}
    if f32:
        config["INFERENCE_PRECISION_HINT"] = "f32"
    compiled = core.compile_model(job["onnx"], "CPU", config)
    request = compiled.create_infer_request()
    x = np.load(job["input"])[None]
    setup = time.perf_counter() - start

    def run():
        request.infer({0: x})
        return request.get_output_tensor(0).data

    times, out = timed_runs(run, job["warmup"], job["repeats"])
    info = {"version": ov.get_version(),
            "precision": compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(),
            "threads": int(compiled.get_property("INFERENCE_NUM_THREADS"))}
    return times, setup, np.array(out[0], np.float32, copy=True), info


def worker_ncnn(job, winograd):
    import ncnn
    import numpy as np
    start = time.perf_counter()
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = job["threads"]
    if not winograd:
        for option in ("use_winograd_convolution", "use_winograd23_convolution",
                       "use_winograd43_convolution", "use_winograd63_convolution"):
            setattr(net.opt, option, False)
    # Options must be set before loading: load_model builds the per-layer pipelines.
    if net.load_param(job["param"]) != 0 or net.load_model(job["bin"]) != 0:
        fail(f"ncnn could not load {job['param']}")
    # ncnn.Mat wraps the array's memory without a copy: `x` must outlive every extraction.
    x = np.ascontiguousarray(np.load(job["input"]), np.float32)
    in_name, out_name = net.input_names()[0], net.output_names()[0]
    setup = time.perf_counter() - start

    def run():
        extractor = net.create_extractor()
        if extractor.input(in_name, ncnn.Mat(x)) != 0:
            fail("ncnn: input failed")
        status, mat = extractor.extract(out_name)
        if status != 0:
            fail(f"ncnn: extract failed ({status})")
        return mat

    times, out = timed_runs(run, job["warmup"], job["repeats"])
    result = np.array(out, np.float32, copy=True)
    options = {k: bool(getattr(net.opt, k)) for k in
               ("use_winograd_convolution", "use_sgemm_convolution", "use_fp16_storage",
                "use_fp16_arithmetic", "use_bf16_storage", "use_packing_layout")}
    del x
    return times, setup, result, {"version": ncnn.__version__, "options": options}


def worker_main(job_path):
    import numpy as np
    job = json.loads(Path(job_path).read_text())
    engine = job["engine"]
    if engine in ("torch", "torch-compile"):
        times, setup, out, info = worker_torch(job, compiled=engine == "torch-compile")
    elif engine == "onnxruntime":
        times, setup, out, info = worker_onnxruntime(job)
    elif engine in ("openvino", "openvino-bf16"):
        times, setup, out, info = worker_openvino(job, f32=engine == "openvino")
    elif engine in ("ncnn", "ncnn-nowinograd"):
        times, setup, out, info = worker_ncnn(job, winograd=engine == "ncnn")
    else:
        fail(f"unknown engine {engine}")
    np.save(job["output"], np.asarray(out, np.float32))
    result = {"times": times, "setup_s": setup, "vm_hwm_mib": vm_hwm_mib(), **info}
    Path(job["result"]).write_text(json.dumps(result))


# ---------------------------------------------------------------------------------------------
# Running engines: a launcher process spawns the engine and reports its own wait4() rusage
# ---------------------------------------------------------------------------------------------

LAUNCHER = """
import json, os, sys
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as f:
    json.dump({"maxrss_kib": usage.ru_maxrss, "exit": code}, f)
sys.exit(code if code >= 0 else 128 - code)
"""


def launch(cmd, directory, label, env=None, capture=False):
    """Run cmd through the launcher; returns (stdout or None, peak RSS in MiB)."""
    usage_path = Path(directory) / f"rusage-{label}.json"
    full = [sys.executable, "-S", "-c", LAUNCHER, str(usage_path), *map(str, cmd)]
    proc = subprocess.run(full, env=env, stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None, text=True)
    if proc.returncode != 0 or not usage_path.exists():
        details = ""
        if capture:
            details = f"\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        fail(f"{label} failed (exit code {proc.returncode}): {shlex.join(map(str, cmd))}{details}")
    usage = json.loads(usage_path.read_text())
    return (proc.stdout if capture else None), usage["maxrss_kib"] / 1024.0


def check_srfuse(path):
    if not path.exists():
        fail(f"{path} does not exist. Build it at the repository root with "
             f"`swift build -c release --product srfuse`, pass --srfuse PATH, or --skip srfuse.")
    proc = subprocess.run([str(path), "bench", "--help"], capture_output=True, text=True)
    if proc.returncode != 0 or "--save-output" not in proc.stdout:
        fail(f"{path} has no `bench` subcommand with --save-output (exit {proc.returncode}: "
             f"{(proc.stderr or proc.stdout).strip()[:300]}). Rebuild it with "
             f"`swift build -c release --product srfuse`, pass --srfuse PATH, or --skip srfuse.")


def run_srfuse(args, size, input_png, directory, backend, precision="fp32", tuning="cached"):
    import numpy as np
    out_png = Path(directory) / f"srfuse-{backend}-{precision}-{tuning}-{size}.png"
    cmd = [args.srfuse.resolve(), "bench", "--model", SRFUSE_MODEL, "--image", input_png,
           "--backend", backend, "--precision", precision, "--tuning", tuning,
           "--threads", args.threads, "--repeats", args.srfuse_repeats,
           "--warmup", args.srfuse_warmup, "--json", "--save-output", out_png]
    # A tuning cache of this run's own: the tuned row's setup includes timing its kernels.
    env = dict(os.environ, SRFUSE_MODELS=str(MODELS_DIR),
               XDG_CACHE_HOME=str(Path(directory) / "tuning-cache"))
    stdout, rss = launch(cmd, directory, f"srfuse-{size}", env=env, capture=True)
    lines = [line for line in stdout.splitlines() if line.strip().startswith("{")]
    try:
        report = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        fail(f"srfuse bench printed no JSON object:\n{stdout}")
    for key in ("median_ms", "gflops", "percent_of_peak", "peak_gflops", "compile_ms", "backend",
                "threads", "height", "width"):
        if key not in report:
            fail(f"srfuse bench's JSON lacks {key!r}: {lines[-1]}")
    if (report["height"], report["width"], report["threads"]) != (size, size, args.threads):
        fail(f"srfuse bench ran {report['height']}x{report['width']} on {report['threads']} "
             f"threads, asked for {size}x{size} on {args.threads}")
    if "gflop" in report:
        expected = 2 * MACS_PER_PIXEL * size * size / 1e9
        if abs(report["gflop"] - expected) > 1e-3 * expected:
            fail(f"srfuse counts {report['gflop']} GFLOP for {size}x{size}, expected {expected:.3f}"
                 f" (is it running the same network?)")
    if not out_png.exists():
        fail(f"srfuse bench did not write {out_png}")
    out = (read_png16_rgb(out_png).astype(np.float32) / np.float32(65535.0)).transpose(2, 0, 1)
    return {"median_s": report["median_ms"] / 1000.0, "min_s": report.get("min_ms", math.nan) / 1000,
            "setup_s": report.get("prepare_ms", report["compile_ms"]) / 1000.0, "rss_mib": rss, "output": out,
            "report": report, "runs": args.srfuse_repeats}


def run_worker(args, engine, size, job_base, directory):
    import numpy as np
    job = dict(job_base, engine=engine.name, warmup=args.warmup, repeats=args.repeats,
               output=str(Path(directory) / f"{engine.name}-{size}.npy"),
               result=str(Path(directory) / f"{engine.name}-{size}.json"))
    job_path = Path(directory) / f"job-{engine.name}-{size}.json"
    job_path.write_text(json.dumps(job))
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    _, rss = launch([sys.executable, Path(__file__).resolve(), "--worker", job_path], directory,
                    f"{engine.name}-{size}", env=env)
    result = json.loads(Path(job["result"]).read_text())
    times = result.pop("times")
    return {"median_s": statistics.median(times), "min_s": min(times), "setup_s": result["setup_s"],
            "rss_mib": rss, "output": np.load(job["output"]), "info": result, "runs": len(times)}


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

def psnr(a, b):
    """PSNR in dB on [0, 1] values, computed in float64."""
    import numpy as np
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def check_output(name, size, out, chw):
    """Shape, finiteness, and that the 4x-averaged output looks like the input (catches channel
    order, value range and layout mistakes)."""
    import numpy as np
    expected = (3, SCALE * size, SCALE * size)
    if tuple(out.shape) != expected:
        fail(f"{name} {size}x{size}: output shape {tuple(out.shape)}, expected {expected}")
    if not np.all(np.isfinite(out)):
        fail(f"{name} {size}x{size}: output has NaN or infinite values")
    pooled = np.clip(out, 0, 1).reshape(3, size, SCALE, size, SCALE).mean(axis=(2, 4))
    consistency = psnr(pooled, chw)
    if consistency < 25.0:
        fail(f"{name} {size}x{size}: the 4x-averaged output does not match the input "
             f"({consistency:.1f} dB); wrong layout, channel order or value range?")


def cpu_description():
    info = {}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "flags", "cpu family", "model") and key not in info:
            info[key] = value.strip()
    flags = set(info.get("flags", "").split())
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")
           if f in flags]
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), "0")
    return (f"{info.get('model name', platform.processor() or 'unknown CPU')} "
            f"(family {info.get('cpu family', '?')} model {info.get('model', '?')}), "
            f"{os.cpu_count()} logical cores ({len(os.sched_getaffinity(0))} usable), "
            f"{int(mem) / 1024 / 1024:.0f} GiB RAM; ISA: {' '.join(isa)}; "
            f"Linux {platform.release()}")


def git_revision():
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + (" with uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def fmt(value, spec):
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else format(value, spec)


def format_psnr(value):
    if value is None:
        return "–"
    return "identical" if math.isinf(value) else f"{value:.1f}"


def table_for_size(size, rows, ref_name, peak):
    flops = 2 * MACS_PER_PIXEL * size * size
    ref_time = next(r["median_s"] for r in rows if r["engine"].name == ref_name)
    ref_title = "SRFuse" if ref_name == "srfuse" else "PyTorch"
    head = (f"| engine | median s | min s | × {ref_title} time | GFLOP/s "
            + ("| % of peak " if peak else "")
            + f"| peak RSS MiB | PSNR vs {ref_title} dB "
            + ("| PSNR vs PyTorch dB " if any("psnr_torch" in r for r in rows) else "")
            + "| setup s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        e = r["engine"]
        title = e.title
        if e.name in ("openvino", "openvino-bf16") and "precision" in r.get("info", {}):
            title += f": runs {r['info']['precision']}"
        if e.name == "srfuse-bf16":
            title += f": runs {r['report'].get('kernels', 'fp32')}"
        if e.extra:
            title += " †"
        if r.get("suspect"):
            title += " ⚠"
        gflops = flops / r["median_s"] / 1e9
        cells = [title, fmt(r["median_s"], ".3f"), fmt(r["min_s"], ".3f"),
                 fmt(r["median_s"] / ref_time, ".2f"), fmt(gflops, ".1f")]
        if peak:
            cells.append(fmt(100 * gflops / peak, ".0f"))
        cells += [fmt(r["rss_mib"], ".0f"),
                  "reference" if e.name == ref_name else format_psnr(r["psnr"])]
        if any("psnr_torch" in row for row in rows):
            cells.append("reference" if e.name == "torch" else format_psnr(r.get("psnr_torch")))
        cells.append(fmt(r["setup_s"], ".3f"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv):
    args = parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return
    ensure_environment(args.engines)
    sys.stdout.reconfigure(line_buffering=True)
    names = [e.name for e in args.engines]
    if any(name.startswith("srfuse") for name in names):
        check_srfuse(args.srfuse)

    param, weights = ensure_models()
    make_fixtures = load_make_fixtures(stub_ncnn=not any(n.startswith("ncnn") for n in names))
    needs_onnx = any(e.name in ("onnxruntime", "openvino", "openvino-bf16") for e in args.engines)

    temp = tempfile.mkdtemp(prefix="srfuse-peers-")
    try:
        suspects = benchmark(args, names, make_fixtures, param, weights, needs_onnx, temp)
    finally:
        if args.keep_temp:
            print(f"peers: kept {temp}")
        else:
            import shutil
            shutil.rmtree(temp, ignore_errors=True)
    if suspects:
        fail("fp32 outputs that disagree with the reference (marked ⚠ in the table): "
             + "; ".join(suspects))


def benchmark(args, names, make_fixtures, param, weights, needs_onnx, temp):
    """Run every engine on every size, write the markdown; returns the suspect fp32 rows."""
    import numpy as np
    import torch
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    model, state_path, params = convert_weights(make_fixtures, param, weights, temp)
    print(f"peers: {NCNN_MODEL} -> RRDBNet 64/23/32 x4, {params:,} parameters; work dir {temp}")

    versions = {}
    if "srfuse" in names:
        built = datetime.datetime.fromtimestamp(args.srfuse.stat().st_mtime, datetime.timezone.utc)
        versions["SRFuse"] = (f"`{args.srfuse.name}` built {built:%Y-%m-%d %H:%M UTC} "
                              f"in a checkout at git {git_revision()}")
    results, inputs_described = {}, []
    for size in args.sizes:
        chw, input_png, how = make_input(size, temp)
        inputs_described.append(f"{size}x{size}: {how}")
        np.save(Path(temp) / f"input-{size}.npy", chw)
        job_base = {"threads": args.threads, "input": str(Path(temp) / f"input-{size}.npy"),
                    "state_dict": str(state_path), "param": str(param), "bin": str(weights)}
        if needs_onnx:
            onnx_path, seconds = export_onnx(model, size, temp)
            job_base["onnx"] = str(onnx_path)
            print(f"peers: exported {onnx_path.name} in {seconds:.1f} s")

        rows = []
        for engine in args.engines:
            print(f"peers: {size}x{size} {engine.name} ...", end=" ", flush=True)
            if engine.name == "srfuse":
                row = run_srfuse(args, size, input_png, temp, "jit")
            elif engine.name == "srfuse-reference":
                row = run_srfuse(args, size, input_png, temp, "reference", tuning="off")
            elif engine.name == "srfuse-direct":
                row = run_srfuse(args, size, input_png, temp, "jit", tuning="off")
            elif engine.name == "srfuse-bf16":
                row = run_srfuse(args, size, input_png, temp, "jit", precision="bf16", tuning="off")
            else:
                row = run_worker(args, engine, size, job_base, temp)
                versions.setdefault(engine.family, row["info"]["version"])
            row["engine"] = engine
            check_output(engine.name, size, row["output"], chw)
            rows.append(row)
            print(f"median {row['median_s']:.3f} s, setup {row['setup_s']:.2f} s, "
                  f"peak RSS {row['rss_mib']:.0f} MiB")
        results[size] = rows

    ref_name = "srfuse" if "srfuse" in names else ("torch" if "torch" in names else names[0])
    suspects = []
    for size, rows in results.items():
        ref = next(r for r in rows if r["engine"].name == ref_name)
        torch_row = next((r for r in rows if r["engine"].name == "torch"), None)
        for r in rows:
            out = np.clip(r["output"], 0.0, 1.0)
            r["psnr"] = psnr(out, np.clip(ref["output"], 0.0, 1.0))
            if torch_row is not None and ref_name != "torch":
                r["psnr_torch"] = psnr(out, np.clip(torch_row["output"], 0.0, 1.0))
            if r["engine"].precision == "fp32" and r["psnr"] < 60.0:
                r["suspect"] = True
                suspects.append(f"{r['engine'].name} at {size}x{size}: {r['psnr']:.1f} dB")
    srfuse_report = next((r["report"] for rows in results.values() for r in rows
                          if r["engine"].name == "srfuse"), None)
    peak = srfuse_report["peak_gflops"] if srfuse_report else None
    # The bf16 rows' own runs measure the vdpbf16ps peak (when bf16 ran).
    bf16_peaks = {size: r["report"] for size, rows in results.items() for r in rows
                  if r["engine"].name == "srfuse-bf16" and r["report"].get("precision") == "bf16"}

    versions.update({"Python": platform.python_version(), "NumPy": np.__version__})
    if needs_onnx:
        import onnx
        versions["ONNX export"] = f"torch.onnx (dynamo), onnx {onnx.__version__}"
    markdown = render(args, results, ref_name, peak, versions, inputs_described, params,
                      time.perf_counter() - started, bf16_peaks)
    print()
    print(markdown)
    args.output.write_text(markdown)
    print(f"peers: wrote {args.output}")
    return suspects


def render(args, results, ref_name, peak, versions, inputs_described, params, seconds,
           bf16_peaks):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    ref_title = "SRFuse" if ref_name == "srfuse" else "PyTorch eager"
    version_items = [f"{name} {value}" for name, value in versions.items()]
    command = "python3 benchmarks/peers.py " + shlex.join(sys.argv[1:])
    lines = [
        "# SRFuse and its peers: Real-ESRGAN x4plus on the CPU",
        "",
        f"Generated by `{command.strip()}` on {now} ({seconds / 60:.1f} minutes).",
        "",
        f"- Machine: {cpu_description()}.",
        f"- Versions: {'; '.join(version_items)}.",
        f"- Network: RRDBNet 64 features, 23 blocks, growth 32, x4 ({params:,} parameters), "
        f"the real weights of `{NCNN_MODEL}.param/.bin` (fp16 in the file, run in fp32 "
        "unless a row says otherwise).",
        f"- Batch 1, {args.threads} threads for every engine; peers: {args.warmup} warm-up + "
        f"{args.repeats} timed runs; SRFuse: {args.srfuse_warmup} warm-up + "
        f"{args.srfuse_repeats} timed runs. Times are medians in seconds of one inference "
        "(input already in memory, output left in the engine's own buffer).",
        f"- Inputs from `docs/sample/photo.png`, 16-bit: {'; '.join(inputs_described)}.",
    ]
    if peak:
        lines.append(f"- FMA peak of this machine at {args.threads} threads, measured by "
                     f"`srfuse bench`'s probe in this run: {peak:.1f} GFLOP/s.")
    for size, rows in results.items():
        report = next((r["report"] for r in rows if r["engine"].name == "srfuse"), None)
        if report:
            lines.append(f"- {size}x{size}, SRFuse tuned: convolutions {report.get('convolution_algorithms')}; "
                         f"{report.get('tuning_ms', 0):.0f} ms of its setup timed kernels.")
    for size, report in bf16_peaks.items():
        lines.append(f"- {size}x{size}, SRFuse bf16: {report['gflops']:.1f} GFLOP/s = "
                     f"{report['percent_of_peak']:.1f}% of the `vdpbf16ps` peak its own run "
                     f"measured ({report['peak_gflops']:.1f} GFLOP/s); against SRFuse fp32 in "
                     f"that run, on the same input: PSNR {report['psnr_vs_fp32_db']:.2f} dB on "
                     f"float outputs, largest difference {255 * report['max_difference_vs_fp32']:.2f}/255.")
    for size, rows in results.items():
        gflop = 2 * MACS_PER_PIXEL * size * size / 1e9
        lines += ["", f"## {size}x{size} → {SCALE * size}x{SCALE * size} ({gflop:.3f} GFLOP)", "",
                  table_for_size(size, rows, ref_name, peak)]
    notes = [
        "",
        "## Notes",
        "",
        f"- **GFLOP/s** = 2 × {MACS_PER_PIXEL:,} multiply-adds per input pixel (the 351 3x3 "
        "convolutions; activations, residual adds, concatenations and upsampling are not "
        "counted) ÷ median time. It is an *effective* rate: Winograd convolution (ncnn's "
        "default) does fewer real multiplications, so it can exceed the FMA peak.",
        f"- **× {ref_title} time** = engine median ÷ {ref_title} median from the same run: below 1 "
        f"the engine is faster than {ref_title}.",
        "- **Peak RSS** = ru_maxrss of the engine's own process (wait4() in a small launcher "
        "process, so the orchestrating process's memory is not inherited into the figure). The "
        "Python engines' figures include the interpreter, NumPy and the engine's libraries; "
        "SRFuse is one native process.",
        f"- **PSNR** is computed on [0, 1] against {ref_title}'s output, after clamping every "
        "output to [0, 1]."
        + (" SRFuse's output is read back from the 16-bit PNG that `srfuse bench --save-output` "
           "writes, so it is quantized to steps of 1/65535: that alone limits PSNRs to about "
           "107 dB (uniform quantization noise: 20·log10(65535) + 10·log10(12) = 107.1), so "
           "107.1 means agreement within the quantization step. **PSNR vs PyTorch** compares "
           "unquantized fp32 outputs (the peers') with PyTorch eager's, which shows how closely "
           "the fp32 engines agree below that cap (SRFuse's entry there is again capped by "
           "its 16-bit output)." if ref_name == "srfuse" else ""),
        "- **setup s**: preparation before the first run (SRFuse: `prepare_ms`: graph building, "
        "the passes, buffer planning, weight packing and kernel compilation (JIT) or interpreter "
        "set-up, after the weights are loaded; PyTorch: building the model and "
        "loading the state dict, plus compilation for torch.compile; ONNX Runtime: session "
        "creation; OpenVINO: compile_model; ncnn: load_param/load_model).",
        "- ONNX Runtime and OpenVINO run an ONNX file exported by `torch.onnx.export` (dynamo "
        "exporter, static input shape, one file per size) from the PyTorch model that the ncnn "
        "weights were converted to; ncnn runs the `.param/.bin` files directly.",
        "- † marks an extra row that is not fp32: OpenVINO's default inference precision on a "
        "CPU with AVX512-BF16 or AMX is bf16 (\"runs\" is the precision OpenVINO reports "
        "after compiling), and `srfuse bench --precision bf16` runs bf16 kernels where SRFuse "
        "uses them (\"runs\" is the `kernels` its JSON reports). Their PSNR shows the accuracy "
        "cost. SRFuse bf16 rounds convolution inputs and weights to bf16 and keeps sums, "
        "epilogues and stored activations in fp32.",
    ]
    ncnn_options = next((r["info"].get("options") for rows in results.values() for r in rows
                         if r["engine"].name == "ncnn"), None)
    if ncnn_options:
        on = [k for k, v in ncnn_options.items() if v]
        notes.append(f"- ncnn runs with its default options except Vulkan (off) and the thread "
                     f"count (the Winograd-off row also clears use_winograd23/43/63_convolution); "
                     f"options on in the default row: {', '.join(on)}. Its PSNR vs PyTorch shows "
                     "whether the fp16 options take effect on this CPU (fp32 agreement is above "
                     "120 dB, fp16 would be far below).")
    return "\n".join(lines + notes) + "\n"


if __name__ == "__main__":
    main(sys.argv[1:])
