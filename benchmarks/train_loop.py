#!/usr/bin/env python3
"""Iterations per second of `srfuse train` beside BasicSR's own training loop, and beside
`srfuse bench --train` (the step alone), on one option file.

    python3 benchmarks/train_loop.py                       # the x4plus fine-tune and the small SRVGG
    python3 benchmarks/train_loop.py --configs configs/train/srvgg_x4_small.yml --iterations 40

Both tools read the same BasicSR option file, changed only where a benchmark needs it: a paired
LQ folder made once with BasicSR's own `imresize` (so neither tool resizes while it trains),
`print_freq: 1`, no validation, no checkpoint before the end, `total_iter` = --iterations, and
BasicSR's data-loader keys (SRFuse reports them as ignored): --basicsr-workers data-loader
workers, 0 by default, BasicSR's fastest setting on 2 cores (a worker process competes with the
two compute threads: with one worker its x4plus iterations took 3.3x SRFuse's instead of 1.3x,
on an AMD EPYC). A pretrained generator is converted for BasicSR by `srfuse
interpolate W W --alpha 0 -o W.pth` (the identity blend), so BasicSR loads SRFuse's .pth with
strict_load_g. BasicSR runs its real `train_pipeline` on the CPU (num_gpu 0).

An iteration's time is the wall time between consecutive per-iteration log lines (it includes
waiting for data); the first --skip iterations are dropped and the median of the rest is
reported. The tools take turns --rounds times, and each round's ratio is reported, so a drift
of the shared machine hits both alike. BasicSR turns total_iter into whole epochs, and with few
images and drop_last an epoch has fewer batches than it counts on, so it stops early (about
half of --iterations on the five sample images): its median has fewer iterations behind it.
`srfuse bench --train` times the same network, batch and patch on random data, on the weights
the last `srfuse train` run saved. The table, with the CPU, goes to stdout and --output.

Needs BasicSR: runs inside `.venv-basicsr` (scripts/make-basicsr-fixtures.py creates it, and
this script re-executes itself there the same way) and a release srfuse
(`swift build -c release --product srfuse`).
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CONFIGS = ["configs/train/realesrnet_x4plus_finetune.yml", "configs/train/srvgg_x4_small.yml"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS)
    p.add_argument("--iterations", type=int, default=25)
    p.add_argument("--skip", type=int, default=5, help="iterations dropped from each run (warm-up)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--basicsr-workers", type=int, default=0, help="BasicSR's num_worker_per_gpu")
    p.add_argument("--srfuse", type=Path, default=REPO / ".build" / "release" / "srfuse")
    p.add_argument("--output", type=Path, default=REPO / "benchmarks" / "TRAINING-LOOP.md")
    return p.parse_args()


def fail(message):
    sys.exit(f"train_loop.py: {message}")


def ensure_basicsr():
    """The fixture script's pinned venv, re-executing this script inside it."""
    spec = importlib.util.spec_from_file_location("make_basicsr_fixtures", REPO / "scripts" / "make-basicsr-fixtures.py")
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    fixtures.ensure_environment(script=Path(__file__).resolve())


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def make_lq_folder(gt_dir, lq_dir, scale):
    """LQ = BasicSR's imresize(GT mod-cropped, 1/scale), rounded to 8 bits, as PNGs of the GT's names."""
    import cv2
    import numpy as np
    from basicsr.utils.matlab_functions import imresize
    lq_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(gt_dir.glob("*.png")):
        gt = cv2.imread(str(path), cv2.IMREAD_COLOR)
        gt = gt[: gt.shape[0] // scale * scale, : gt.shape[1] // scale * scale]
        cv2.imwrite(str(path), gt)  # the GT both tools read: 8-bit BGR, mod-cropped
        lq = imresize(gt.astype(np.float64) / 255.0, 1 / scale)
        cv2.imwrite(str(lq_dir / path.name), np.clip(np.round(lq * 255), 0, 255).astype(np.uint8))


def benchmark_options(config, work, args):
    """The option file both tools run, and the network's type."""
    import yaml
    options = yaml.safe_load(config.read_text())
    scale = options["scale"]
    train = options["datasets"]["train"]
    data = work / "data"
    if not (data / "lq").exists():
        shutil.copytree(REPO / train["dataroot_gt"], data / "gt")
        make_lq_folder(data / "gt", data / "lq", scale)
    train.update(dataroot_gt=str(data / "gt"), dataroot_lq=str(data / "lq"), name="bench", phase="train",
                 io_backend={"type": "disk"}, num_worker_per_gpu=args.basicsr_workers, dataset_enlarge_ratio=1, prefetch_mode=None)
    options["datasets"] = {"train": train}
    options.pop("val", None)
    options["num_gpu"] = 0
    options["train"]["total_iter"] = args.iterations
    options["logger"] = {"print_freq": 1, "save_checkpoint_freq": 10**9, "use_tb_logger": False}
    options.setdefault("path", {})
    pretrained = options["path"].get("pretrain_network_g")
    if pretrained:
        converted = work / "pretrained.pth"
        if not converted.exists():
            source = str(REPO / pretrained)
            run([str(args.srfuse), "interpolate", source, source, "--alpha", "0", "-o", str(converted)])
        options["path"]["pretrain_network_g"] = str(converted)
        options["path"]["param_key_g"] = "params"
    path = work / "options.yml"
    path.write_text(yaml.safe_dump(options, sort_keys=False))
    return path, options


def run(command, cwd=None, env=None):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def srfuse_train_times(options_path, work, args):
    """Seconds per iteration from scalars.csv's it_per_s (one row per iteration: print_freq 1)."""
    folder = work / "srfuse"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    run([str(args.srfuse), "train", str(options_path), "--threads", str(args.threads)], cwd=folder)
    csv = next(folder.glob("experiments/*/scalars.csv")).read_text().splitlines()[1:]
    return [1 / float(value) for _, name, value in (row.split(",") for row in csv) if name == "it_per_s"]


def basicsr_train_times(options_path, work, args):
    """Seconds per iteration: the gaps between BasicSR's per-iteration log lines' timestamps."""
    folder = work / "basicsr"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    script = ("import sys, torch; torch.set_num_threads(%d); sys.argv = ['train', '-opt', %r]; "
              "from basicsr.train import train_pipeline; train_pipeline(%r)") % (args.threads, str(options_path), str(folder))
    run([sys.executable, "-c", script], cwd=folder, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
    log = next(folder.glob("experiments/*/train_*.log")).read_text()
    stamps = [datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
              for m in re.finditer(r"^(\S+ \S+) INFO: \[.*iter:\s*[\d,]+", log, re.MULTILINE)]
    data = [float(m.group(1)) for m in re.finditer(r"time \(data\): [\d.]+ \(([\d.]+)\)", log)]
    print(f"  BasicSR's own average data time at the end: {data[-1] * 1000:.0f} ms/it" if data else "  (no data time logged)", flush=True)
    return [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])]


