"""sacrum.scoring.score: bands, points, reasons, too few steps, one side, TOML files, the session.

The summaries here are small stand-ins with the fields of sacrum.scoring.metrics.WalkSummary that
the packaged bands read (``_summary``), so the scoring is tested on its own.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pytest

from sacrum.scoring.metrics import STEP_FIELDS, StepMetrics, step_statistics, summarize_walk
from sacrum.scoring.score import (
    Band,
    BandsError,
    TaskScore,
    load_bands,
    parse_bands,
    score_repetitions,
    score_session,
    score_single_leg_stance,
    score_walk,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "scoring.md"


@dataclass
class FakeSummary:
    """The WalkSummary fields the packaged bands read; healthy values by default."""

    n_steps_used: int = 40
    n_steps_by_side: dict = field(default_factory=lambda: {"L": 20, "R": 20})
    contralateral_drop_deg: dict = field(default_factory=lambda: {"L": 4.5, "R": 5.0})
    symmetry_index: dict = field(default_factory=lambda: {
        "drop": 10.5, "obliquity_rom": 5.0, "step_time": 2.0})
    variability: dict = field(default_factory=lambda: {
        "stride_time_cv_pct": 1.8, "step_time_cv_pct": 2.2, "drop_sd_deg": 1.0})
    regularity: dict = field(default_factory=lambda: {"step_v": 0.85, "stride_v": 0.9})
    harmonic_ratio: dict = field(default_factory=lambda: {"ap": 3.0, "v": 3.2, "ml": 2.1})
    side_difference_deg: dict | None = None

    def __post_init__(self):
        if self.side_difference_deg is None:   # as sacrum.scoring.metrics makes it: |L - R|
            d = self.contralateral_drop_deg
            self.side_difference_deg = {"drop": abs(d["L"] - d["R"]), "obliquity_rom": 0.5}


@dataclass(frozen=True)
class FakeStep:
    stance_side: str
    excluded: str | None = None


@pytest.fixture(scope="module")
def bands():
    return load_bands()


# ---- bands: points ------------------------------------------------------------------------

def test_full_points_inside_the_band_and_a_linear_fall_to_the_poor_limit():
    b = Band(normal_max=7.0, poor_max=12.0, unit="deg")
    assert b.points(0.0) == 100.0
    assert b.points(7.0) == 100.0
    assert b.points(9.5) == pytest.approx(50.0)
    assert b.points(11.0) == pytest.approx(20.0)
    assert b.points(12.0) == 0.0
    assert b.points(30.0) == 0.0


def test_a_lower_band_and_a_two_sided_band():
    lo = Band(normal_min=0.8, poor_min=0.5)
    assert lo.points(0.95) == 100.0 and lo.points(0.8) == 100.0
    assert lo.points(0.65) == pytest.approx(50.0)
    assert lo.points(0.5) == 0.0 and lo.points(0.1) == 0.0
    two = Band(normal_min=2.0, normal_max=6.0, poor_min=0.0, poor_max=10.0, unit="deg")
    assert two.points(4.0) == 100.0
    assert two.points(1.0) == pytest.approx(50.0)
    assert two.points(8.0) == pytest.approx(50.0)
    assert two.describe() == "2.0°–6.0°"
    assert lo.describe() == "≥ 0.80"


# ---- reasons ------------------------------------------------------------------------------

def test_a_healthy_walk_scores_100_with_no_deduction(bands):
    ts = score_walk(FakeSummary(), bands)
    assert ts.score == pytest.approx(100.0)
    assert set(ts.components) == {"drop", "symmetry", "consistency", "smoothness"}
    for c in ts.components.values():
        assert c.score_0_100 == 100.0
        assert c.reason.startswith("no deduction: ")
    assert "within the ≤ 7.0° band" in ts.components["drop"].reason
    assert ts.message.startswith("from 40 used steps (20 left, 20 right stance)")


def test_every_deduction_is_explained_per_side(bands):
    s = FakeSummary(contralateral_drop_deg={"L": 4.0, "R": 8.1})
    ts = score_walk(s, bands)
    drop = ts.components["drop"]
    # 1.1° over the band of a 5° ramp: 78 points; "worst" of the two sides
    assert drop.score_0_100 == pytest.approx(100 * (1 - 1.1 / 5))
    assert drop.reason == ("right stance: contralateral drop 8.1°, above the 7.0° band: "
                           "78/100 (0 at 12.0°)")
    assert drop.value == {"left": 4.0, "right": 8.1}
    assert drop.unit == {"left": "deg", "right": "deg"}
    left, right = drop.items
    assert left.score_0_100 == 100.0 and "within" in left.reason
    assert right.source  # every band says where it comes from
    # the task score is the weighted mean: drop weighs 0.4 of the total; the 4.1° side
    # difference costs symmetry points too (2° band, 0 at 5°)
    sym = ts.components["symmetry"].score_0_100
    assert sym == pytest.approx((100 + 100 * (1 - 2.1 / 3) + 100) / 3)
    assert ts.score == pytest.approx(0.4 * drop.score_0_100 + 0.2 * sym + 0.4 * 100.0)


def test_a_low_ratio_is_explained_as_below_its_band(bands):
    s = FakeSummary(harmonic_ratio={"ap": 1.7, "v": 3.0, "ml": 2.0})
    sm = score_walk(s, bands).components["smoothness"]
    assert "harmonic ratio, anterior-posterior 1.70, below the 2.20 band: 50/100" in sm.reason
    assert sm.score_0_100 == pytest.approx((50 + 100 + 100) / 3)


def test_the_worst_side_counts_for_the_drop_not_the_mean(bands):
    one_sided = score_walk(FakeSummary(contralateral_drop_deg={"L": 3.0, "R": 12.0}), bands)
    assert one_sided.components["drop"].score_0_100 == 0.0


# ---- never a score on too few steps --------------------------------------------------------

def test_too_few_steps_gives_no_score_and_says_how_many_are_needed(bands):
    s = FakeSummary(n_steps_used=7, n_steps_by_side={"L": 4, "R": 3},
                    contralateral_drop_deg={"L": 4.0, "R": 8.1})
    ts = score_walk(s, bands)
    assert ts.score is None
    assert "too few steps (4 left and 3 right stance steps used)" in ts.message
    assert f"at least {bands.min_steps_per_side} on each side" in ts.message
    # the values are still shown against their bands, but carry no points
    drop = ts.components["drop"]
    assert drop.score_0_100 is None
    assert all(i.score_0_100 is None for i in drop.items)
    assert drop.reason == "right stance: contralateral drop 8.1°, above the 7.0° band"
    assert "/100" not in " ".join(c.reason for c in ts.components.values())


def test_only_one_side_gives_no_score_and_says_so(bands):
    s = FakeSummary(n_steps_used=25, n_steps_by_side={"L": 0, "R": 25},
                    contralateral_drop_deg={"L": math.nan, "R": 5.0},
                    symmetry_index={"drop": math.nan, "obliquity_rom": math.nan,
                                    "step_time": math.nan})
    ts = score_walk(s, bands)
    assert ts.score is None
    assert "only right stance steps were found (25 right, 0 left)" in ts.message
    assert f"needs at least {bands.min_steps_per_side} of each" in ts.message
    drop = ts.components["drop"]
    assert drop.value["right"] == 5.0 and drop.value["left"] is None
    assert "left stance: contralateral drop: no value" in drop.reason


def test_step_counts_come_from_the_steps_when_given(bands):
    steps = ([FakeStep("L")] * 12 + [FakeStep("R")] * 4 + [FakeStep("R", "turn")] * 5)
    ts = score_walk(FakeSummary(n_steps_used=16), bands, steps=steps)
    assert ts.n_steps_by_side == {"L": 12, "R": 4}
    assert ts.score is None and "12 left and 4 right" in ts.message


def test_without_per_side_counts_the_total_is_checked_and_said(bands):
    @dataclass
    class Bare:
        n_steps_used: int = 40
        contralateral_drop_deg: dict = field(default_factory=lambda: {"L": 4.0, "R": 5.0})

    ts = score_walk(Bare(), bands)
    assert ts.score is None  # symmetry (required) has no values
    assert "symmetry not scored" in ts.message
    assert "the summary has no symmetry_index" in ts.message


def test_consistency_needs_more_steps_and_is_left_out_openly(bands):
    s = FakeSummary(n_steps_used=24, n_steps_by_side={"L": 12, "R": 12},
                    contralateral_drop_deg={"L": 4.0, "R": 9.5})
    ts = score_walk(s, bands)
    cons = ts.components["consistency"]
    assert cons.score_0_100 is None
    assert cons.reason.startswith("not scored: needs at least 30 used steps, 24 used")
    assert "consistency left out" in ts.message
    assert "weights of drop, symmetry, smoothness were rescaled" in ts.message
    drop = ts.components["drop"].score_0_100
    assert drop == pytest.approx(50.0)
    sym = ts.components["symmetry"].score_0_100   # 5.5° apart: 0 for the side difference
    assert sym == pytest.approx(200 / 3)
    assert ts.score == pytest.approx((0.4 * drop + 0.2 * sym + 0.2 * 100) / 0.8)


def test_a_missing_required_value_gives_no_score(bands):
    s = FakeSummary(contralateral_drop_deg={"L": 4.0, "R": math.nan})
    ts = score_walk(s, bands)
    assert ts.score is None
    assert ts.message.startswith("no score: drop not scored: right stance: contralateral "
                                 "drop: no value")


def test_an_optional_item_without_a_value_is_skipped(bands):
    s = FakeSummary(variability={"stride_time_cv_pct": 1.8})
    cons = score_walk(s, bands).components["consistency"]
    assert cons.score_0_100 == 100.0
    assert [i.value is None for i in cons.items] == [False, False, True]


def test_the_drop_symmetry_is_scored_in_degrees_even_for_small_or_negative_drops(bands):
    """A hip hike (negative drop) or two small drops have no meaningful symmetry index (the
    metrics give none); the side difference in degrees is scored all the same: 4.0° against
    -0.5° is 4.5° apart, 2.5° over the 2° band of a 3° ramp."""
    s = FakeSummary(contralateral_drop_deg={"L": 4.0, "R": -0.5},
                    symmetry_index={"drop": math.nan, "obliquity_rom": 5.0, "step_time": 9.8})
    ts = score_walk(s, bands)
    sym = ts.components["symmetry"]
    item = next(i for i in sym.items if i.metric == "side_difference_deg.drop")
    assert item.value == pytest.approx(4.5)
    assert item.score_0_100 == pytest.approx(100 * (1 - 2.5 / 3.0))
    assert sym.score_0_100 == pytest.approx((80.0 + item.score_0_100 + 100.0) / 3)
    assert not any(i.metric == "symmetry_index.drop" for i in sym.items)
    small = score_walk(FakeSummary(contralateral_drop_deg={"L": 0.5, "R": 1.5},
                                   symmetry_index={"drop": 100.0, "obliquity_rom": 5.0,
                                                   "step_time": 2.0}), bands)
    assert small.components["symmetry"].score_0_100 == 100.0   # 1° apart: within 2°
    assert ts.score is not None


def test_a_task_without_bands_gets_metrics_but_no_score(bands):
    ts = score_walk(FakeSummary(), bands, task="hopping")
    assert ts.score is None
    assert "no score for task 'hopping'" in ts.message and "apply to walk" in ts.message


def test_stairs_are_scored_with_the_walking_bands(bands):
    walk = score_walk(FakeSummary(), bands)
    stairs = score_walk(FakeSummary(), bands, task="stairs-down")
    assert stairs.score is not None and stairs.score == pytest.approx(walk.score)


# ---- single-leg stance, step-down and step-up ------------------------------------------------

STANCE = {"drop_mean_deg": 6.0, "time_held_s": 12.0, "gyr_rms_dps": 3.0, "hold_s": 10.0}


def test_single_leg_stance_is_scored_with_its_deductions_explained(bands):
    ts = score_single_leg_stance(STANCE, bands, task="single-leg-stance-left")
    drop = ts.components["drop"]
    assert drop.score_0_100 == pytest.approx(100 * (1 - 2.0 / 6.0))
    assert drop.reason == ("single-leg stance: contralateral drop 6.0°, above the 4.0° band: "
                           "67/100 (0 at 10.0°)")
    assert ts.components["hold"].score_0_100 == 100.0
    assert ts.score == pytest.approx(0.4 * drop.score_0_100 + 0.6 * 100)
    assert ts.message.startswith("from a stable hold of 10.0 s (time held 12.0 s)")
    short = score_single_leg_stance(STANCE | {"time_held_s": 1.5}, bands)
    assert "time held on one leg 1.5 s, below the 10.0 s band" in short.components["hold"].reason


def test_no_single_leg_stance_score_on_a_short_hold(bands):
    ts = score_single_leg_stance(STANCE | {"hold_s": 1.2, "time_held_s": 2.0}, bands)
    assert ts.score is None
    assert "needs a stable single-leg hold of at least 3.0 s" in ts.message
    assert ts.components["drop"].score_0_100 is None
    assert "above the 4.0° band" in ts.components["drop"].reason  # still shown
    nan = score_single_leg_stance(STANCE | {"hold_s": math.nan}, bands)
    assert nan.score is None and "no stable hold" in nan.message


def test_repetitions_are_scored_from_enough_of_them(bands):
    reps = {"n_repetitions": 5, "peak_drop_deg": 7.0, "peak_drop_sd_deg": 1.0}
    ts = score_repetitions(reps, bands, task="step-down-right")
    assert ts.components["drop"].score_0_100 == pytest.approx(60.0)
    assert ts.score == pytest.approx(0.7 * 60 + 0.3 * 100)
    assert ts.message == "from 5 repetitions"
    few = score_repetitions(reps | {"n_repetitions": 2}, bands)
    assert few.score is None and "2 repetitions counted; a score needs at least 3" in few.message


def test_held_tasks_join_the_session_as_a_minimal_walk(bands):
    walk = score_walk(FakeSummary(), bands)
    sls = score_single_leg_stance(STANCE, bands, task="single-leg-stance-left")
    s = score_session([walk, sls])
    w = 2 * bands.min_steps_per_side
    assert s.score == pytest.approx((walk.score * 40 + sls.score * w) / (40 + w))
    assert "single-leg-stance-left" in s.message and "docs/scoring.md" in s.message


# ---- the session ---------------------------------------------------------------------------

def _task(name, score, n):
    return TaskScore(name, score, {}, n, 10, "x", {"L": n // 2, "R": n - n // 2})


def test_the_session_is_weighted_by_used_steps():
    s = score_session([_task("walk", 80.0, 60), _task("stairs-up", 50.0, 20)])
    assert s.task == "session"
    assert s.score == pytest.approx((80 * 60 + 50 * 20) / 80)
    assert s.n_steps_used == 80
    assert "walk 80, 60 steps" in s.message


def test_the_session_leaves_out_tasks_without_a_score_and_says_so(bands):
    walk = score_walk(FakeSummary(contralateral_drop_deg={"L": 4.0, "R": 9.5}), bands)
    short = score_walk(FakeSummary(n_steps_used=6, n_steps_by_side={"L": 3, "R": 3}), bands,
                       task="walk")
    assert short.score is None
    s = score_session([walk, short])
    assert s.score == pytest.approx(walk.score)
    assert "left out: walk: no score: too few steps" in s.message
    assert s.components["drop"].score_0_100 == pytest.approx(50.0)
    assert s.components["drop"].value == {"walk": pytest.approx(50.0)}


def test_no_session_score_without_a_scored_task(bands):
    short = score_walk(FakeSummary(n_steps_used=6, n_steps_by_side={"L": 3, "R": 3}), bands)
    s = score_session([short])
    assert s.score is None and s.message.startswith("no session score: walk: no score")
    assert score_session([]).score is None


# ---- bands files ---------------------------------------------------------------------------

def test_the_packaged_bands_are_complete_and_cited(bands):
    assert bands.min_steps_per_side == 5
    assert bands.interval.level == 0.90 and bands.interval.max_width_points == 30.0
    assert bands.tasks == ("walk", "stairs-up", "stairs-down")
    assert sum(c.weight for c in bands.components.values()) == pytest.approx(1.0)
    doc = DOCS.read_text()
    held = [*bands.single_leg_stance.components.values(),
            *bands.repetitions.components.values()]
    for held_bands in (bands.single_leg_stance, bands.repetitions):
        assert sum(c.weight for c in held_bands.components.values()) == pytest.approx(1.0)
    for c in [*bands.components.values(), *held]:
        for item in c.items:
            assert item.source, item.name
            assert f"`{item.metric}`" in doc, f"{item.metric} is not in docs/scoring.md"
    for ref in ("Perry", "Kadaba", "Patterson", "Robinson", "Hausdorff", "Moe-Nilssen",
                "Menz", "Galna", "Commandeur", "Springer", "Hardcastle", "Piva", "Rabin",
                "McGinley", "Efron"):
        assert ref in doc


def test_the_docs_table_gives_the_packaged_numbers(bands):
    """docs/scoring.md's band table and data/bands.toml say the same."""
    doc = DOCS.read_text()
    for c in bands.components.values():
        for item in c.items:
            row = next(line for line in doc.splitlines() if f"`{item.metric}`" in line
                       and line.startswith("|"))
            b = item.band
            for v in (b.normal_min, b.normal_max, b.poor_min, b.poor_max):
                if v is not None:
                    assert re.search(rf"(?<![\d.]){v:g}(?![\d])", row), (item.metric, v, row)


