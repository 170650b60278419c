"""sacrum.streaming: every streaming stage follows the one protocol, and the shared
chunk-invariance check (tests/streaming.py) catches a stage that depends on the chunking."""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil

import numpy as np
import pytest

from sacrum.signal.heading import ProgressionHeading
from sacrum.signal.mounting import parse_mount
from sacrum.signal.pipeline import Pipeline
from sacrum.signal.sitting import SittingCheck
from sacrum.signal.standing import StandingDetector
from sacrum.streaming import StreamProcessor
from sacrum.testing.walking_phantom import walking_phantom
from streaming import assert_chunk_invariant, bounds, feed, join, random_sizes

RATE = 100.0
RECOMMENDED = parse_mount("recommended")
STAGES = ("sacrum.signal", "sacrum.scoring")   # the gait stage is sacrum.signal.gait


def _modules():
    for name in STAGES:
        mod = importlib.import_module(name)
        yield mod
        if hasattr(mod, "__path__"):
            for info in pkgutil.walk_packages(mod.__path__, name + "."):
                yield importlib.import_module(info.name)


def _streaming_classes():
    """Every class of the signal and scoring stages (and the gait stage) with an
    ``update`` method: the streaming stages."""
    seen = {}
    for mod in _modules():
        for _, cls in inspect.getmembers(mod, inspect.isclass):
            if cls.__module__ == mod.__name__ and callable(getattr(cls, "update", None)):
                seen[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return seen


def test_the_stages_are_found():
    names = set(_streaming_classes())
    for expected in ("sacrum.signal.orientation.OrientationFilter",
                     "sacrum.signal.pipeline.Pipeline", "sacrum.signal.heading.ProgressionHeading",
                     "sacrum.scoring.metrics.StepMetricsStream",
                     "sacrum.scoring.tasks.repetitions.RepetitionCounter"):
        assert expected in names


@pytest.mark.parametrize("name", sorted(_streaming_classes()))
def test_every_streaming_stage_has_update_flush_and_reset(name):
    cls = _streaming_classes()[name]
    missing = [m for m in ("update", "flush", "reset") if not callable(getattr(cls, m, None))]
    assert not missing, f"{name} lacks {missing}"
    assert issubclass(cls, StreamProcessor)
    # parameters in __init__: update takes the chunk, flush and reset nothing
    for method in ("flush", "reset"):
        params = list(inspect.signature(getattr(cls, method)).parameters)
        assert params == ["self"], f"{name}.{method}{params}"


@pytest.fixture(scope="module")
def walk():
    ph = walking_phantom(seed=2, n_steps=30)
    pipe = Pipeline(RATE, RECOMMENDED)
    out = pipe.update(ph["t"], ph["acc"], ph["gyr"])
    body = pipe.angles.decompose(out.q_sensor_to_earth)
    return ph, out, body


def test_progression_heading_is_chunk_invariant(walk):
    _, _, body = walk
    yaw = body[:, 2].copy()
    yaw[700:720] = np.nan  # lost samples
    heading, settled = assert_chunk_invariant(lambda: ProgressionHeading(RATE), (yaw,),
                                              [1, 11, random_sizes(4, 1, 120)], atol=1e-9)
    assert np.isfinite(heading[100:]).mean() > 0.95 and settled.any()


def test_standing_detector_finds_the_standing_at_the_same_sample_in_any_chunks(walk):
    ph, out, body = walk
    args = (out.q_sensor_to_earth, body, ph["acc"], ph["gyr"])
    hits = set()
    for sizes in (None, 1, 7, random_sizes(5, 1, 90)):
        det, hit = StandingDetector(RATE), None
        for a, b in bounds(len(ph["t"]), sizes):
            found = det.update(*(x[a:b] for x in args))
            if found is not None:
                hit = (a + found[0], found[1])
                break
        assert hit is not None
        hits.add(hit[0])
        np.testing.assert_array_equal(hit[1], out.q_sensor_to_earth[hit[0] - 199:hit[0] + 1])
    assert len(hits) == 1
    assert ph["t"][hits.pop()] == pytest.approx(2.0 - 1 / RATE, abs=0.3)  # 2 s of standing


def test_sitting_check_decides_at_the_same_sample_in_any_chunks():
    """A 50° lean, back, then 10° anterior for 4 s: sitting, decided at one sample."""
    n = 1200
    tilt = np.r_[np.zeros(100), np.linspace(0, math.radians(50), 50),
                 np.linspace(math.radians(50), math.radians(10), 50),
                 np.full(n - 200, math.radians(10))]
    q = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))

    def decided(sizes):
        check = SittingCheck(RATE)
        check.arm()
        for a, b in bounds(n, sizes):
            found = check.update(tilt[a:b], q[a:b])
            if found is not None:
                return a + found.index, found
        return None

    whole = decided(None)
    assert whole is not None and not math.isnan(whole[1].tilt_mean_rad)
    for sizes in (1, 13, random_sizes(6, 1, 200)):
        got = decided(sizes)
        assert got[0] == whole[0]
        assert got[1].tilt_mean_rad == pytest.approx(whole[1].tilt_mean_rad, abs=1e-12)
    # standing bent forward, then level: the check gives up, nothing found
    level = tilt.copy()
    level[200:] = 0.0
    check = SittingCheck(RATE)
    check.arm()
    assert check.update(level, q) is None and not check.armed


class _ChunkDependent:
    """Sums each chunk: a stage whose output depends on the chunking."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.n = 0

    def update(self, x):
        self.n += 1
        return np.full(len(x), float(np.sum(x)))

    def flush(self):
        return np.zeros(0)


def test_the_check_catches_a_chunk_dependent_stage():
    x = np.arange(100.0)
    with pytest.raises(AssertionError):
        assert_chunk_invariant(_ChunkDependent, (x,), [10])
    # and the joined output is what the updates gave
    assert join(feed(_ChunkDependent(), (x,), 50)).tolist() == [1225.0] * 50 + [3725.0] * 50


def test_the_check_catches_a_reset_that_forgets_nothing():
    class Counting(_ChunkDependent):
        def update(self, x):
            self.n += len(x)
            return np.full(len(x), float(self.n))

        def reset(self):
            if not hasattr(self, "n"):
                self.n = 0

    x = np.zeros(30)
    with pytest.raises(AssertionError, match="after reset"):
        assert_chunk_invariant(Counting, (x,), [30])


def test_bounds_cycle_sizes_and_refuse_sizes_that_do_not_advance():
    assert bounds(10, None) == [(0, 10)]
    assert bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert bounds(10, [3, 0, 5]) == [(0, 3), (3, 3), (3, 8), (8, 10)]
    with pytest.raises(ValueError):
        bounds(10, [0])

