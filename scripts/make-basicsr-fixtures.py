#!/usr/bin/env python3
"""Reference fixtures from the real BasicSR package (PyPI), for the training tool's tests.

    python3 scripts/make-basicsr-fixtures.py           # every fixture module
    python3 scripts/make-basicsr-fixtures.py metrics   # only scripts/basicsr_fixtures/metrics.py

The script creates `.venv-basicsr/` at the repository root (git-ignored) with pinned torch and
basicsr-fixed (BasicSR 1.4.2 with the torchvision import newer torchvision removed fixed; the
package is BasicSR's own code otherwise), unless it already runs inside a virtualenv that has
them, and re-executes itself with that venv's python.

Each module in scripts/basicsr_fixtures/ writes one kind of fixture into
Tests/Fixtures/basicsr/ through its `write(out_dir)` function, computing every reference value
with BasicSR's own functions (never a re-implementation of them). Fixed seeds and one thread, so
a re-run reproduces the files; Tests/Fixtures/basicsr/README.md lists what each file holds.
"""

import importlib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-basicsr"
OUT_DIR = REPO / "Tests" / "Fixtures" / "basicsr"
MODULES_DIR = Path(__file__).resolve().parent / "basicsr_fixtures"

REQUIREMENTS = [
    "torch==2.15.0",
    "torchvision==0.29.2",
    "basicsr-fixed==1.4.2",
    "numpy==2.4.6",
    "opencv-python==5.1.0.95",
    "scikit-image==0.26.0",
    "safetensors==0.8.0",
]
IMPORTS = ["torch", "basicsr", "numpy", "cv2", "safetensors"]


def ensure_environment(script=Path(__file__).resolve()):
    """Continue in this interpreter if it is a venv with every dependency, else re-execute
    `script` (this one, or a benchmark that needs BasicSR too) in our own venv."""
    import importlib.util
    if sys.prefix != sys.base_prefix and all(importlib.util.find_spec(m) for m in IMPORTS):
        return
    if os.environ.get("SRFUSE_BASICSR_REEXEC"):
        sys.exit(f"make-basicsr-fixtures: {sys.executable} still lacks one of {IMPORTS} after setup")
    python = VENV / "bin" / "python"
    marker = VENV / "srfuse-requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if not python.exists() or not marker.exists() or marker.read_text() != wanted:
        print(f"make-basicsr-fixtures: creating {VENV} (torch from PyPI is large; this takes a while)", flush=True)
        run([sys.executable, "-m", "venv", str(VENV)], "could not create the virtualenv (Debian: apt-get install python3-venv)")
        run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], "pip could not install the fixture dependencies")
        marker.write_text(wanted)
    os.environ["SRFUSE_BASICSR_REEXEC"] = "1"
    os.execv(str(python), [str(python), str(script), *sys.argv[1:]])


def run(cmd, message):
    if subprocess.run(cmd).returncode != 0:
        sys.exit(f"make-basicsr-fixtures: {message}: {' '.join(map(str, cmd))}")


def main():
    ensure_environment()
    import torch
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    sys.path.insert(0, str(MODULES_DIR.parent))
    names = sys.argv[1:] or sorted(p.stem for p in MODULES_DIR.glob("*.py") if not p.stem.startswith("_"))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name in names:
        module = importlib.import_module(f"basicsr_fixtures.{name}")
        print(f"make-basicsr-fixtures: {name}", flush=True)
        module.write(OUT_DIR)


if __name__ == "__main__":
    main()
