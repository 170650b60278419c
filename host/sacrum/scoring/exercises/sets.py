"""Per set: medians, left/right, consistency, fatigue trend and a 0-100 control score.

:func:`summarise_sets` groups a task's repetitions (or holds) by set and summarises each;
:func:`compare_sides` puts a left and a right task of the same exercise side by side;
:func:`load_exercise_bands` reads the bands (``sacrum/data/exercise_bands.toml``, every
band marked provisional or with its source).

The score of a set (step by step):

1. *control*: the median over the set's full repetitions (holds: the hold's value) of the
   exercise's own metric (``[control.<exercise>] metric``), in degrees, against its band:
   100 at or below ``normal_max``, falling linearly to 0 at ``poor_max``;
2. *consistency* (repetitions only, three or more): the SD of that metric over the full
   repetitions, against ``[items.consistency]``;
3. *fatigue*: the slope of that metric over the set (deg per repetition, by least squares
   over the full repetitions in order; holds: the drift of the control signal, deg per
   10 s), against ``[items.fatigue]``; a negative slope (improving) scores 100;
4. score = the weighted mean of the items there are (weights ``[items.*] weight``); no
   score with fewer than ``[score] min_repetitions`` full repetitions (holds: none without
   a hold). Each item's reason, in words, is in ``reasons``.
5. How sure it is, as the walking score (``sacrum.scoring.score``, step 5): the set's full
   repetitions are resampled with replacement ``[score] n_bootstrap`` times (a fixed
   ``seed``), each keeping its place in the set (the pairs bootstrap, so the fatigue
   slope is resampled with its order), steps 1-4 are repeated on each resample, and the
   interval is the central ``interval_level`` (90 %) of the resampled scores, widened to
   hold the score itself (the percentile bootstrap, Efron & Tibshirani 1993). A score
   whose interval is wider than ``max_interval_width`` points is withheld (``score``
   None, the interval kept to read, ``score_interval_reason`` says why). A hold is one
   measurement, with nothing to resample: its score has no interval, and says so.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from sacrum.scoring.exercises.catalogue import Exercise
from sacrum.scoring.exercises.holds import ExerciseHold
from sacrum.scoring.exercises.repetitions import ExerciseRepetition


def load_exercise_bands(path: str | Path | None = None) -> dict:
    """The bands: the packaged file, or ``path`` (the same layout, used alone)."""
    if path is None:
        text = resources.files("sacrum.data").joinpath("exercise_bands.toml").read_text()
    else:
        text = Path(path).read_text()
    bands = tomllib.loads(text)
    for key, band in list(bands.get("control", {}).items()) + [
            (k, v) for k, v in bands.get("items", {}).items() if k != "control"]:
        if not band["poor_max"] > band["normal_max"]:
            raise ValueError(f"exercise bands: [{key}]: poor_max ({band['poor_max']}) must be "
                             f"above normal_max ({band['normal_max']})")
    return bands


def _points(value: float, band: dict) -> float:
    lo, hi = band["normal_max"], band["poor_max"]
    if value <= lo:
        return 100.0
    return max(0.0, 100.0 * (1 - (value - lo) / (hi - lo)))


@dataclass
class SetSummary:
    """One set of one exercise task.

    set_index; n_repetitions (full) and n_partial (repetition exercises); hold_s and
    t_control_lost_s (held exercises; NaN when none); metric: the own metric scored
    (name); medians: the median over the full repetitions of every ``*_deg``, ``*_dps``,
    ``*_s`` and ``ldlj_v`` field (holds: the hold's values); by_side: the own metric's
    median per side ("L", "R"; alternating exercises) and lr_difference_deg (L - R);
    consistency_sd_deg: the own metric's SD over the full repetitions; fatigue_slope:
    deg per repetition (holds: deg per 10 s); score (0-100, None when not scored), items
    {name: points}, reasons (words), provisional (every band used is provisional);
    score_interval (low, high): its ``score_interval_level`` (0.90) interval from the
    bootstrap over the set's full repetitions (module step 5; kept when the score is
    withheld for it; None when not estimated), score_interval_reason: why there is no
    interval or no score for it (words; None when there is both); replicates: the
    resampled scores (not in the JSON; NaN where a resample has no score).
    """

    task: str
    set_index: int
    metric: str
    n_repetitions: int = 0
    n_partial: int = 0
    hold_s: float = math.nan
    t_control_lost_s: float = math.nan
    medians: dict = field(default_factory=dict)
    by_side: dict = field(default_factory=dict)
    lr_difference_deg: float = math.nan
    consistency_sd_deg: float = math.nan
    fatigue_slope: float = math.nan
    score: float | None = None
    items: dict = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    provisional: bool = True
    score_interval: tuple[float, float] | None = None
    score_interval_level: float = 0.90
    score_interval_reason: str | None = None
    replicates: np.ndarray | None = field(default=None, repr=False, compare=False)


def _median_fields(rows: list[dict]) -> dict:
    keys = [k for k in rows[0] if isinstance(rows[0][k], float | int)
            and not isinstance(rows[0][k], bool)
            and (k.endswith(("_deg", "_dps", "_s")) or k == "ldlj_v")
            and not k.startswith("t_")]
    out = {}
    for k in keys:
        v = np.array([r[k] for r in rows], float)
        v = v[np.isfinite(v)]
        out[k] = float(np.median(v)) if len(v) else math.nan
    return out


def summarise_sets(ex: Exercise, results: list[ExerciseRepetition] | list[ExerciseHold],
                   bands: dict | None = None) -> list[SetSummary]:
    """One :class:`SetSummary` per set of a task's repetitions or holds (module steps)."""
    bands = bands if bands is not None else load_exercise_bands()
    ctrl = bands.get("control", {}).get(ex.base)
    metric = ctrl["metric"] if ctrl else ex.metrics[0].name
    out = []
    if ex.held:
        for h in results:
            d = h.to_dict_deg()
            s = SetSummary(ex.task, h.index, metric, hold_s=h.hold_s,
                           t_control_lost_s=h.t_control_lost_s, medians=_median_fields([d]))
            s.fatigue_slope = d["drift_dps"] * 10.0
            _score(s, d.get(metric, math.nan), bands, ctrl, n_ok=True)
            s.score_interval_level = _interval_spec(bands)["level"]
            s.score_interval_reason = (
                "no interval: a hold is one measurement, with no repetitions to resample "
                "(docs/exercises.md, 'How sure is a set score')")
            out.append(s)
        return out
    for k in sorted({r.set_index for r in results}):
        reps = [r for r in results if r.set_index == k]
        full = [r.to_dict_deg() for r in reps if not r.partial]
        s = SetSummary(ex.task, k, metric, n_repetitions=len(full),
                       n_partial=len(reps) - len(full))
        if full:
            s.medians = _median_fields(full)
            vals = np.array([d.get(metric, math.nan) for d in full], float)
            s.consistency_sd_deg, s.fatigue_slope = _spread_and_trend(
                np.arange(len(vals), dtype=float), vals)
            for side in ("L", "R"):
                v = [d.get(metric, math.nan) for d in full if d["side"] == side]
                if v and ex.side == "alternating":
                    s.by_side[side] = float(np.nanmedian(v))
            if len(s.by_side) == 2:
                s.lr_difference_deg = s.by_side["L"] - s.by_side["R"]
        n_min = int(bands.get("score", {}).get("min_repetitions", 3))
        _score(s, s.medians.get(metric, math.nan), bands, ctrl, n_ok=len(full) >= n_min,
               n_min=n_min)
        _interval(s, [d.get(metric, math.nan) for d in full], bands, ctrl, n_min)
        out.append(s)
    return out


