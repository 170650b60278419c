"""Files the host tool ships besides its code: the firmware, the shared codec, the board's pin
map and the demo capture.

In a source checkout (``pip install -e .``) these are the repository's own ``firmware/``,
``protocol/sacrum_protocol.py``, ``hardware/pins.json`` and ``host/sacrum/data/``; in an
installed wheel the same files are package data (pyproject.toml maps ``firmware/`` to the
package ``sacrum.firmware`` and ``hardware/pins.json`` into ``sacrum.hardware``). Both are found
through the import system, so ``sacrum flash``, ``sacrum simulate`` and ``sacrum demo``
behave the same either way.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sacrum_protocol

#: The capture ``sacrum demo`` replays (137.5 s of Mobilise-D HA/001, Apache-2.0: see
#: ``sacrum/data/NOTICE.md``).
DEMO_CAPTURE_NAME = "mobgap_ha001_daily_activities.sacrum"


_CHECKOUT = Path(__file__).resolve().parents[2]  # the repository, when run from a checkout


def _dir(package: str, in_checkout: str) -> Path:
    """The folder of a data package: inside the installed package (a wheel), or, in an editable
    install, the checkout's own folder (setuptools' editable finder does not map a folder
    without ``__init__.py`` below a regular package)."""
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if (_CHECKOUT / in_checkout).is_dir():
        return _CHECKOUT / in_checkout
    raise FileNotFoundError(f"{package} is not installed with sacrum; reinstall it "
                            "(`pip install sacrum`, or `make` in a checkout)")


def firmware_dir() -> Path:
    """The MicroPython firmware sources (``main.py``, ``app.py``, ...; ``sim/`` beside them)."""
    return _dir("sacrum.firmware", "firmware")


def protocol_file() -> Path:
    """The shared codec ``sacrum_protocol.py`` (it runs on the device too)."""
    return Path(sacrum_protocol.__file__)


def pins_file() -> Path:
    """``pins.json``, the board's pin map that the firmware's ``main.py`` reads."""
    return _dir("sacrum.hardware", "hardware") / "pins.json"


def demo_capture() -> Path:
    """The bundled capture ``sacrum demo`` replays."""
    return _dir("sacrum.data", "host/sacrum/data") / DEMO_CAPTURE_NAME
