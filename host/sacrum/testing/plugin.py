"""pytest plugin: test code written against bleak with recorded sacrum sessions.

Opt-in (see ``pytest_sacrum`` for the three ways to enable it; docs/testing.md). Fixtures:

* ``sacrum_capture`` -- the path of the capture (or btsnoop log) a test replays: the
  ``sacrum_capture(path)`` marker (relative to the test file), else ``--sacrum-capture``
  (relative to the working directory), else the ``sacrum_capture`` ini value (relative to
  the ini file), else the capture bundled with sacrum (``sacrum.resources.demo_capture``).
* ``sacrum_replay`` -- a :class:`~sacrum.testing.ReplayDevice` of that capture, made
  bleak's default backend for the test (``ReplayDevice.patch_bleak``): the app's own
  ``BleakScanner`` finds it and its ``BleakClient`` connects to it. Pace: markers
  ``sacrum_fast`` (as fast as the app takes data; the default), ``sacrum_realtime``,
  ``sacrum_speed(x)``; ``--sacrum-speed`` / ini ``sacrum_speed`` change the default.
  Faults: marker ``sacrum_faults(drop=..., corrupt=..., disconnect_at_s=..., outage_s=...)``;
  other device options: marker ``sacrum_device(**options)``.
* ``sacrum_phantom`` -- a factory: ``sacrum_phantom(rate_hz=..., mount=..., drop_deg=...,
  ...)`` writes a phantom walk's capture into the test's tmp_path and returns its
  :class:`~sacrum.testing.PhantomWalk` (the known drop and cadence).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sacrum.testing.faults import Faults
from sacrum.testing.phantom import PhantomWalk, phantom_walk
from sacrum.testing.recording import RecordingError
from sacrum.testing.replay_client import ReplayDevice

MARKERS = (
    "sacrum_capture(path): the capture or btsnoop log sacrum_capture and sacrum_replay use "
    "(relative to the test file)",
    "sacrum_fast: replay as fast as the app takes the data",
    "sacrum_realtime: replay at the recorded pace",
    "sacrum_speed(x): replay x times faster than recorded",
    "sacrum_faults(drop=(), corrupt=(), disconnect_at_s=(), outage_s=1.0): faults the "
    "replayed device injects (sacrum.testing.Faults)",
    "sacrum_device(**options): other ReplayDevice options (at_end, mtu, name, address, "
    "wait_for_start)",
)
_PACE = ("sacrum_fast", "sacrum_realtime", "sacrum_speed")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sacrum", "sacrum replayed BLE sessions")
    group.addoption("--sacrum-capture", metavar="PATH", default=None,
                    help="capture or btsnoop log for the sacrum_capture fixture")
    group.addoption("--sacrum-speed", metavar="X", default=None,
                    help="default replay pace: 'fast' (as fast as possible), 'realtime', or "
                    "a factor (10 = ten times faster than recorded)")
    parser.addini("sacrum_capture", "capture or btsnoop log for the sacrum_capture fixture "
                  "(relative to the ini file)", default="")
    parser.addini("sacrum_speed", "default replay pace: fast, realtime or a factor",
                  default="fast")


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    _default_speed(config)  # a bad --sacrum-speed / ini value stops the run with one line


def _default_speed(config: pytest.Config) -> float | None:
    cli = config.getoption("sacrum_speed")
    return parse_speed(cli if cli is not None else config.getini("sacrum_speed"))


def parse_speed(text: str) -> float | None:
    """'fast' -> None, 'realtime' -> 1.0, '10' -> 10.0 (UsageError otherwise)."""
    t = str(text).strip().lower()
    if t in ("", "fast", "none"):
        return None
    if t in ("realtime", "real-time"):
        return 1.0
    try:
        speed = float(t)
    except ValueError:
        speed = 0.0
    if not speed > 0:
        raise pytest.UsageError(f"sacrum replay speed {text!r} is not 'fast', 'realtime' or a "
                                "factor > 0")
    return speed


def _speed(request: pytest.FixtureRequest) -> float | None:
    for mark in request.node.iter_markers():
        if mark.name == "sacrum_fast":
            return None
        if mark.name == "sacrum_realtime":
            return 1.0
        if mark.name == "sacrum_speed":
            if len(mark.args) != 1:
                pytest.fail("sacrum_speed takes one factor: @pytest.mark.sacrum_speed(10)",
                            pytrace=False)
            try:
                return parse_speed(mark.args[0])
            except pytest.UsageError as e:
                pytest.fail(str(e), pytrace=False)
    return _default_speed(request.config)


def _faults(request: pytest.FixtureRequest) -> Faults | None:
    mark = request.node.get_closest_marker("sacrum_faults")
    if mark is None:
        return None
    if mark.args:
        if len(mark.args) == 1 and isinstance(mark.args[0], Faults) and not mark.kwargs:
            return mark.args[0]
        pytest.fail("sacrum_faults takes keywords (drop=, corrupt=, disconnect_at_s=, "
                    "outage_s=) or one sacrum.testing.Faults", pytrace=False)
    try:
        return Faults.of(**mark.kwargs)
    except (TypeError, ValueError) as e:
        pytest.fail(f"sacrum_faults: {e}", pytrace=False)


@pytest.fixture
def sacrum_capture(request: pytest.FixtureRequest) -> Path:
    """The capture (or btsnoop log) this test replays (see the module docstring)."""
    config = request.config
    mark = request.node.get_closest_marker("sacrum_capture")
    if mark is not None:
        if len(mark.args) != 1:
            pytest.fail("sacrum_capture takes one path: @pytest.mark.sacrum_capture('x.sacrum')",
                        pytrace=False)
        path, where = request.path.parent / Path(mark.args[0]), "the sacrum_capture marker"
    elif config.getoption("sacrum_capture"):
        path = config.invocation_params.dir / Path(config.getoption("sacrum_capture"))
        where = "--sacrum-capture"
    elif config.getini("sacrum_capture"):
        base = config.inipath.parent if config.inipath else config.rootpath
        path, where = base / Path(config.getini("sacrum_capture")), "the sacrum_capture ini value"
    else:
        from sacrum.resources import demo_capture

        return demo_capture()
    if not path.is_file():
        pytest.fail(f"{where} names {path}, which is not a file", pytrace=False)
    return path


@pytest.fixture
def sacrum_replay(request: pytest.FixtureRequest, sacrum_capture: Path
                  ) -> Iterator[ReplayDevice]:
    """A replayed sensor of ``sacrum_capture``, bleak's default backend for this test."""
    mark = request.node.get_closest_marker("sacrum_device")
    options: dict[str, Any] = dict(mark.kwargs) if mark is not None else {}
    try:
        device = ReplayDevice(sacrum_capture, speed=_speed(request), faults=_faults(request),
                              **options)
    except (RecordingError, TypeError, ValueError) as e:
        pytest.fail(f"sacrum_replay: {e}", pytrace=False)
    with device.patch_bleak():
        yield device


@pytest.fixture
def sacrum_phantom(tmp_path: Path) -> Callable[..., PhantomWalk]:
    """``sacrum_phantom(**options)`` -> a :class:`~sacrum.testing.PhantomWalk` written into
    tmp_path (options of :func:`sacrum.testing.phantom_walk`: rate_hz, mount, drop_deg,
    step_s, n_steps, mtu, seed)."""
    counter = itertools.count()

    def make(**options: Any) -> PhantomWalk:
        return phantom_walk(tmp_path / f"phantom-{next(counter)}.sacrum", **options)

    return make