def _spread_and_trend(place: np.ndarray, vals: np.ndarray) -> tuple[float, float]:
    """Consistency (SD, three values or more) and fatigue slope (per place in the set, two
    places or more) of the own metric's values at their places; NaN where too few."""
    ok = np.isfinite(vals)
    sd = float(np.std(vals[ok], ddof=1)) if ok.sum() >= 3 else math.nan
    slope = math.nan
    if ok.sum() >= 2 and np.ptp(place[ok]) > 0:
        slope = float(np.polyfit(place[ok], vals[ok], 1)[0])
    return sd, slope


def _resampled_scores(place: np.ndarray, x: np.ndarray, bands: dict, ctrl: dict,
                      n_min: int) -> np.ndarray:
    """Steps 1-4 on every resample at once: ``x`` (B, n) the own metric's values of B
    resamples at their ``place`` in the set (B, n) -> the B scores (NaN: none)."""
    items = bands.get("items", {})
    ok = np.isfinite(x)
    n_ok = ok.sum(axis=1)
    x = np.where(n_ok[:, None] > 0, x, 0.0)       # rows with no value: NaN at the end
    ok = ok | (n_ok[:, None] == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        med = np.nanmedian(np.where(ok, x, np.nan), axis=1)
        sd = np.where(n_ok >= 3, np.nanstd(np.where(ok, x, np.nan), axis=1, ddof=1), np.nan)
        p = np.where(ok, place, np.nan)
        pc = p - np.nanmean(p, axis=1, keepdims=True)
        xc = np.where(ok, x, np.nan) - np.nanmean(np.where(ok, x, np.nan), axis=1,
                                                   keepdims=True)
        sxx = np.nansum(pc * pc, axis=1)
        slope = np.where((n_ok >= 2) & (sxx > 0), np.nansum(pc * xc, axis=1) / sxx, np.nan)
    total = _points_array(med, ctrl) * float(items.get("control", {}).get("weight", 0.6))
    weight = np.full(len(x), float(items.get("control", {}).get("weight", 0.6)))
    for name, value in (("consistency", sd), ("fatigue", slope)):
        band = items.get(name)
        if band is None:
            continue
        have = np.isfinite(value)
        w = float(band.get("weight", 0.0))
        total = total + np.where(have, _points_array(np.where(have, value, 0.0), band) * w, 0.0)
        weight = weight + np.where(have, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(weight > 0, total / weight, np.nan)
    return np.where((n_ok >= n_min) & np.isfinite(med), out, np.nan)


def _points_array(value: np.ndarray, band: dict) -> np.ndarray:
    """:func:`_points` of an array."""
    lo, hi = band["normal_max"], band["poor_max"]
    return np.where(value <= lo, 100.0, np.maximum(0.0, 100.0 * (1 - (value - lo) / (hi - lo))))


def _interval_spec(bands: dict) -> dict:
    """``[score]`` interval settings, the walking bands' defaults where not given."""
    sc = bands.get("score", {})
    return {"level": float(sc.get("interval_level", 0.90)),
            "max_width": float(sc.get("max_interval_width", 30.0)),
            "n": int(sc.get("n_bootstrap", 1000)), "seed": int(sc.get("seed", 0))}


def _interval(s: SetSummary, vals: list[float], bands: dict, ctrl: dict | None,
              n_min: int) -> None:
    """Module step 5 on a repetition set's own-metric values (in set order)."""
    spec = _interval_spec(bands)
    s.score_interval_level = spec["level"]
    if s.score is None:
        s.score_interval_reason = "no interval: the set has no score"
        return
    v = np.asarray(vals, float)
    rng = np.random.default_rng(spec["seed"])
    place = np.sort(rng.integers(0, len(v), size=(spec["n"], len(v))), axis=1)
    s.replicates = reps = _resampled_scores(place.astype(float), v[place], bands, ctrl, n_min)
    good = reps[np.isfinite(reps)]
    if len(good) < 0.5 * len(reps):
        s.score_interval_reason = (
            f"no interval: {len(reps) - len(good)} of {len(reps)} resamples of the "
            f"{s.n_repetitions} repetitions had no score")
        return
    half = 50.0 * (1.0 - spec["level"])
    lo, hi = (float(x) for x in np.percentile(good, [half, 100.0 - half]))
    s.score_interval = (min(lo, s.score), max(hi, s.score))
    width = s.score_interval[1] - s.score_interval[0]
    if width > spec["max_width"]:
        s.score_interval_reason = (
            f"no score: from these {s.n_repetitions} repetitions the score could lie "
            f"anywhere from {s.score_interval[0]:.0f} to {s.score_interval[1]:.0f} "
            f"({100 * spec['level']:.0f} % interval, {width:.0f} points wide; the limit is "
            f"{spec['max_width']:g}): the repetitions differ too much for so few of them to "
            "pin it down; more repetitions would narrow it")
        s.reasons.append(s.score_interval_reason)
        s.score = None


def _score(s: SetSummary, value: float, bands: dict, ctrl: dict | None, *, n_ok: bool,
           n_min: int = 1) -> None:
    items = bands.get("items", {})
    parts: list[tuple[float, float]] = []
    if ctrl is None:
        s.reasons.append(f"no band for {s.task}'s {s.metric}: not scored")
        return
    if not n_ok:
        s.reasons.append(f"no score: {s.n_repetitions} full repetitions; a score needs at "
                         f"least {n_min}")
        return
    if not math.isfinite(value):
        s.reasons.append(f"no score: no value of {s.metric}")
        return
    p = _points(value, ctrl)
    s.items["control"] = p
    parts.append((p, float(items.get("control", {}).get("weight", 0.6))))
    s.reasons.append(f"{s.metric[:-4].replace('_', ' ')} {value:.1f}°: {p:.0f}/100 (100 up to "
                     f"{ctrl['normal_max']}°, 0 at {ctrl['poor_max']}°; {ctrl['source']})")
    for name, value_i, unit in (("consistency", s.consistency_sd_deg, "° SD"),
                                ("fatigue", s.fatigue_slope,
                                 "°/10 s" if math.isfinite(s.hold_s) else "°/repetition")):
        band = items.get(name)
        if band is None or not math.isfinite(value_i):
            continue
        p = _points(value_i, band)
        s.items[name] = p
        parts.append((p, float(band.get("weight", 0.0))))
        s.reasons.append(f"{name} {value_i:.2f}{unit}: {p:.0f}/100 ({band['source']})")
    w = sum(wi for _, wi in parts)
    s.score = float(sum(p * wi for p, wi in parts) / w) if w > 0 else None
    s.provisional = all("provisional" in str(b.get("source", "")) for b in
                        [ctrl] + [items[n] for n in s.items if n != "control"])


def compare_sides(left: list[SetSummary], right: list[SetSummary]) -> dict:
    """Left and right tasks of one exercise (e.g. ``clamshell-left`` and ``-right``): the
    medians over their sets of the own metric and the score, and L - R."""
    def med(sets, attr):
        v = [getattr(s, attr) if attr != "metric" else s.medians.get(s.metric, math.nan)
             for s in sets]
        v = [x for x in v if x is not None and math.isfinite(x)]
        return float(np.median(v)) if v else math.nan
    out = {}
    for attr in ("metric", "score"):
        lv, rv = med(left, attr), med(right, attr)
        out[attr] = {"L": lv, "R": rv, "L_minus_R": lv - rv}
    return out


__all__ = ["SetSummary", "compare_sides", "load_exercise_bands", "summarise_sets"]
