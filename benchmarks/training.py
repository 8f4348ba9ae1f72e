#!/usr/bin/env python3
"""Time one whole training step: SRFuse `bench --train` beside PyTorch eager and torch.compile.

    .venv-fixtures/bin/python benchmarks/training.py                 # x4plus and animevideov3
    .venv-fixtures/bin/python benchmarks/training.py --torch-compile # adds torch.compile rows

A step is what BasicSR's SRModel does per iteration: the network on a batch of LR patches, the
L1 loss against the HR patches, the backward pass and an Adam update (lr 1e-4, betas 0.9/0.99,
the released SR configs'). The networks carry their real weights, converted from the ncnn files
($SRFUSE_MODELS, else <repo>/models; run scripts/fetch-models) by scripts/make-fixtures.py's
converter: RealESRGAN_x4plus (RRDBNet 64/23/32) and realesr-animevideov3 (SRVGGNetCompact 64/16).
Inputs: batch 4 of 32x32 LR patches and 128x128 HR patches (random values: timing does not
depend on them). Every engine runs in its own process with the same thread count; warm-up
steps, then timed steps. The engines take turns (SRFuse, PyTorch, torch.compile, then again)
for --rounds rounds, so a drift of the shared machine's speed hits them alike: the table gives
the median of each engine's per-round medians and the median of the per-round ratios to
PyTorch eager. Peak RSS is that process's ru_maxrss (this script does not import torch itself,
so the processes it starts do not inherit its size).

Run it with a python that has the pinned torch of scripts/make-fixtures.py (that script creates
.venv-fixtures/). The table goes to stdout and benchmarks/TRAINING.md (--output), with the CPU.
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = Path(os.environ.get("SRFUSE_MODELS", REPO / "models"))
NETWORKS = {
    "realesrgan-x4plus": ("REALESRGAN_X4PLUS_UP4X", "rrdbnet_from_ncnn"),
    "realesr-animevideov3": ("REALESRGAN_ANIMAVIDEOV3_UP4X", "srvgg_from_ncnn"),
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--patch", type=int, default=32)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2, help="turns of every engine, interleaved")
    p.add_argument("--backend", default="jit", help="SRFuse's backend: jit or reference")
    p.add_argument("--networks", default=",".join(NETWORKS))
    p.add_argument("--torch-compile", action="store_true", help="add torch.compile rows (slow to compile)")
    p.add_argument("--srfuse", type=Path, default=REPO / ".build" / "release" / "srfuse")
    p.add_argument("--output", type=Path, default=REPO / "benchmarks" / "TRAINING.md")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one PyTorch run, as JSON
    return p.parse_args()


def fail(message):
    sys.exit(f"training.py: {message}")


def torch_worker(spec):
    """One engine in this process: the steps' times and this process's peak RSS."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(spec["threads"])
    sys.modules.setdefault("ncnn", types.ModuleType("ncnn"))  # make-fixtures imports it; unused here
    loader = importlib.util.spec_from_file_location("make_fixtures", REPO / "scripts" / "make-fixtures.py")
    fixtures = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(fixtures)
    ncnn_name, converter = NETWORKS[spec["network"]]
    config, state = getattr(fixtures, converter)(MODELS_DIR / f"{ncnn_name}.param", MODELS_DIR / f"{ncnn_name}.bin")
    model = fixtures.build(config)
    model.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    model.train()
    scale = config.get("scale", config.get("upscale"))
    generator = torch.Generator().manual_seed(0)
    b, s = spec["batch"], spec["patch"]
    lq = torch.rand(b, 3, s, s, generator=generator)
    gt = torch.rand(b, 3, s * scale, s * scale, generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.99))
    forward = torch.compile(model) if spec["engine"] == "torch-compile" else model

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.l1_loss(forward(lq), gt)
        loss.backward()
        optimizer.step()
        return loss.item()

    started = time.perf_counter()
    for _ in range(spec["warmup"]):
        step()
    warm = time.perf_counter() - started
    times = []
    for _ in range(spec["repeats"]):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"median_ms": 1000 * statistics.median(times), "peak_rss_mib": peak, "warmup_s": warm}))


def run_torch(args, network, engine):
    spec = dict(network=network, engine=engine, threads=args.threads, batch=args.batch, patch=args.patch,
                warmup=args.warmup + (1 if engine == "torch-compile" else 0), repeats=args.repeats)
    result = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"{engine} on {network} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_srfuse(args, network):
    if not args.srfuse.exists():
        fail(f"{args.srfuse} is missing: run swift build -c release")
    command = [str(args.srfuse), "bench", "--train", "--model", network, "--backend", args.backend, "--json",
               "--batch", str(args.batch), "--patch", str(args.patch), "--threads", str(args.threads),
               "--warmup", str(args.warmup), "--repeats", str(args.repeats)]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "SRFUSE_MODELS": str(MODELS_DIR)})
    if result.returncode != 0:
        fail(f"srfuse on {network} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main():
    args = parse_args()
    if args.worker:
        return torch_worker(json.loads(args.worker))
    # Not imported here: a child's ru_maxrss starts at its parent's resident size when it is
    # forked, so this process must stay small for the engines' peak RSS to be their own.
    if importlib.util.find_spec("torch") is None:
        fail("this python has no torch: run it with .venv-fixtures/bin/python (scripts/make-fixtures.py creates it)")
    srfuse_name = "srfuse (jit)" if args.backend == "jit" else f"srfuse ({args.backend})"
    rows = []
    for network in args.networks.split(","):
        torch_engines = ["torch"] + (["torch-compile"] if args.torch_compile else [])
        runs = {name: [] for name in [srfuse_name] + torch_engines}
        for _ in range(args.rounds):
            runs[srfuse_name].append(run_srfuse(args, network))
            for engine in torch_engines:
                runs[engine].append(run_torch(args, network, engine))
        # Per round: each engine against PyTorch eager of the same round.
        eager = [r["median_ms"] for r in runs["torch"]]
        reference = runs[srfuse_name][-1]
        for engine, results in runs.items():
            ms = statistics.median(r["median_ms"] for r in results)
            ratio = statistics.median(e / r["median_ms"] for e, r in zip(eager, results))
            peak = statistics.median(r["peak_gflops"] for r in runs[srfuse_name])
            percent = reference["gflop"] / (ms / 1000) / peak * 100
            rss = max(r["peak_rss_mib"] for r in results)
            rows.append((network, engine, ms, ratio, percent, rss, [round(r["median_ms"]) for r in results]))
        print(f"{network}: done", file=sys.stderr)

    date = datetime.date.today().isoformat()
    lines = [
        "# Training step: SRFuse beside PyTorch",
        "",
        f"Measured {date} on {cpu_model()}, {args.threads} threads, by `benchmarks/training.py`: one step",
        f"(forward, L1, backward, Adam) on batch {args.batch} of {args.patch}x{args.patch} LR patches, real weights.",
        "Percent of peak counts 3x the forward FLOPs against the FMA peak SRFuse measured in its runs.",
        f"The engines took turns for {args.rounds} rounds; step is the median of the rounds' medians, the",
        "speed-up the median of the rounds' ratios to PyTorch eager (faster than eager: above 1).",
        "",
        "| network | engine | step (ms) | speed vs PyTorch eager | % of FMA peak | peak RSS (MiB) | rounds (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for network, engine, ms, ratio, percent, rss, rounds in rows:
        lines.append(f"| {network} | {engine} | {ms:.0f} | {ratio:.2f}x | {percent:.1f} | {rss:.0f} | {', '.join(map(str, rounds))} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