def test_a_clinic_file_changes_only_what_it_gives(tmp_path):
    f = tmp_path / "clinic.toml"
    f.write_text("[score]\nmin_steps_per_side = 15\n\n"
                 "[components.drop.items.right]\nnormal_max = 9.0\npoor_max = 14.0\n"
                 "[components.smoothness]\nweight = 0.0\n")
    b = load_bands(f)
    assert b.origin == str(f)
    assert b.min_steps_per_side == 15
    right = b.components["drop"].items[1]
    assert (right.band.normal_max, right.band.poor_max) == (9.0, 14.0)
    assert right.metric == "contralateral_drop_deg.R"  # kept from the packaged file
    ts = score_walk(FakeSummary(n_steps_by_side={"L": 20, "R": 20},
                                contralateral_drop_deg={"L": 4.0, "R": 8.1}), b)
    assert ts.components["drop"].score_0_100 == 100.0
    # weight 0: shown, not counted
    assert ts.components["smoothness"].score_0_100 == 100.0
    assert "smoothness" not in ts.message.split("rescaled")[0]
    ts = score_walk(FakeSummary(n_steps_by_side={"L": 12, "R": 12}), b)
    assert ts.score is None and "at least 15 on each side" in ts.message


def test_an_item_of_weight_0_is_shown_but_not_counted(tmp_path):
    f = tmp_path / "clinic.toml"
    f.write_text("[components.drop.items.right]\nweight = 0\n")
    ts = score_walk(FakeSummary(contralateral_drop_deg={"L": 4.0, "R": 11.0}), load_bands(f))
    drop = ts.components["drop"]
    assert drop.score_0_100 == 100.0
    assert "right stance: contralateral drop 11.0°, above the 7.0° band" in drop.reason


