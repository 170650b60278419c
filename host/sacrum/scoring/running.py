"""Running metrics: per step (contralateral pelvic drop, ranges, vertical oscillation, contact and
flight time, braking), per bout (cadence, per-side medians, symmetry, consistency) and a
running score with its own bands (``data/running_bands.toml``; docs/running.md).

The stage after ``sacrum.signal.running`` (running steps) as ``sacrum.scoring.metrics`` is
after the walking gait stage. Conventions are the walking metrics' (docs/pelvic-angles.md:
obliquity positive = left side up, tilt anterior positive, rotation positive = right side
forward; zero = the standing calibration; sides are those of the foot in contact), with
the units the results are read in: angles in degrees (``_deg``, as ``StepMetrics``), times in
seconds (``_s``), oscillation in metres (``_m``), accelerations in m/s² (``_mps2``). Display
units (ms, cm) are made only by :func:`format_run_summary`.

Where running differs from walking (docs/running.md): stance is the ground contact (initial
contact to toe-off, about 35-45 % of the step at 160-190 steps/min) followed by a flight, not
the first 60 % of a step with double support; so the contralateral drop is the peak over the
contact, not over the first 60 % of the step.
"""

from __future__ import annotations

import math
import tomllib
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from sacrum.scoring.metrics import ROM_PERCENTILES, robust_range, time_outliers_rows
from sacrum.scoring.score import Bands, TaskScore, parse_bands, score_walk
from sacrum.signal.angles import OBLIQUITY, ROTATION, TILT
from sacrum.signal.quaternion import quat_conjugate, quat_rotate
from sacrum.signal.running import (
    MIN_RUNNING_RATE_HZ,
    RunningEventDetector,
    RunningStep,
    running_rate_ok,
)

SIDES = ("L", "R")
RUNNING_BANDS = "running_bands.toml"
#: Why a running step is not used in the summaries, in the order they are checked.
EXCLUSION_REASONS = ("gap", "no-toe-off", "irregular", "bout-edge")
_T_TOL_S = 1e-6


def vertical_oscillation_m(t_s: np.ndarray, a_up_mps2: np.ndarray) -> float:
    """Peak-to-peak vertical excursion (m) of the pelvis over one step from its vertical
    acceleration (m/s², gravity removed), by double integration with drift removal: the step
    is taken as one period of steady running, so the acceleration's mean over it is removed
    (the body neither rises nor sinks from step to step), then the velocity's mean (the
    pelvis ends the step at the height it started it). Trapezoidal integration on the
    samples' own times. NaN with fewer than 3 samples or a missing one.

    Per-step double integration of trunk acceleration with the drift removed as a periodic
    constraint is the principle of Zijlstra & Hof (2003) for walking; a torso-worn
    accelerometer's vertical oscillation agrees with a torso marker's (Watari et al. 2016).
    """
    t = np.asarray(t_s, float)
    a = np.asarray(a_up_mps2, float)
    if len(a) < 3 or not np.isfinite(a).all():
        return math.nan
    dt = np.diff(t)

    def integrate(x):
        return np.r_[0.0, np.cumsum(0.5 * (x[1:] + x[:-1]) * dt)]

    v = integrate(a - _tmean(t, a))
    z = integrate(v - _tmean(t, v))
    return float(z.max() - z.min())


def _tmean(t: np.ndarray, x: np.ndarray) -> float:
    """Time-weighted (trapezoidal) mean of x over t."""
    span = t[-1] - t[0]
    return float(np.sum(0.5 * (x[1:] + x[:-1]) * np.diff(t)) / span) if span > 0 else 0.0


@dataclass(frozen=True)
class RunningStepMetrics:
    """One running step: the contact of one foot, the flight after it, to the next contact.

    stance_side: "L" | "R", the foot in contact; t_ic_s, t_to_s: its initial contact and
        toe-off (s); bout: the detector's bout index.
    contact_time_s: t_to − t_ic (s). flight_time_s: from the toe-off to the next contact (s).
    step_time_s: to the next contact (s).
    contralateral_drop_deg: the peak drop of the swing side of the pelvis below the standing
        zero during the contact (deg): max of +obliquity (left stance) or −obliquity (right
        stance) from IC to toe-off: the walking definition (``StepMetrics``) with stance being
        the contact. drop_time_pct: when, in % of the contact.
    obliquity_rom_deg, tilt_rom_deg, rotation_rom_deg: robust range (5th-95th percentile,
        ``robust_range``) of each angle over the stride from this IC to the next-but-one (deg);
        NaN without that stride. The rotation is taken relative to the line joining its values
        at the stride's two ends (a stride is one period of the pelvis's rotation, so what
        changes between them is the heading: a bend overground, the fusion's heading drift),
        which needs no progression heading.
    mean_tilt_deg: mean tilt over the step (deg, anterior positive).
    vertical_oscillation_m: :func:`vertical_oscillation_m` over the step (m).
    braking_mps2: peak forward deceleration of the pelvis during the contact (m/s², positive:
        slowing down), from the level forward acceleration.
    peak_vertical_mps2: peak vertical specific force in the contact (m/s²; 9.81 standing).
    excluded: None (used) or the first that applies of "gap" (a lost sample in the step or
        stride), "no-toe-off" (the contact did not end in a flight), "irregular" (step time
        off the median of the last ten by more than ``max_step_ratio``, or a contact
        longer than the step), "bout-edge" (the first step of a bout, or one without a next
        contact).
    """

    stance_side: str
    t_ic_s: float
    t_to_s: float
    bout: int
    contact_time_s: float
    flight_time_s: float
    step_time_s: float
    contralateral_drop_deg: float
    drop_time_pct: float
    obliquity_rom_deg: float
    tilt_rom_deg: float
    rotation_rom_deg: float
    mean_tilt_deg: float
    vertical_oscillation_m: float
    braking_mps2: float
    peak_vertical_mps2: float
    excluded: str | None