def bench_step_ms(options, work, args):
    """`srfuse bench --train` on the network srfuse train just saved (its architecture exactly)."""
    weights = next((work / "srfuse").glob(f"experiments/*/models/net_g_{args.iterations}.pth"))
    patch = options["datasets"]["train"]["gt_size"] // options["scale"]
    batch = options["datasets"]["train"]["batch_size_per_gpu"]
    loss = {"L1Loss": "l1", "MSELoss": "mse", "CharbonnierLoss": "charbonnier"}[options["train"]["pixel_opt"]["type"]]
    result = run([str(args.srfuse), "bench", "--train", "--weights", str(weights), "--batch", str(batch),
                  "--patch", str(patch), "--loss", loss, "--threads", str(args.threads), "--json"])
    report = json.loads(result.stdout)
    return report["median_ms"], report["percent_of_peak"]


def steady(times, skip):
    kept = times[skip:]
    if not kept:
        fail(f"only {len(times)} iterations timed; raise --iterations above --skip ({skip})")
    return statistics.median(kept)


def main():
    ensure_basicsr()
    args = parse_args()
    if not args.srfuse.exists():
        fail(f"{args.srfuse} is missing: swift build -c release --product srfuse")
    rows = []
    for config in args.configs:
        with tempfile.TemporaryDirectory(prefix="srfuse-train-loop-") as temporary:
            work = Path(temporary)
            options_path, options = benchmark_options(REPO / config, work, args)
            rounds = []
            for _ in range(args.rounds):
                srfuse_s = steady(srfuse_train_times(options_path, work, args), args.skip)
                basicsr_s = steady(basicsr_train_times(options_path, work, args), args.skip)
                rounds.append((srfuse_s, basicsr_s))
                print(f"{config}: srfuse train {srfuse_s * 1000:.0f} ms/it, BasicSR {basicsr_s * 1000:.0f} ms/it", flush=True)
            step_ms, step_peak = bench_step_ms(options, work, args)
        srfuse_ms = statistics.median(r[0] for r in rounds) * 1000
        basicsr_ms = statistics.median(r[1] for r in rounds) * 1000
        speedups = ", ".join(f"{b / s:.2f}x" for s, b in rounds)
        train = options["datasets"]["train"]
        rows.append(f"| {Path(config).name} | {options['network_g']['type']} | {train['batch_size_per_gpu']} x {train['gt_size']} GT "
                    f"| {step_ms:.0f} ({step_peak:.0f}% of peak) | {srfuse_ms:.0f} ({step_peak * step_ms / srfuse_ms:.0f}%) | {srfuse_ms / step_ms:.2f} "
                    f"| {basicsr_ms:.0f} | {speedups} |")
    table = "\n".join([
        f"Measured {datetime.date.today()} on {cpu_model()}, {args.threads} threads; {args.iterations} iterations per run, "
        f"the first {args.skip} dropped, {args.rounds} rounds taking turns; BasicSR with {args.basicsr_workers} data-loader workers.",
        "",
        "| Config | Network | Batch | `bench --train` step (ms, FMA peak) | `srfuse train` (ms/it) | train / step "
        "| BasicSR `train_pipeline` (ms/it) | SRFuse speed-up per round |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ])
    print(table)
    args.output.write_text("# `srfuse train` against BasicSR's loop\n\nWritten by `benchmarks/train_loop.py`.\n\n" + table + "\n")


if __name__ == "__main__":
    main()