def test_a_file_can_stand_alone(tmp_path):
    f = tmp_path / "own.toml"
    f.write_text('base = "none"\n[score]\ntasks = ["walk", "stairs-up"]\n'
                 "[components.drop]\ncombine = \"worst\"\nrequired = true\n"
                 "[components.drop.items.left]\nmetric = \"contralateral_drop_deg.L\"\n"
                 "unit = \"deg\"\nnormal_max = 6\npoor_max = 10\n")
    b = load_bands(f)
    assert list(b.components) == ["drop"] and b.tasks == ("walk", "stairs-up")
    ts = score_walk(FakeSummary(contralateral_drop_deg={"L": 8.0, "R": 99.0}), b,
                    task="stairs-up")
    assert ts.score == pytest.approx(50.0)


@pytest.mark.parametrize(("text", "message"), [
    ("[components.drop\n", "not valid TOML"),
    ("[components.drop.items.left]\nnormal_mx = 6\n", "unknown key normal_mx"),
    ("[components.drop.items.left]\nnormal_max = 8\npoor_max = 7\n",
     "poor_max (7.0) must be above normal_max (8.0)"),
    ("[components.drop.items.left]\nnormal_max = 'six'\n", "normal_max = 'six' is not a number"),
    ("[components.drop]\ncombine = 'median'\n", "combine = 'median'; use one of worst, mean"),
    ("[components.drop]\nweight = -1\n", "weight = -1 must not be negative"),
    ("[components.drop.items.left]\nunit = 'degrees'\n", "unit = 'degrees'"),
    ("[score]\nmin_steps_per_side = 0\n", "min_steps_per_side must be at least 1"),
    ("[score]\ntasks = 'walk'\n", "must be a list of task names"),
    ("base = 'mine'\n", 'base = \'mine\'; use "default"'),
    ("schema = 2\n", "not a version this sacrum reads"),
    ('base = "none"\n[score]\n', "no components"),
    ("[components.drop]\nweight = 0\n[components.symmetry]\nweight = 0\n"
     "[components.consistency]\nweight = 0\n[components.smoothness]\nweight = 0\n",
     "all weights are 0"),
])
def test_a_bad_bands_file_is_refused_with_the_key_and_the_fix(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(BandsError) as e:
        load_bands(f)
    assert message in str(e.value)
    assert str(f) in str(e.value)


def test_a_missing_bands_file_is_a_bands_error(tmp_path):
    with pytest.raises(BandsError, match="No such file"):
        load_bands(tmp_path / "nope.toml")


def test_parse_bands_names_the_table():
    with pytest.raises(BandsError, match=r"\[components.x.items.y\]: metric is missing"):
        parse_bands({"components": {"x": {"items": {"y": {"normal_max": 1, "poor_max": 2}}}}})


# ---- how sure the score is: the bootstrap over the steps --------------------------------------

def _steps(n_per_side: int, drop_l=(8.0, 1.5), drop_r=(4.0, 1.0), seed: int = 3):
    """Real StepMetrics: drops ~ N(mean, sd) per stance side, alternating L/R, 0.55-s steps."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(2 * n_per_side):
        side = "LR"[k % 2]
        m, sd = drop_l if side == "L" else drop_r
        out.append(StepMetrics(
            stance_side=side, t_ic_s=1.0 + 0.55 * k,
            step_time_s=0.55 + 0.02 * rng.standard_normal(),
            stride_time_s=1.1 + 0.02 * rng.standard_normal(),
            contralateral_drop_deg=m + sd * rng.standard_normal(), drop_time_pct=35.0,
            obliquity_rom_deg=9.0 + 0.5 * rng.standard_normal(), tilt_rom_deg=3.0,
            rotation_rom_deg=10.0, mean_tilt_deg=0.0, excluded=None, bout=0))
    return out


def _summary_of(steps):
    return summarize_walk(steps, np.zeros(0), np.zeros((0, 3)))


def test_the_interval_is_deterministic_and_holds_the_score(bands):
    steps = _steps(8)
    a = score_walk(_summary_of(steps), bands, steps=steps)
    b = score_walk(_summary_of(steps), bands, steps=list(steps))
    assert a.score is not None and a.interval is not None
    assert a.interval == b.interval                       # a fixed seed: the same interval
    lo, hi = a.interval
    assert lo <= a.score <= hi and hi > lo                # the left drop sits on its band's slope
    drop = a.components["drop"]
    assert drop.interval[0] <= drop.score_0_100 <= drop.interval[1]
    assert a.components["smoothness"].interval is None    # nothing in it is resampled
    assert a.as_dict()["interval"] == [lo, hi]


def test_more_steps_narrow_the_interval(bands):
    few, many = _steps(6), _steps(40)
    w_few = score_walk(_summary_of(few), bands, steps=few).interval
    w_many = score_walk(_summary_of(many), bands, steps=many).interval
    assert (w_many[1] - w_many[0]) < 0.7 * (w_few[1] - w_few[0])


def test_a_too_wide_interval_withholds_the_score_and_keeps_the_interval(bands, tmp_path):
    erratic = _steps(6, drop_l=(9.0, 4.0), drop_r=(5.0, 4.0), seed=1)
    ts = score_walk(_summary_of(erratic), bands, steps=erratic)
    assert ts.score is None and ts.interval is not None
    assert ts.interval[1] - ts.interval[0] > bands.interval.max_width_points
    assert all(c.score_0_100 is None for c in ts.components.values())
    assert f"{bands.interval.max_width_points:g}" in ts.message
    f = tmp_path / "lenient.toml"
    f.write_text("[score]\nmax_interval_width = 100\n")
    lenient = score_walk(_summary_of(erratic), load_bands(f), steps=erratic)
    assert lenient.score is not None
    assert lenient.interval == pytest.approx(ts.interval)


def test_the_summary_and_its_bootstrap_are_one_computation():
    """step_statistics on the steps themselves (one 'resample': the identity) gives the
    summary's values, field by field."""
    steps = _steps(20)
    s = _summary_of(steps)
    values = {sd: {f: np.array([[getattr(x, f) for x in steps if x.stance_side == sd]])
                   for f in STEP_FIELDS} for sd in "LR"}
    stats = step_statistics(values)
    for path, v in stats.items():
        head, key = path.split(".") if "." in path else (path, None)
        want = getattr(s, head) if key is None else getattr(s, head)[key]
        if math.isnan(want):
            assert math.isnan(v[0]), path
        else:
            assert v[0] == pytest.approx(want), path
    assert math.isfinite(s.variability["stride_time_cv_pct"])


def test_one_mis_timed_contact_is_no_stride_variability_but_a_variable_gait_is():
    """An IC timed on the wrong bump makes one stride of that side 0.35 s short and the next
    0.35 s long: the stride-time CV leaves the two out (and says so), where the SD of all
    strides read it as variability (about 7 %). A gait variable throughout (CV 6 %) keeps
    its CV: the cut scales with the spread."""
    from dataclasses import replace

    steady = _steps(20)
    base = _summary_of(steady).variability["stride_time_cv_pct"]
    lefts = [i for i, s in enumerate(steady) if s.stance_side == "L"]
    bumped = list(steady)
    for i, d in ((lefts[8], -0.35), (lefts[9], +0.35)):
        bumped[i] = replace(bumped[i], stride_time_s=bumped[i].stride_time_s + d)
    s = _summary_of(bumped)
    assert s.variability["stride_time_cv_pct"] == pytest.approx(base, abs=0.3)

    def left_out(summary) -> int:
        said = [m for m in summary.messages if "robust SDs from their median" in m]
        return int(re.match(r"variability: (\d+) stride", said[0]).group(1)) if said else 0

    assert left_out(s) == left_out(_summary_of(steady)) + 2, s.messages
    plain = [x.stride_time_s for x in bumped if x.stance_side == "L"]
    assert 100 * np.std(plain, ddof=1) / np.mean(plain) > 5.0     # what the SD alone said
    rng = np.random.default_rng(11)
    variable = [replace(x, stride_time_s=1.1 * (1 + 0.06 * rng.standard_normal()))
                for x in _steps(30)]
    assert _summary_of(variable).variability["stride_time_cv_pct"] == pytest.approx(6.0,
                                                                                    abs=1.0)


def test_the_session_pools_the_tasks_intervals(bands):
    a, b = _steps(8, seed=1), _steps(8, seed=2)
    ta = score_walk(_summary_of(a), bands, steps=a)
    tb = score_walk(_summary_of(b), bands, steps=b, task="stairs-up")
    s = score_session([ta, tb])
    lo, hi = s.interval
    assert lo <= s.score <= hi
    # two independent tasks of equal weight: the pooled interval is narrower than either's
    assert hi - lo < max(ta.interval[1] - ta.interval[0], tb.interval[1] - tb.interval[0])


def test_a_step_without_its_stride_does_not_unsettle_the_resamples(bands):
    """Six steps a side, one of them without a stride (its ranges NaN: its stride turned):
    the summary has the ranges (5 values a side), and so does every resample, whatever it
    drew (the summary's minimum counts are not applied again to a resample)."""
    import dataclasses

    steps = _steps(6)
    for k in (0, 1):
        steps[k] = dataclasses.replace(steps[k], stride_time_s=math.nan,
                                       obliquity_rom_deg=math.nan)
    ts = score_walk(_summary_of(steps), bands, steps=steps)
    assert ts.score is not None and ts.interval is not None
    assert np.isfinite(ts.replicates).all()


def test_a_value_the_summary_could_not_compute_gives_the_summarys_reason(bands):
    @dataclass
    class Said(FakeSummary):
        messages: list = field(default_factory=lambda: [
            "variability: 7 left- and 7 right-stance steps used, at least 15 per side needed"])

    s = Said(variability={"stride_time_cv_pct": math.nan, "step_time_cv_pct": math.nan,
                          "drop_sd_deg": math.nan})
    cons = score_walk(s, bands).components["consistency"]
    assert cons.score_0_100 is None
    assert "not computed: 7 left- and 7 right-stance steps used, at least 15" in cons.reason
    # a JSON document's summary (None for NaN) reads the same
    doc = asdict(s) | {"variability": {"stride_time_cv_pct": None,
                                                   "step_time_cv_pct": None, "drop_sd_deg": None}}
    cons_doc = score_walk(doc, bands).components["consistency"]
    assert cons_doc.reason == cons.reason
    # without a message of its own, the item still says which value is missing
    bare = score_walk(FakeSummary(variability={"stride_time_cv_pct": math.nan}), bands)
    assert "could not be computed" in bare.components["consistency"].reason


def test_a_weighted_score_of_full_points_is_100_not_a_float_short_of_it():
    """Drop (0.4) and symmetry (0.2) at 100 points each: the float mean is 99.99999999999999,
    which the JSON showed for the demo's score; the points are kept to 1e-9."""
    from sacrum.scoring.score import weighted_points

    naive = (0.4 * 100.0 + 0.2 * 100.0) / (0.4 + 0.2)
    assert naive != 100.0
    assert weighted_points([(0.4, 100.0), (0.2, 100.0)]) == 100.0
    assert weighted_points([(0.4, 80.0), (0.2, 50.0)]) == pytest.approx(70.0, abs=1e-9)