class RunningMetricsStream:
    """Per-step running metrics, streaming: ``update(t_s, angles_rad, acc_level_mps2, steps)``.

    **Data required.** Per sample: times (s), pelvic angles (N, 3: tilt, obliquity, rotation,
    rad; ``sacrum.signal.angles.PelvicAngles``), the level acceleration (N, 3: forward, left,
    up, m/s², gravity removed; ``sacrum.signal.running.level_acceleration``); and the steps
    of ``RunningEventDetector`` as they come (walking steps are skipped). Lost samples are NaN
    rows.

    **Steps.** For each running step, once the samples up to its next contact and the step
    after it (for the stride) are in: 1. the drop over the contact; 2. the ranges over the
    stride; 3. vertical oscillation over the step; 4. braking over the contact; 5. the
    exclusion (see :class:`RunningStepMetrics`). The same output for any chunking; ``flush()``
    measures the last steps.

    **Parameters.** ``max_step_ratio`` = 1.5 (as the walking metrics' irregular steps),
    ``rom_percentiles`` = (5, 95), ``history_s`` = 10 (samples kept: more than the
    detector's longest latency, ``min_bout_steps`` steps).
    """

    def __init__(self, *, max_step_ratio: float = 1.5,
                 rom_percentiles: tuple[float, float] = ROM_PERCENTILES,
                 history_s: float = 10.0) -> None:
        self.max_step_ratio = max_step_ratio
        self.rom_percentiles = rom_percentiles
        self.history_s = history_s
        self.reset()

    def reset(self) -> None:
        """Forget the stream (parameters kept)."""
        self._t = np.zeros(0)
        self._x = np.zeros((0, 6))      # tilt, obliquity, rotation, fwd, left, up
        self._steps: list[RunningStep] = []
        self._recent: list[float] = []
        self._prev: RunningStep | None = None

    def update(self, t_s, angles_rad, acc_level_mps2,
               steps: Iterable[RunningStep] = ()) -> list[RunningStepMetrics]:
        t = np.asarray(t_s, float).reshape(-1)
        x = np.hstack([np.asarray(angles_rad, float).reshape(-1, 3),
                       np.asarray(acc_level_mps2, float).reshape(-1, 3)])
        if len(t):
            self._t = np.concatenate([self._t, t])
            self._x = np.concatenate([self._x, x])
        self._steps += list(steps)
        out = self._advance(final=False)
        if len(self._t):
            t_keep = self._t[-1] - self.history_s
            if self._steps:
                t_keep = min(t_keep, self._steps[0].t_ic_s - 0.01)
            k = int(np.searchsorted(self._t, t_keep, "left"))
            self._t, self._x = self._t[k:], self._x[k:]
        return out

    def flush(self) -> list[RunningStepMetrics]:
        return self._advance(final=True)

    def _advance(self, final: bool) -> list[RunningStepMetrics]:
        out = []
        t_last = self._t[-1] if len(self._t) else -math.inf
        while self._steps:
            st = self._steps[0]
            if st.mode != "run":
                self._steps.pop(0)
                self._prev = st
                continue
            end = st.t_next_ic_s if st.t_next_ic_s == st.t_next_ic_s else st.t_to_s
            nxt = self._steps[1] if len(self._steps) > 1 else None
            if not final and (nxt is None or t_last < _stride_end(st, nxt, end) - _T_TOL_S):
                break
            out.append(self._measure(st, nxt))
            self._prev = self._steps.pop(0)
        return out

    def _window(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        i0 = int(np.searchsorted(self._t, t0 - _T_TOL_S, "left"))
        i1 = int(np.searchsorted(self._t, t1 + _T_TOL_S, "right"))
        return self._t[i0:i1], self._x[i0:i1]

    def _measure(self, st: RunningStep, nxt: RunningStep | None) -> RunningStepMetrics:
        sign = 1.0 if st.side == "L" else -1.0
        gap = False
        has_to = st.t_to_s == st.t_to_s
        drop = drop_pct = braking = math.nan
        if has_to:
            t_c, x_c = self._window(st.t_ic_s, st.t_to_s)
            if len(x_c) < 2 or not np.isfinite(x_c).all():
                gap = True
            else:
                obl = sign * x_c[:, OBLIQUITY]
                k = int(np.argmax(obl))
                drop = math.degrees(float(obl[k]))
                drop_pct = 100.0 * float(t_c[k] - st.t_ic_s) / (st.t_to_s - st.t_ic_s)
                braking = float(np.max(-x_c[:, 3]))
        vo = mean_tilt = math.nan
        if st.t_next_ic_s == st.t_next_ic_s:
            t_s, x_s = self._window(st.t_ic_s, st.t_next_ic_s)
            if len(x_s) < 3 or not np.isfinite(x_s).all():
                gap = True
            else:
                vo = vertical_oscillation_m(t_s, x_s[:, 5])
                mean_tilt = math.degrees(float(np.mean(x_s[:-1, TILT])))
        roms = [math.nan] * 3
        if nxt is not None and _continues(st, nxt) and nxt.t_next_ic_s == nxt.t_next_ic_s:
            _, x_r = self._window(st.t_ic_s, nxt.t_next_ic_s)
            if len(x_r) < 3 or not np.isfinite(x_r[:, :3]).all():
                gap = True
            else:
                rot = np.unwrap(x_r[:, ROTATION])
                # the heading's change over the stride (a bend, the fusion's drift) out: the
                # line joining the rotation at the stride's two ends, where it is the same
                rot = rot - np.linspace(0.0, rot[-1] - rot[0], len(rot))
                roms = [math.degrees(robust_range(v, self.rom_percentiles))
                        for v in (x_r[:, OBLIQUITY], x_r[:, TILT], rot)]
        step_s = st.step_s
        first = self._prev is None or not _continues(self._prev, st) or self._prev.mode != "run"
        if gap:
            why = "gap"
        elif not has_to:
            why = "no-toe-off"
        elif (step_s == step_s and st.contact_s >= step_s) or (
                self._recent and step_s == step_s and not (
                    1 / self.max_step_ratio <= step_s / float(np.median(self._recent))
                    <= self.max_step_ratio)):
            why = "irregular"
        elif first or step_s != step_s:
            why = "bout-edge"
        else:
            why = None
        if step_s == step_s and why in (None, "bout-edge"):
            self._recent = [*self._recent[-9:], step_s]
        return RunningStepMetrics(
            stance_side=st.side, t_ic_s=st.t_ic_s, t_to_s=st.t_to_s, bout=st.bout,
            contact_time_s=st.contact_s, flight_time_s=st.flight_s, step_time_s=step_s,
            contralateral_drop_deg=drop, drop_time_pct=drop_pct, obliquity_rom_deg=roms[0],
            tilt_rom_deg=roms[1], rotation_rom_deg=roms[2], mean_tilt_deg=mean_tilt,
            vertical_oscillation_m=vo, braking_mps2=braking,
            peak_vertical_mps2=st.peak_vertical_mps2, excluded=why)


def _continues(a: RunningStep, b: RunningStep) -> bool:
    """b is the step right after a (same bout, its contact is a's next)."""
    return a.bout == b.bout and abs(a.t_next_ic_s - b.t_ic_s) < _T_TOL_S


def _stride_end(st: RunningStep, nxt: RunningStep, end: float) -> float:
    if _continues(st, nxt) and nxt.t_next_ic_s == nxt.t_next_ic_s:
        return max(end, nxt.t_next_ic_s)
    return end


def running_step_metrics(t_s, angles_rad, acc_level_mps2, steps: Iterable[RunningStep],
                         **params) -> list[RunningStepMetrics]:
    """Offline: the stream fed everything, flushed."""
    s = RunningMetricsStream(**params)
    return s.update(t_s, angles_rad, acc_level_mps2, steps) + s.flush()


# ---- per bout -----------------------------------------------------------------------------

@dataclass
class RunSummary:
    """A running bout (or session) summarised over its used steps (medians unless said).

    n_steps, n_steps_used, n_steps_by_side {"L","R"} (used), excluded_reasons {reason: n}.
    cadence_spm: 60 / median step time (steps/min). step_time_s, contact_time_s,
    flight_time_s, braking_mps2, vertical_oscillation_m: {"L","R"} per stance side, and
    "all" (both sides). contralateral_drop_deg {"L","R"} (deg), contralateral_drop_sd_deg
    {"L","R"}. rom_deg {"obliquity","tilt","rotation"}: medians of the strides' robust
    ranges; mean_tilt_deg. symmetry_index {"step_time","contact_time"} (%, Robinson et al.
    1987, unsigned); side_difference_deg {"drop"}: |L − R| of the drops (deg).
    variability {"step_time_cv_pct", "contact_time_cv_pct", "drop_sd_deg"} (the drop SD
    pooled over the two sides; the time CVs without the times more than 3 robust SDs from
    their median, as walking's: ``metrics.time_outliers_rows``). NaN where fewer than
    ``min_steps_per_side`` used steps.
    """

    n_steps: int
    n_steps_used: int
    n_steps_by_side: dict[str, int]
    excluded_reasons: dict[str, int]
    cadence_spm: float
    step_time_s: dict[str, float]
    contact_time_s: dict[str, float]
    flight_time_s: dict[str, float]
    braking_mps2: dict[str, float]
    vertical_oscillation_m: dict[str, float]
    contralateral_drop_deg: dict[str, float]
    contralateral_drop_sd_deg: dict[str, float]
    rom_deg: dict[str, float]
    mean_tilt_deg: float
    symmetry_index: dict[str, float]
    side_difference_deg: dict[str, float]
    variability: dict[str, float] = field(default_factory=dict)


#: The per-step fields the summary is made of (every one of its values is a statistic of them).
STEP_FIELDS = ("step_time_s", "contact_time_s", "flight_time_s", "braking_mps2",
               "vertical_oscillation_m", "contralateral_drop_deg", "obliquity_rom_deg",
               "tilt_rom_deg", "rotation_rom_deg", "mean_tilt_deg")
_SIDED = ("step_time_s", "contact_time_s", "flight_time_s", "braking_mps2",
          "vertical_oscillation_m")


def run_step_statistics(values: dict[str, dict[str, np.ndarray]], *,
                        min_steps_per_side: int = 5, wanted=None) -> dict[str, np.ndarray]:
    """The summary's values of B sets of used running steps at once: ``values`` is
    {side: {field of ``STEP_FIELDS``: (B, n_side)}} (B = 1: the steps themselves, as
    :func:`summarize_run` calls it; B resamples: :func:`bootstrap_run_statistics`).
    Returns {metric path of :class:`RunSummary` ("contralateral_drop_deg.L",
    "variability.step_time_cv_pct", ...): (B,)}, only the paths in ``wanted`` if given.

    Per side (``min_steps_per_side`` steps of it, else NaN): medians of the finite values,
    the drop's SD (ddof 1, two finite values at least); both sides ("all", ROMs, mean tilt,
    CVs: each side at least ``min_steps_per_side``) over the pooled steps; symmetry indices
    (Robinson et al. 1987) of the per-side medians; the pooled drop SD
    √((SD_L² + SD_R²) / 2).
    """
    n = {sd: next(iter(values[sd].values())).shape[1] for sd in SIDES}
    b = next(iter(values[SIDES[0]].values())).shape[0]
    nan = np.full(b, np.nan)
    enough = all(n[sd] >= min_steps_per_side for sd in SIDES)

    def med(x: np.ndarray) -> np.ndarray:
        if x.shape[1] == 0:
            return nan.copy()
        with warnings.catch_warnings():  # "All-NaN slice": a row with no value is NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(x, axis=1)

    def sd(x: np.ndarray) -> np.ndarray:
        ok = np.isfinite(x)
        k = ok.sum(axis=1)
        with np.errstate(all="ignore"):
            m = np.where(ok, x, 0.0).sum(axis=1) / k
            ss = np.where(ok, (x - m[:, None]) ** 2, 0.0).sum(axis=1)
            return np.where(k >= 2, np.sqrt(ss / (k - 1)), np.nan)

    def side(name: str, sd_: str, f=med) -> np.ndarray:
        return f(values[sd_][name]) if n[sd_] >= min_steps_per_side else nan.copy()

    def pooled(name: str) -> np.ndarray:
        return np.concatenate([values[sd_][name] for sd_ in SIDES], axis=1)

    def cv(name: str) -> np.ndarray:
        if not enough:
            return nan.copy()
        x = pooled(name)
        x = np.where(time_outliers_rows(x), np.nan, x)   # as walking's: a mis-timed contact
        ok = np.isfinite(x)
        with np.errstate(all="ignore"):
            mean = np.where(ok, x, 0.0).sum(axis=1) / ok.sum(axis=1)
            return 100 * sd(x) / mean

    out: dict[str, np.ndarray] = {}
    for name in _SIDED:
        for sd_ in SIDES:
            out[f"{name}.{sd_}"] = side(name, sd_)
        out[f"{name}.all"] = med(pooled(name)) if enough else nan.copy()
    for sd_ in SIDES:
        out[f"contralateral_drop_deg.{sd_}"] = side("contralateral_drop_deg", sd_)
        out[f"contralateral_drop_sd_deg.{sd_}"] = side("contralateral_drop_deg", sd_, sd)
    for k in ("obliquity", "tilt", "rotation"):
        out[f"rom_deg.{k}"] = med(pooled(f"{k}_rom_deg")) if enough else nan.copy()
    out["mean_tilt_deg"] = med(pooled("mean_tilt_deg")) if enough else nan.copy()
    for k, name in (("step_time", "step_time_s"), ("contact_time", "contact_time_s")):
        out[f"symmetry_index.{k}"] = symmetry_index_array(out[f"{name}.L"], out[f"{name}.R"])
    out["side_difference_deg.drop"] = np.abs(out["contralateral_drop_deg.L"]
                                             - out["contralateral_drop_deg.R"])
    out["variability.step_time_cv_pct"] = cv("step_time_s")
    out["variability.contact_time_cv_pct"] = cv("contact_time_s")
    with np.errstate(all="ignore"):
        out["variability.drop_sd_deg"] = np.sqrt(0.5 * (out["contralateral_drop_sd_deg.L"] ** 2
                                                        + out["contralateral_drop_sd_deg.R"] ** 2))
    if wanted is not None:
        out = {k: v for k, v in out.items() if k in set(wanted)}
    return out


def symmetry_index_array(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """:func:`sacrum.scoring.metrics.symmetry_index` element by element (NaN unless both
    are finite and positive)."""
    left, right = np.asarray(left, float), np.asarray(right, float)
    ok = np.isfinite(left) & np.isfinite(right) & (left > 0) & (right > 0)
    with np.errstate(all="ignore"):
        return np.where(ok, 100.0 * np.abs(left - right) / (0.5 * (left + right)), np.nan)


def _used_values(steps: Sequence[RunningStepMetrics]) -> dict[str, dict[str, np.ndarray]]:
    """{side: {field: (n_side,)}} of the used steps (``excluded`` None)."""
    used = [s for s in steps if s.excluded is None]
    return {sd: {f: np.array([getattr(s, f) for s in used if s.stance_side == sd], float)
                 for f in STEP_FIELDS} for sd in SIDES}


def summarize_run(steps: Sequence[RunningStepMetrics], *, min_steps_per_side: int = 5
                  ) -> RunSummary:
    """:class:`RunSummary` of the used steps (``excluded`` None): :func:`run_step_statistics`
    of them (the same computation as the score's bootstrap resamples)."""
    by_side = _used_values(steps)
    n = {sd: len(by_side[sd]["step_time_s"]) for sd in SIDES}
    st = run_step_statistics({sd: {f: v[None, :] for f, v in by_side[sd].items()}
                              for sd in SIDES}, min_steps_per_side=min_steps_per_side)
    v = {k: float(x[0]) for k, x in st.items()}

    def group(prefix: str, keys) -> dict[str, float]:
        return {k: v[f"{prefix}.{k}"] for k in keys}

    sided = (*SIDES, "all")
    step_all = v["step_time_s.all"]
    return RunSummary(
        n_steps=len(steps), n_steps_used=n["L"] + n["R"], n_steps_by_side=n,
        excluded_reasons={r: sum(s.excluded == r for s in steps) for r in EXCLUSION_REASONS},
        cadence_spm=60.0 / step_all if math.isfinite(step_all) else math.nan,
        step_time_s=group("step_time_s", sided), contact_time_s=group("contact_time_s", sided),
        flight_time_s=group("flight_time_s", sided), braking_mps2=group("braking_mps2", sided),
        vertical_oscillation_m=group("vertical_oscillation_m", sided),
        contralateral_drop_deg=group("contralateral_drop_deg", SIDES),
        contralateral_drop_sd_deg=group("contralateral_drop_sd_deg", SIDES),
        rom_deg=group("rom_deg", ("obliquity", "tilt", "rotation")),
        mean_tilt_deg=v["mean_tilt_deg"],
        symmetry_index=group("symmetry_index", ("step_time", "contact_time")),
        side_difference_deg={"drop": v["side_difference_deg.drop"]},
        variability=group("variability", ("step_time_cv_pct", "contact_time_cv_pct",
                                          "drop_sd_deg")))


def bootstrap_run_statistics(steps: Sequence[RunningStepMetrics], *, n_boot: int = 1000,
                             seed: int = 0, min_steps_per_side: int = 5, wanted=None
                             ) -> dict[str, np.ndarray]:
    """:func:`run_step_statistics` of ``n_boot`` bootstrap resamples of the used running
    steps, as the walking steps' (:func:`sacrum.scoring.metrics.bootstrap_step_statistics`):
    each resample draws with replacement as many steps of each stance side as that side
    used (stratified), each step whole (its drop, times and ranges together); ``seed``
    fixes numpy's PCG64 generator, so the same steps give the same interval. The summary's
    ``min_steps_per_side`` decides which values exist (a resample has the side counts of the
    steps). Returns {metric path: (n_boot,)}.

    Reference: Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall;
    1993 (the percentile interval, ch. 13; stratified resampling, ch. 6).
    """
    rng = np.random.default_rng(seed)
    by_side = _used_values(steps)
    values = {}
    for sd in SIDES:
        n = len(by_side[sd]["step_time_s"])
        idx = rng.integers(0, n, size=(n_boot, n)) if n else np.zeros((n_boot, 0), int)
        values[sd] = {f: v[idx] for f, v in by_side[sd].items()}
    return run_step_statistics(values, min_steps_per_side=min_steps_per_side, wanted=wanted)


# ---- live ----------------------------------------------------------------------------------

#: Samples that may be lost before the received rate is too low for running metrics: a
#: running step with a lost sample in it is left out ("gap"), and at 5 % loss in BLE's
#: bursts of a few samples about one step in four or five is already.
MAX_RUNNING_LOSS = 0.05


def received_rate_ok(rate_hz: float, received_hz: float) -> tuple[bool, str]:
    """Whether the samples arriving are enough for running metrics, and why (one sentence):
    the device's rate ``rate_hz`` (:func:`sacrum.signal.running.running_rate_ok`: 200 Hz),
    and the rate received after loss, ``received_hz`` (samples per second that arrived),
    at least (1 − ``MAX_RUNNING_LOSS``) × 200 Hz."""
    ok, why = running_rate_ok(rate_hz)
    if not ok:
        return ok, why
    floor = (1 - MAX_RUNNING_LOSS) * MIN_RUNNING_RATE_HZ
    if not received_hz >= floor:
        return False, (f"{received_hz:.0f} Hz received of {rate_hz:g} Hz "
                       f"({100 * (1 - received_hz / rate_hz):.0f} % lost) is too low for "
                       f"running metrics: steps with a lost sample are left out; move the "
                       f"sensor closer, or use USB")
    return True, why


@dataclass(frozen=True)
class RunningCue:
    """A cue for a running step whose drop passed the athlete's threshold: t_ic_s (the
    step's initial contact, s), side ("L" | "R", the stance side), drop_deg, t_emit_s (the
    newest sample when it was decided, s)."""

    t_ic_s: float
    side: str
    drop_deg: float
    t_emit_s: float


@dataclass(frozen=True)
class LiveRunningState:
    """What the live view shows of running (a snapshot: plain values).

    steps: every running step so far as (t_ic_s, side, contralateral_drop_deg, excluded).
    last_drop_deg {"L","R"}: the drop of each side's newest running step with one (deg).
    drop_deg {"L","R"}: the median over the used steps (deg). cadence_spm: 60 / the median
    step time of the last ``cadence_steps`` used steps (steps/min). cues: every cue so far.
    threshold_deg: the cue threshold (deg). cue_every: at most one cue per this many steps.
    rate_hz, received_hz: the device's rate and the rate received after loss over the last
    ``rate_window_s`` (Hz); rate_ok, rate_message: :func:`received_rate_ok`. final: the
    values are the offline analysis' (the data ended). mount_message: "" or why the live
    angles' mounting is not the running's (:class:`LiveRunning` step 5).
    """

    steps: list[tuple[float, str, float, str | None]]
    last_drop_deg: dict[str, float]
    drop_deg: dict[str, float]
    cadence_spm: float
    cues: list[RunningCue]
    threshold_deg: float
    cue_every: int
    rate_hz: float
    received_hz: float
    rate_ok: bool
    rate_message: str
    final: bool = False
    mount_message: str = ""


class LiveRunning:
    """Running live: the running events and per-step metrics of the offline analysis, fed as
    the samples come, the athlete's cue, and whether the rate received is enough.

    **Data required.** Per chunk: times (s), the accelerometer (m/s², sensor frame),
    ``q_sensor_to_earth`` and the pelvic angles (rad, relative to the calibration) of the
    live pipeline, NaN rows for lost samples; the mounting (``q_sensor_to_body``, may be
    replaced between chunks when the live estimate changes).

    **Steps.** 1. :class:`~sacrum.signal.running.RunningEventDetector` on the chunk (the
    same processor as ``sacrum analyze``: running steps, sides, bouts). 2. Its steps and the
    chunk into :class:`RunningMetricsStream` (per-step drop over the contact, contact and
    flight time, ...), which gives a step once its stride is in (about two steps, 0.7 s,
    after its initial contact). 3. *Cue*: a running step whose drop is over
    ``threshold_deg`` (and not left out for a lost sample) is cued, unless a cue was given
    in the last ``cue_every`` − 1 running steps (``cue_every`` = 1: every such step; N: at
    most once every N steps, so the athlete is not told at every step). 4. *Rate*: the
    samples received over the last ``rate_window_s`` (lost ones not counted) per second,
    checked by :func:`received_rate_ok`. 5. *Mounting check*: once ``mount_contacts``
    running contacts are in the last ``mount_window_s``, the mounting is estimated from them
    (:func:`~sacrum.signal.running.estimate_running_mount`, as ``sacrum analyze`` does for
    running) and compared with the one the angles are in: a forward axis more than 90° off
    (a walking estimate made on running takes the running for walking and can reverse
    forward: docs/running.md, "Live") makes the drops unreliable, and ``mount_message``
    says so (the angles are the live pipeline's: they are not corrected here).

    **Parameters.** ``rate_hz``; ``q_sensor_to_body``; ``threshold_deg`` = 7 (the walking
    bands' normal edge, as the live view's walking cue; the running bands' drop edge is 5.6°,
    docs/running.md); ``cue_every`` = 1;
    ``cadence_steps`` = 10; ``rate_window_s`` = 5; ``mount_contacts`` = 20 (the estimate's
    own minimum); ``mount_window_s`` = 20.
    """

    def __init__(self, rate_hz: float, q_sensor_to_body, *, threshold_deg: float = 7.0,
                 cue_every: int = 1, cadence_steps: int = 10,
                 rate_window_s: float = 5.0, mount_contacts: int = 20,
                 mount_window_s: float = 20.0) -> None:
        if int(cue_every) < 1:
            raise ValueError(f"cue_every must be 1 or more steps, not {cue_every!r}")
        self.rate_hz = float(rate_hz)
        self.q_sensor_to_body = np.asarray(q_sensor_to_body, float)
        self.threshold_deg = float(threshold_deg)
        self.cue_every = int(cue_every)
        self.cadence_steps = int(cadence_steps)
        self.rate_window_s = float(rate_window_s)
        self.mount_contacts, self.mount_window_s = int(mount_contacts), float(mount_window_s)
        self.reset()

    def reset(self) -> None:
        """Forget the stream (parameters kept)."""
        self.detector = RunningEventDetector(self.rate_hz, self.q_sensor_to_body)
        self.stream = RunningMetricsStream()
        self.steps: list[RunningStepMetrics] = []
        self.cues: list[RunningCue] = []
        self._since_cue = self.cue_every
        self._blocks: list[tuple[float, float, int]] = []   # (t_first, t_last, n received)
        self._t_last = math.nan
        self._raw: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # step 5: t, acc, q
        self._found: list[RunningStep] = []
        self.mount_message = ""
        self._state_n = -1                              # steps in the cached state
        self.running_mount: np.ndarray | None = None   # step 5's estimate, once made
        self._mount_seen: np.ndarray | None = None     # the mounting it was compared with
        self._mount_failed = False

    def update(self, t_s, acc_mps2, q_sensor_to_earth, angles_rad,
               q_sensor_to_body=None) -> list[RunningStepMetrics]:
        """The running steps measured with this chunk (steps 1-4)."""
        t = np.asarray(t_s, float).reshape(-1)
        if not len(t):
            return []
        if q_sensor_to_body is not None:
            self.q_sensor_to_body = np.asarray(q_sensor_to_body, float)
            self.detector.q_sensor_to_body = self.q_sensor_to_body
        acc = np.asarray(acc_mps2, float).reshape(-1, 3)
        q = np.asarray(q_sensor_to_earth, float).reshape(-1, 4)
        found = self.detector.update(t, acc, None, q)                          # 1.
        new = self.stream.update(t, angles_rad, self.detector.level_mps2, found)  # 2.
        self._t_last = float(t[-1])
        self._take(new)
        self._check_mount(t, acc, q, found)                                    # 5.
        received = int(np.sum(np.isfinite(acc).all(axis=1)))                   # 4.
        self._blocks.append((float(t[0]), float(t[-1]), received))
        while self._blocks and self._blocks[0][1] < t[-1] - self.rate_window_s:
            self._blocks.pop(0)
        return new

    def _check_mount(self, t, acc, q, found: list[RunningStep]) -> None:
        from sacrum.signal.running import estimate_running_mount

        if self.running_mount is not None:
            if self._mount_seen is not self.q_sensor_to_body:  # the mounting was replaced
                self._mount_seen = self.q_sensor_to_body
                self.mount_message = self._mount_conflict()
            return
        if self._mount_failed:
            return
        self._raw.append((t, acc, q))
        self._found += [s for s in found if s.mode == "run" and s.contact_s == s.contact_s]
        t0 = float(t[-1]) - self.mount_window_s
        while self._raw and self._raw[0][0][-1] < t0:
            self._raw.pop(0)
        self._found = [s for s in self._found if s.t_ic_s >= t0]
        if len(self._found) < self.mount_contacts:
            return
        tt, aa, qq = (np.concatenate(x) for x in zip(*self._raw, strict=True))
        contacts, self._raw, self._found = self._found, [], []
        try:
            self.running_mount = estimate_running_mount(tt, aa, qq, contacts,
                                                        min_contacts=self.mount_contacts)
        except ValueError as e:
            self._mount_failed = True
            self.mount_message = f"the mounting could not be checked on the running: {e}"
            return
        self._mount_seen = self.q_sensor_to_body
        self.mount_message = self._mount_conflict()

    def _mount_conflict(self) -> str:
        """Step 5: "" or why the mounting in use is not the running's."""
        fwd = [quat_rotate(quat_conjugate(m), np.array([1.0, 0.0, 0.0]))
               for m in (self.running_mount, self.q_sensor_to_body)]
        up = quat_rotate(quat_conjugate(self.running_mount), np.array([0.0, 0.0, 1.0]))
        fwd = [f - (f @ up) * up for f in fwd]
        cos = float(fwd[0] @ fwd[1]) / float(np.linalg.norm(fwd[0]) * np.linalg.norm(fwd[1]))
        off_deg = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
        if off_deg <= 90.0:
            return ""
        return (f"the mounting in use has its forward axis {off_deg:.0f}° off the running's "
                "(estimated from the walking, it took the running for walking): the live "
                "drops are not right (the final analysis is); give --mount")

    def flush(self) -> list[RunningStepMetrics]:
        """The end of the data: the steps still held."""
        found = self.detector.flush()
        new = self.stream.update(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)), found)
        new += self.stream.flush()
        self._take(new)
        return new

    def _take(self, new: list[RunningStepMetrics]) -> None:
        for m in new:                                                          # 3.
            self.steps.append(m)
            if m.excluded == "gap" or not math.isfinite(m.contralateral_drop_deg):
                continue
            self._since_cue += 1
            if m.contralateral_drop_deg > self.threshold_deg and \
                    self._since_cue >= self.cue_every:
                self.cues.append(RunningCue(m.t_ic_s, m.stance_side, m.contralateral_drop_deg,
                                            self._t_last))
                self._since_cue = 0

    @property
    def received_hz(self) -> float:
        """Samples received per second over the last ``rate_window_s`` (NaN before 1 s)."""
        if not self._blocks:
            return math.nan
        span = self._blocks[-1][1] - self._blocks[0][0] + 1.0 / self.rate_hz
        n = sum(b[2] for b in self._blocks)
        return n / span if span >= 1.0 else math.nan

    def state(self) -> LiveRunningState:
        """The values the live view shows (:class:`LiveRunningState`); the per-step part is
        made again only when a step was added (the window asks at every frame)."""
        if self._state_n != len(self.steps):
            used = [m for m in self.steps if m.excluded is None]
            last = {sd: next((m.contralateral_drop_deg for m in reversed(self.steps)
                              if m.stance_side == sd and math.isfinite(m.contralateral_drop_deg)
                              and m.excluded != "gap"), math.nan) for sd in SIDES}
            drop = {sd: _median([m.contralateral_drop_deg for m in used
                                 if m.stance_side == sd]) for sd in SIDES}
            step_s = _median([m.step_time_s for m in used[-self.cadence_steps:]])
            self._state_rows = [(m.t_ic_s, m.stance_side, m.contralateral_drop_deg, m.excluded)
                                for m in self.steps]
            self._state_values = (last, drop, 60.0 / step_s if step_s > 0 else math.nan)
            self._state_n = len(self.steps)
        last, drop, cadence = self._state_values
        received = self.received_hz
        ok, why = received_rate_ok(self.rate_hz, received if math.isfinite(received)
                                   else self.rate_hz)
        return LiveRunningState(
            steps=list(self._state_rows), last_drop_deg=dict(last), drop_deg=dict(drop),
            cadence_spm=cadence, cues=list(self.cues), threshold_deg=self.threshold_deg,
            cue_every=self.cue_every, rate_hz=self.rate_hz, received_hz=received, rate_ok=ok,
            rate_message=why, mount_message=self.mount_message)


