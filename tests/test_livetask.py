"""sacrum.scoring.livetask: single-leg stance and step-down/up scored live, with the offline
code."""

from __future__ import annotations

import math

import numpy as np
import pytest

from phantoms import sls_phantom, step_phantom
from sacrum.scoring.livetask import LiveTaskTracker
from sacrum.scoring.score import load_bands, score_repetitions, score_single_leg_stance
from sacrum.scoring.tasks import repetitions, single_leg_stance


def _feed(tr: LiveTaskTracker, t, ang, gyr, acc, n: int = 40):
    ups = [tr.update(t[i:i + n], ang[i:i + n], gyr[i:i + n], acc[i:i + n])
           for i in range(0, len(t), n)]
    return ups, tr.flush()


def test_live_stance_ends_with_the_offline_result_and_shows_the_hold_growing():
    t, ang, gyr, acc, truth = sls_phantom("R", drop_deg=5.0, hold_s=12.0)
    ups, last = _feed(LiveTaskTracker("single-leg-stance-right"), t, ang, gyr, acc)
    off = single_leg_stance(t, ang, gyr, "R", acc_body_mps2=acc)
    assert last.summary["drop_mean_deg"] == pytest.approx(
        math.degrees(off.drop_mean_rad), abs=1e-9)
    assert last.summary["drop_mean_deg"] == pytest.approx(5.0, abs=0.5)
    summary = {k: v for k, v in off.to_dict_deg().items() if k not in ("messages", "side")}
    expected = score_single_leg_stance(summary | {"n_trials": 1}, load_bands(),
                                       task="single-leg-stance-right")
    assert last.score.score == expected.score
    held = [u.summary["time_held_s"] for u in ups
            if u.summary.get("time_held_s") is not None
            and math.isfinite(u.summary["time_held_s"])]
    assert len(held) > 10 and held == sorted(held)        # the hold grows while it lasts
    assert held[-1] == pytest.approx(truth["end"] - truth["lift"], abs=0.5)


def test_live_step_downs_come_one_by_one_with_the_offline_values():
    t, ang, acc, _ = step_phantom("step-down", "R")
    gyr = np.zeros_like(acc)
    ups, last = _feed(LiveTaskTracker("step-down-right"), t, ang, gyr, acc)
    off = repetitions(t, ang, acc, "step-down", "R")
    counts = [u.summary["n_repetitions"] for u in ups]
    assert counts == sorted(counts) and counts[-1] >= len(off) - 1   # one at a time
    assert sum(len(u.new_repetitions) for u in [*ups, last]) == len(off)
    assert last.summary["n_repetitions"] == len(off) == 5
    got = [r["peak_drop_deg"] for r in last.summary["repetitions"]]
    np.testing.assert_allclose(got, [math.degrees(r.peak_drop_rad) for r in off], atol=1e-9)
    assert last.score.score == score_repetitions(last.summary, load_bands(),
                                                 task="step-down-right").score
    assert last.score.score is not None


def test_walking_is_not_a_held_task():
    with pytest.raises(ValueError, match="LiveScorer"):
        LiveTaskTracker("walk")
