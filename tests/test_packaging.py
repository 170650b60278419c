"""The package as it is built: every host subpackage and every shipped file is in the wheel's
configuration (``make wheel-check`` builds the wheel and runs the demo from it)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from sacrum import resources
from sacrum.io.capture import CaptureReader

ROOT = Path(__file__).resolve().parents[1]


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_host_subpackage_is_packaged():
    listed = set(_setuptools()["packages"])
    host = ROOT / "host"
    found = {".".join(p.parent.relative_to(host).parts)
             for p in (host / "sacrum").rglob("__init__.py")}
    assert found, "no packages found under host/"
    assert found <= listed, f"not in pyproject's packages (missing from a wheel): {found - listed}"


def test_every_firmware_folder_is_packaged():
    cfg = _setuptools()
    mapped = {v.rstrip("/") for k, v in cfg["package-dir"].items() if k.startswith("sacrum.")}
    folders = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "firmware").rglob("*.py")}
    assert folders <= mapped, f"firmware folders not shipped: {folders - mapped}"


def test_resources_are_the_files_the_tools_use():
    assert (resources.firmware_dir() / "main.py").is_file()
    assert (resources.firmware_dir() / "sim" / "run.py").is_file()
    assert resources.protocol_file().name == "sacrum_protocol.py"
    assert resources.pins_file().is_file()
    assert CaptureReader(resources.demo_capture()).header["transport"] == "simulator"