def _median(values) -> float:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) else math.nan


# ---- score ---------------------------------------------------------------------------------

def load_running_bands(path=None) -> Bands:
    """The running bands: the packaged ``data/running_bands.toml``, or the file at ``path``
    alone (a running bands file is complete: it is not laid over the walking bands)."""
    if path is None:
        text = resources.files("sacrum").joinpath("data", RUNNING_BANDS).read_text("utf-8")
        return parse_bands(tomllib.loads(text), origin=f"packaged {RUNNING_BANDS}")
    with open(path, "rb") as f:
        return parse_bands(tomllib.load(f), origin=str(path))


def score_run(summary: RunSummary, bands: Bands | None = None, *,
              steps: Sequence[RunningStepMetrics] | None = None) -> TaskScore:
    """The running score 0-100 of a summary, through the running bands: the walking score's
    steps, ``sacrum.scoring.score.score_walk`` (task "run"), its step 5 (how sure) on the
    running ``steps`` when given: their bootstrap (:func:`bootstrap_run_statistics`, the
    bands' ``[score]`` resamples, seed, level and widest interval), the score withheld, the
    interval and the reason said, when the interval is wider than ``max_interval_width``
    points. Without ``steps``, no interval (the summary's counts are checked)."""
    bands = bands or load_running_bands()

    def resample(st, *, n_boot, seed, wanted):
        return bootstrap_run_statistics(st, n_boot=n_boot, seed=seed, wanted=wanted,
                                        min_steps_per_side=bands.min_steps_per_side)

    return score_walk(summary, bands, task="run", steps=steps, resample=resample,
                      remedy="a longer run, or repeating the run")


def format_run_summary(summary: RunSummary) -> list[str]:
    """The summary in display units (ms, cm, °), one line per metric."""

    def lr(d: dict, scale: float, unit: str, digits: int = 0) -> str:
        return "  ".join(f"{sd} {d[sd] * scale:.{digits}f}{unit}" for sd in SIDES
                         if math.isfinite(d[sd])) or "–"

    vo = summary.vertical_oscillation_m
    return [
        f"cadence {summary.cadence_spm:.0f} steps/min",
        f"contralateral drop {lr(summary.contralateral_drop_deg, 1, '°', 1)}",
        f"ground contact {lr(summary.contact_time_s, 1000, ' ms')}",
        f"flight {lr(summary.flight_time_s, 1000, ' ms')}",
        f"vertical oscillation {vo['all'] * 100:.1f} cm ({lr(vo, 100, ' cm', 1)})",
        f"braking {lr(summary.braking_mps2, 1, ' m/s²', 1)}",
        f"step time symmetry {summary.symmetry_index['step_time']:.1f} %",
    ]


__all__ = ["EXCLUSION_REASONS", "MAX_RUNNING_LOSS", "STEP_FIELDS", "LiveRunning",
           "LiveRunningState", "RunSummary", "RunningCue", "RunningMetricsStream",
           "RunningStepMetrics", "bootstrap_run_statistics", "format_run_summary",
           "load_running_bands", "received_rate_ok", "run_step_statistics",
           "running_step_metrics", "score_run", "summarize_run", "symmetry_index_array",
           "vertical_oscillation_m"]
