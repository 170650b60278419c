"""Pelvic control score: 0-100 per task and per session, from named components.

The stage after ``metrics`` and ``tasks`` (docs/pipeline.md): it reads a walking
summary (:class:`sacrum.scoring.metrics.WalkSummary`; walk and stairs, :func:`score_walk`), a
single-leg stance's metrics (:func:`score_single_leg_stance`) or a step-down/up task's
(:func:`score_repetitions`), and the bands (``data/bands.toml``, or a clinic's own
file), and explains every point it takes away. The bands, their published sources and
the number of steps, the hold time and the repetitions needed are in docs/scoring.md.
The single-leg stance and repetition scores follow steps 2-4 below with their own
minimum (a stable hold, a count of repetitions) in place of the steps per side.

Steps of :func:`score_walk`:

1. Count the used (not excluded) steps of each stance side.
2. Evaluate every item of every component: look its metric up in the summary
   ("contralateral_drop_deg.L" is ``summary.contralateral_drop_deg["L"]``) and
   map it through its band: 100 points inside the normal band, falling
   linearly to 0 at the poor limit (:meth:`Band.points`); the item's reason
   says the value, the band and what it cost.
3. Combine the items of each component: "worst" (the lowest item) or "mean"
   (weighted). A component is not scored when one of its non-optional items
   has no value, or when it needs more steps (``min_steps``) than were used.
4. The task score is the weighted mean of the scored components, and there is
   none (``None``, with the reason in ``message``) when the task is not one
   the bands apply to, when either stance side has fewer than
   ``min_steps_per_side`` used steps (one side only included), or when a
   required component is not scored. Components are evaluated all the same,
   so the values and reasons are there to read, but none of them then
   carries a score.
5. How sure it is (with the steps given): the used steps are resampled with
   replacement within each stance side (``n_bootstrap`` times, a fixed
   ``seed``; :func:`sacrum.scoring.metrics.bootstrap_step_statistics`), steps 2-4 are
   repeated on each resample with the same components, and the score's and
   each component's interval is the central ``interval_level`` (90 %) of the
   resampled scores (the percentile bootstrap, Efron & Tibshirani 1993),
   widened to hold the score itself. A score whose interval is wider than
   ``max_interval_width`` points is withheld, the interval and the reason said.
   Regularity and harmonic ratios are not resampled (they come from the
   acceleration of runs of steps): their uncertainty is not in the interval.

:func:`score_session` combines task scores, weighted by their used steps (and
their resampled scores likewise, resample by resample, for the session's interval).
The same functions serve the live view (called once per stride on the
summary so far) and the offline report.
"""

from __future__ import annotations

import logging
import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SIDES = ("L", "R")
SIDE_WORDS = {"L": "left", "R": "right"}
UNITS = {"deg": "°", "%": " %", "": "", "s": " s", "deg/s": "°/s"}
COMBINE = ("worst", "mean")
DEFAULT_BANDS = "bands.toml"


class BandsError(ValueError):
    """A bands file that cannot be used; the message names the file, the key and the fix."""


# ---- bands ---------------------------------------------------------------------------------


def _fmt(value: float, unit: str) -> str:
    """A value for a reason text: 8.1°, 12.3 %, 0.82."""
    if unit == "":
        return f"{value:.2f}"
    return f"{value:.1f}{UNITS.get(unit, ' ' + unit)}"


@dataclass(frozen=True)
class Band:
    """Normal band and poor limits of one metric, in the metric's unit.

    ``normal_min`` ≤ value ≤ ``normal_max`` scores 100 points (a missing edge
    is open); above ``normal_max`` the points fall linearly to 0 at
    ``poor_max``, below ``normal_min`` to 0 at ``poor_min``.
    """

    normal_min: float | None = None
    normal_max: float | None = None
    poor_min: float | None = None
    poor_max: float | None = None
    unit: str = ""

    def points_array(self, values: np.ndarray) -> np.ndarray:
        """:meth:`points` of many values at once (NaN stays NaN)."""
        v = np.asarray(values, float)
        pts = np.full(v.shape, 100.0)
        with np.errstate(invalid="ignore"):
            if self.normal_max is not None:
                above = v > self.normal_max
                frac = (v - self.normal_max) / (self.poor_max - self.normal_max)
                pts = np.where(above, 100.0 * np.maximum(0.0, 1.0 - frac), pts)
            if self.normal_min is not None:
                below = v < self.normal_min
                frac = (self.normal_min - v) / (self.normal_min - self.poor_min)
                pts = np.where(below, 100.0 * np.maximum(0.0, 1.0 - frac), pts)
        return np.where(np.isfinite(v), pts, np.nan)

    def points(self, value: float) -> float:
        """0-100 points for ``value`` (finite)."""
        if self.normal_max is not None and value > self.normal_max:
            frac = (value - self.normal_max) / (self.poor_max - self.normal_max)
            return 100.0 * max(0.0, 1.0 - frac)
        if self.normal_min is not None and value < self.normal_min:
            frac = (self.normal_min - value) / (self.normal_min - self.poor_min)
            return 100.0 * max(0.0, 1.0 - frac)
        return 100.0

    def describe(self) -> str:
        """The normal band in words: "≤ 7.0°", "≥ 0.80", "1.0°–7.0°"."""
        lo, hi, u = self.normal_min, self.normal_max, self.unit
        if lo is not None and hi is not None:
            return f"{_fmt(lo, u)}–{_fmt(hi, u)}"
        return f"≤ {_fmt(hi, u)}" if hi is not None else f"≥ {_fmt(lo, u)}"

    def as_dict(self) -> dict[str, Any]:
        return {"normal_min": self.normal_min, "normal_max": self.normal_max,
                "poor_min": self.poor_min, "poor_max": self.poor_max, "unit": self.unit}


@dataclass(frozen=True)
class ItemSpec:
    """One metric of a component: where to find it in the summary, its band, its weight."""

    name: str
    metric: str
    label: str
    band: Band
    weight: float = 1.0
    optional: bool = False
    source: str = ""


@dataclass(frozen=True)
class ComponentSpec:
    """A named component: its weight in the task score, how its items combine, how many
    used steps it needs (in all, both sides), and whether a task score needs it."""

    name: str
    weight: float
    items: tuple[ItemSpec, ...]
    combine: str = "mean"
    required: bool = False
    min_steps: int = 0


@dataclass(frozen=True)
class HoldBands:
    """The bands of single-leg stance (``[single_leg_stance]``): its components and the
    shortest stable hold (s) a score needs."""

    components: dict[str, ComponentSpec]
    min_hold_s: float = 3.0


@dataclass(frozen=True)
class RepetitionBands:
    """The bands of step-down and step-up (``[repetitions]``): its components and the
    fewest repetitions a score needs."""

    components: dict[str, ComponentSpec]
    min_repetitions: int = 3


@dataclass(frozen=True)
class IntervalSpec:
    """How a walking score's uncertainty is estimated and when it withholds the score
    (``[score]`` of the bands file; docs/scoring.md, 'How sure is the score').

    level: the interval's coverage (0.90: from the 5th to the 95th percentile of the
    bootstrap scores). max_width_points: a task score whose interval is wider than this
    (points) is withheld, with the interval and the reason. n_bootstrap: resamples of the
    steps. seed: the resampling generator's seed (the same steps give the same interval).
    """

    level: float = 0.90
    max_width_points: float = 30.0
    n_bootstrap: int = 1000
    seed: int = 0

    @property
    def percentiles(self) -> tuple[float, float]:
        tail = 50.0 * (1.0 - self.level)
        return tail, 100.0 - tail


@dataclass(frozen=True)
class Bands:
    """A parsed bands file (:func:`load_bands`). ``components``: the stepping tasks'
    (walk, stairs); ``single_leg_stance``, ``repetitions``: those tasks' own bands (None:
    the file has none, and those tasks get metrics but no score). ``min_steps_per_side``:
    the fewest used steps of each stance side a walking score is tried on; ``interval``:
    how sure it must then be."""

    components: dict[str, ComponentSpec]
    min_steps_per_side: int = 5
    tasks: tuple[str, ...] = ("walk",)
    origin: str = DEFAULT_BANDS
    single_leg_stance: HoldBands | None = None
    repetitions: RepetitionBands | None = None
    interval: IntervalSpec = IntervalSpec()


_TOP_KEYS = {"schema", "base", "score", "components", "single_leg_stance", "repetitions"}
_HOLD_KEYS = {"min_hold_s", "components"}
_REPETITION_KEYS = {"min_repetitions", "components"}
_SCORE_KEYS = {"tasks", "min_steps_per_side", "interval_level", "max_interval_width",
               "n_bootstrap", "seed"}
_COMPONENT_KEYS = {"weight", "combine", "required", "min_steps", "items"}
_ITEM_KEYS = {"metric", "label", "unit", "normal_min", "normal_max", "poor_min", "poor_max",
              "weight", "optional", "source"}


def load_bands(path: str | os.PathLike | None = None) -> Bands:
    """The bands: the packaged ``data/bands.toml``, with ``path`` laid over it if given
    (only the keys it has change), or ``path`` alone if it says ``base = "none"``.

    Raises :class:`BandsError` for a file that is missing, is not TOML, or has a
    value that cannot be used (the message names the file and the key).
    """
    default = tomllib.loads(
        resources.files("sacrum").joinpath("data", DEFAULT_BANDS).read_text("utf-8"))
    if path is None:
        return parse_bands(default, origin=f"packaged {DEFAULT_BANDS}")
    try:
        with open(path, "rb") as f:
            user = tomllib.load(f)
    except OSError as e:
        raise BandsError(f"bands file {path}: {e.strerror or e}") from e
    except tomllib.TOMLDecodeError as e:
        raise BandsError(f"bands file {path} is not valid TOML: {e}") from e
    base = user.get("base", "default")
    if base not in ("default", "none"):
        raise BandsError(f'bands file {path}: base = {base!r}; use "default" (lay this file '
                         'over the packaged bands) or "none" (use this file alone)')
    data = user if base == "none" else _merge(default, user)
    return parse_bands(data, origin=str(path))


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_bands(data: dict[str, Any], origin: str = "bands") -> Bands:
    """Check and convert the TOML tables of a bands file (see data/bands.toml)."""

    def fail(where: str, msg: str) -> BandsError:
        return BandsError(f"bands file {origin}: {where}: {msg}")

    def unknown(table: dict, allowed: set[str], where: str) -> None:
        extra = sorted(set(table) - allowed)
        if extra:
            raise fail(where, f"unknown key{'s' if len(extra) > 1 else ''} "
                       f"{', '.join(extra)} (known: {', '.join(sorted(allowed))})")

    def number(table: dict, key: str, where: str, default=None, *, positive=False):
        v = table.get(key, default)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise fail(where, f"{key} = {v!r} is not a number")
        if positive and v < 0:
            raise fail(where, f"{key} = {v} must not be negative")
        return float(v)

    def flag(table: dict, key: str, where: str, default: bool) -> bool:
        v = table.get(key, default)
        if not isinstance(v, bool):
            raise fail(where, f"{key} = {v!r} must be true or false")
        return v

    def count(table: dict, key: str, where: str, default: int) -> int:
        v = table.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise fail(where, f"{key} = {v!r} must be a whole number ≥ 0")
        return v

    if data.get("schema", 1) != 1:
        raise fail("schema", f"{data.get('schema')!r} is not a version this sacrum reads (1)")
    unknown(data, _TOP_KEYS, "top level")
    score = data.get("score", {})
    if not isinstance(score, dict):
        raise fail("[score]", "must be a table")
    unknown(score, _SCORE_KEYS, "[score]")
    tasks = score.get("tasks", ["walk"])
    if not (isinstance(tasks, list) and all(isinstance(t, str) and t for t in tasks)):
        raise fail("[score] tasks", f"{tasks!r} must be a list of task names")
    min_side = count(score, "min_steps_per_side", "[score]", 5)
    if min_side < 1:
        raise fail("[score]", "min_steps_per_side must be at least 1")
    level = number(score, "interval_level", "[score]", 0.90)
    if not 0.0 < level < 1.0:
        raise fail("[score]", f"interval_level = {level} must be between 0 and 1 (0.90: a "
                              "90 % interval)")
    max_width = number(score, "max_interval_width", "[score]", 30.0, positive=True)
    n_boot = count(score, "n_bootstrap", "[score]", 1000)
    if n_boot < 100:
        raise fail("[score]", f"n_bootstrap = {n_boot}: at least 100 resamples are needed "
                              "for the interval's percentiles")
    interval = IntervalSpec(level, max_width, n_boot, count(score, "seed", "[score]", 0))

    def components_of(comps_in: Any, prefix: str) -> dict[str, ComponentSpec]:
        if not isinstance(comps_in, dict) or not comps_in:
            raise fail(f"[{prefix}components]",
                       f"no components: give at least one [{prefix}components.NAME] table")
        components = {cname: component(cname, c, prefix) for cname, c in comps_in.items()}
        if not sum(c.weight for c in components.values()) > 0:
            raise fail(f"[{prefix}components]",
                       "all weights are 0: give at least one a positive weight")
        return components

    def component(cname: str, c: Any, prefix: str) -> ComponentSpec:
        where = f"[{prefix}components.{cname}]"
        if not isinstance(c, dict):
            raise fail(where, "must be a table")
        unknown(c, _COMPONENT_KEYS, where)
        weight = number(c, "weight", where, 1.0, positive=True)
        combine = c.get("combine", "mean")
        if combine not in COMBINE:
            raise fail(where, f"combine = {combine!r}; use one of {', '.join(COMBINE)}")
        items_in = c.get("items")
        if not isinstance(items_in, dict) or not items_in:
            raise fail(where, f"no items: give at least one "
                              f"[{prefix}components.{cname}.items.NAME]")
        items = []
        for iname, it in items_in.items():
            iwhere = f"[{prefix}components.{cname}.items.{iname}]"
            if not isinstance(it, dict):
                raise fail(iwhere, "must be a table")
            unknown(it, _ITEM_KEYS, iwhere)
            metric = it.get("metric")
            if not isinstance(metric, str) or not metric:
                raise fail(iwhere, 'metric is missing (e.g. metric = "contralateral_drop_deg.L")')
            unit = it.get("unit", "")
            if unit not in UNITS:
                raise fail(iwhere, f"unit = {unit!r}; use one of "
                           + ", ".join(repr(u) for u in UNITS))
            lo, hi, plo, phi = (number(it, k, iwhere) for k in
                                ("normal_min", "normal_max", "poor_min", "poor_max"))
            if lo is None and hi is None:
                raise fail(iwhere, "give normal_max (and poor_max) or normal_min (and poor_min)")
            if hi is not None and (phi is None or not phi > hi):
                raise fail(iwhere, f"poor_max ({phi}) must be above normal_max ({hi})")
            if lo is not None and (plo is None or not plo < lo):
                raise fail(iwhere, f"poor_min ({plo}) must be below normal_min ({lo})")
            if hi is None and phi is not None:
                raise fail(iwhere, "poor_max without normal_max")
            if lo is None and plo is not None:
                raise fail(iwhere, "poor_min without normal_min")
            if lo is not None and hi is not None and not lo <= hi:
                raise fail(iwhere, f"normal_min ({lo}) must not be above normal_max ({hi})")
            label = it.get("label", iname)
            source = it.get("source", "")
            if not isinstance(label, str) or not isinstance(source, str):
                raise fail(iwhere, "label and source must be text")
            items.append(ItemSpec(
                name=iname, metric=metric, label=label, band=Band(lo, hi, plo, phi, unit),
                weight=number(it, "weight", iwhere, 1.0, positive=True),
                optional=flag(it, "optional", iwhere, False), source=source))
        return ComponentSpec(
            name=cname, weight=weight, items=tuple(items), combine=combine,
            required=flag(c, "required", where, False),
            min_steps=count(c, "min_steps", where, 0))

    components = components_of(data.get("components"), "")

    def section(name: str, keys) -> dict | None:
        """An optional [name] table of the file, its keys checked; None when absent."""
        if name not in data:
            return None
        t = data[name]
        if not isinstance(t, dict):
            raise fail(f"[{name}]", "must be a table")
        unknown(t, keys, f"[{name}]")
        return t

    hold = None
    t = section("single_leg_stance", _HOLD_KEYS)
    if t is not None:
        min_hold = number(t, "min_hold_s", "[single_leg_stance]", 3.0, positive=True)
        hold = HoldBands(components_of(t.get("components"), "single_leg_stance."), min_hold)
    reps = None
    t = section("repetitions", _REPETITION_KEYS)
    if t is not None:
        min_reps = count(t, "min_repetitions", "[repetitions]", 3)
        if min_reps < 1:
            raise fail("[repetitions]", "min_repetitions must be at least 1")
        reps = RepetitionBands(components_of(t.get("components"), "repetitions."), min_reps)
    return Bands(components, min_side, tuple(tasks), origin, hold, reps, interval)


# ---- results -------------------------------------------------------------------------------


@dataclass
class Item:
    """One metric's contribution: its value (None when the summary has none), its band, its
    points (None when not scored) and the reason in words."""

    name: str
    metric: str
    label: str
    value: float | None
    unit: str
    band: Band
    score_0_100: float | None
    reason: str
    weight: float = 1.0
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "metric": self.metric, "label": self.label,
                "value": self.value, "unit": self.unit, "band": self.band.as_dict(),
                "score": self.score_0_100, "weight": self.weight, "reason": self.reason,
                "source": self.source}


@dataclass
class Component:
    """A named component of a score.

    score_0_100: None when not scored (the reason says why). value, unit, band: by item
    name (for a session component: the task scores, by task). weight: in the task score.
    reason: every deduction in words ("right stance: contralateral drop 8.1°, above the
    7.0° band: 78/100 (0 at 12.0°)"), or what was within the bands. items: the details.
    """

    name: str
    score_0_100: float | None
    value: dict[str, float | None]
    unit: dict[str, str]
    band: dict[str, Band]
    weight: float
    reason: str
    items: list[Item] = field(default_factory=list)
    interval: tuple[float, float] | None = None
    replicates: np.ndarray | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score_0_100, "interval": _interval_list(self.interval),
                "weight": self.weight, "reason": self.reason,
                "items": [i.as_dict() for i in self.items]}


def _interval_list(iv: tuple[float, float] | None) -> list[float] | None:
    return None if iv is None else [float(iv[0]), float(iv[1])]


def format_score(score: float | None, interval=None) -> str:
    """A score as the report and the CLI print it: "78 (70–85)", "78", or "–"."""
    if score is None:
        return "–"
    if interval is None or interval[0] is None:
        return f"{score:.0f}"
    return f"{score:.0f} ({interval[0]:.0f}–{interval[1]:.0f})"


@dataclass
class TaskScore:
    """The score of one task (or of the session, task "session").

    score: 0-100, or None (never a score on too few steps or with too wide an interval;
    ``message`` says why). interval: its 90 % interval (low, high) from a bootstrap over
    the steps (None: not estimated, e.g. no steps given; the interval of a withheld score
    is still given). components: by name. n_steps_used: used steps in all;
    n_steps_by_side: {"L", "R"} (None where unknown). min_steps: the per-side minimum
    the score needed. message: how the score was made, or why there is none.
    session_weight: its weight in the session score (None: its used steps); basis: what
    the score came from in words, for a task without steps ("a stable hold of 12.0 s",
    "5 repetitions"; "": its steps). replicates: the bootstrap scores (not in the JSON).
    """

    task: str
    score: float | None
    components: dict[str, Component]
    n_steps_used: int
    min_steps: int
    message: str
    n_steps_by_side: dict[str, int | None] = field(default_factory=dict)
    session_weight: float | None = None
    basis: str = ""
    interval: tuple[float, float] | None = None
    replicates: np.ndarray | None = field(default=None, repr=False, compare=False)
    interval_level: float = 0.90

    def as_dict(self) -> dict[str, Any]:
        return {"task": self.task, "interval_level": self.interval_level, "score": self.score,
                "interval": _interval_list(self.interval), "message": self.message,
                "n_steps_used": self.n_steps_used, "n_steps_by_side": self.n_steps_by_side,
                "min_steps_per_side": self.min_steps,
                "components": {k: c.as_dict() for k, c in self.components.items()}}


# ---- scoring -------------------------------------------------------------------------------


def weighted_points(pairs: list[tuple[float, float]]) -> float:
    """The weighted mean of (weight, points) pairs (0-100), to 1e-9 points: the float sum
    of weights times 100 gave 99.99999999999999 for a score of 100 in the JSON."""
    return round(sum(w * p for w, p in pairs) / sum(w for w, _ in pairs), 9)


def _lookup(summary: Any, metric: str) -> tuple[float | None, str | None]:
    """(value, None) or (None, why not) for a dotted metric path into the summary."""
    head, *keys = metric.split(".")
    if isinstance(summary, dict):
        if head not in summary:
            return None, f"the summary has no {head}"
        v = summary[head]
    elif not hasattr(summary, head):
        return None, f"the summary has no {head}"
    else:
        v = getattr(summary, head)
    for k in keys:
        if not isinstance(v, dict) or k not in v:
            return None, f"the summary has no {metric}"
        v = v[k]
    try:
        x = math.nan if v is None else float(v)   # None: a JSON document's NaN
    except (TypeError, ValueError):
        return None, f"{metric} is not a number ({v!r})"
    if not math.isfinite(x):
        said = _summary_says(summary, head)
        return None, (f"not computed: {said}" if said
                      else f"no value ({metric} could not be computed)")
    return x, None


def _summary_says(summary: Any, group: str) -> str | None:
    """The summary's own message on why its ``group`` (e.g. "variability", "harmonic_ratio")
    has no value: the text after "variability: " or "harmonic ratios: ", if it has one."""
    msgs = summary.get("messages") if isinstance(summary, dict) else getattr(
        summary, "messages", None)

    def key(s: str) -> str:
        return s.lower().replace("_", "").replace(" ", "").rstrip("s")

    for m in msgs or ():
        head, sep, rest = str(m).partition(": ")
        if sep and key(head) == key(group):
            return rest
    return None


def _item(spec: ItemSpec, summary: Any, points: bool) -> Item:
    """The item's value against its band; with ``points``, its points too."""
    b = spec.band
    value, why = _lookup(summary, spec.metric)
    if value is None:
        return Item(spec.name, spec.metric, spec.label, None, b.unit, b, None,
                    f"{spec.label}: {why}", spec.weight, spec.source)
    pts = b.points(value)
    v = _fmt(value, b.unit)
    if pts >= 100.0:
        reason = f"{spec.label} {v}, within the {b.describe()} band"
    else:
        above = b.normal_max is not None and value > b.normal_max
        edge, limit = (b.normal_max, b.poor_max) if above else (b.normal_min, b.poor_min)
        reason = f"{spec.label} {v}, {'above' if above else 'below'} the {_fmt(edge, b.unit)} band"
        if points:
            reason += f": {pts:.0f}/100 (0 at {_fmt(limit, b.unit)})"
    return Item(spec.name, spec.metric, spec.label, value, b.unit, b, pts if points else None,
                reason, spec.weight, spec.source)


def _component(spec: ComponentSpec, summary: Any, n_used: int, points: bool) -> Component:
    """Items evaluated and combined (step 3); without ``points``, values and reasons only."""
    enough = n_used >= spec.min_steps
    items = [_item(i, summary, points and enough) for i in spec.items]
    have = [i for i in items if i.value is not None]
    missing = [i for i, s in zip(items, spec.items, strict=True)
               if i.value is None and not s.optional]
    off_band = [i.reason for i in have if i.band.points(i.value) < 100.0]
    skipped = [i.reason for i in items if i.value is None]  # optional items without a value
    score: float | None = None
    if missing or not have:
        reason = "not scored: " + "; ".join(i.reason for i in (missing or items))
    elif points and not enough:
        reason = (f"not scored: needs at least {spec.min_steps} used steps, "
                  f"{n_used} used (docs/scoring.md, 'How many steps'); "
                  + "; ".join(off_band or [i.reason for i in have]))
    elif not points:
        reason = "; ".join((off_band or [i.reason for i in have]) + skipped)
    elif not any(i.weight > 0 for i in have):
        reason = "not scored: every item with a value has weight 0"
    else:
        counted = [i for i in have if i.weight > 0]  # weight 0: shown, not counted
        if spec.combine == "worst":
            score = min(i.score_0_100 for i in counted)
        else:
            score = weighted_points([(i.weight, i.score_0_100) for i in counted])
        reason = ("; ".join(off_band + skipped) if off_band
                  else "no deduction: " + "; ".join([i.reason for i in have] + skipped))
    return Component(spec.name, score, {i.name: i.value for i in items},
                     {i.name: i.unit for i in items}, {i.name: i.band for i in items},
                     spec.weight, reason, items)


def _steps_by_side(summary: Any, steps) -> tuple[dict[str, int | None], str]:
    """Used steps per stance side: from the steps if given, else from the summary."""
    if steps is not None:
        used = [s for s in steps if getattr(s, "excluded", None) is None]
        return {s: sum(st.stance_side == s for st in used) for s in SIDES}, ""
    by_side = getattr(summary, "n_steps_by_side", None)
    if isinstance(by_side, dict):
        return {s: int(by_side.get(s, 0) or 0) for s in SIDES}, ""
    return {s: None for s in SIDES}, "per-side step counts not given: checked the total"


def score_walk(summary: Any, bands: Bands | None = None, *, task: str = "walk",
               steps=None, resample=None,
               remedy: str = "a longer walk, or repeating the walk test") -> TaskScore:
    """The score of one walking task from its summary (steps in the module docstring).

    ``summary``: a :class:`sacrum.scoring.metrics.WalkSummary` (any object with its fields).
    ``bands``: from :func:`load_bands` (default: the packaged bands). ``task``: the task's
    name (scored only if the bands list it). ``steps``: the task's
    :class:`sacrum.scoring.metrics.StepMetrics`, to count the used steps of each side and to
    estimate the score's interval by resampling them (without them, no interval, and
    ``summary.n_steps_by_side`` if it has one, else only the total, is checked).
    ``resample``: how step 5 resamples the steps, ``f(steps, n_boot=, seed=, wanted=)`` →
    {metric path: (n_boot,)} (default: the walking steps',
    :func:`sacrum.scoring.metrics.bootstrap_step_statistics`; running steps have their own,
    ``sacrum.scoring.running.bootstrap_run_statistics``). ``remedy``: what would narrow a
    too-wide interval, in the reason (a run's: "a longer run, or repeating the run").
    """
    bands = bands or load_bands()
    need = bands.min_steps_per_side
    n_used = int(getattr(summary, "n_steps_used", 0) or 0)
    by_side, count_note = _steps_by_side(summary, steps)
    comps = {name: _component(spec, summary, n_used, True)
             for name, spec in bands.components.items()}

    if task not in bands.tasks:
        why_not = (f"no score for task {task!r}: the bands ({bands.origin}) apply to "
                   f"{', '.join(bands.tasks)}")
    else:
        why_not = _too_few(by_side, n_used, need)
    if why_not is None:
        unscored = [c for c in comps.values()
                    if c.score_0_100 is None and bands.components[c.name].required]
        if unscored:
            why_not = "no score: " + "; ".join(f"{c.name} {c.reason}" for c in unscored)
    use = [c for c in comps.values() if c.score_0_100 is not None and c.weight > 0]
    if why_not is None and not use:
        why_not = "no score: no component could be scored"
    score = interval = total_reps = None
    iv_note = ""
    if why_not is None:
        score = weighted_points([(c.weight, c.score_0_100) for c in use])
        if steps is not None:  # step 5: the interval
            total_reps, comp_reps = _replicates(bands, summary, steps, comps, use, resample)
            for name, r in comp_reps.items():
                if r is None:
                    continue                   # nothing resampled in it: no interval
                comps[name].replicates = r
                comps[name].interval = _percentile_interval(r, comps[name].score_0_100,
                                                            bands.interval)
            interval = _percentile_interval(total_reps, score, bands.interval)
            why_not = _too_wide(interval, total_reps, by_side, bands.interval, remedy)
            if why_not is None:
                iv_note = (f"; {100 * bands.interval.level:.0f} % interval "
                           f"{interval[0]:.0f}–{interval[1]:.0f} from "
                           f"{bands.interval.n_bootstrap} resamples of the steps")
        else:
            iv_note = "; no interval (the steps were not given)"
    if why_not is not None:  # the values against their bands, without points
        old = comps
        comps = {name: _component(spec, summary, n_used, False)
                 for name, spec in bands.components.items()}
        for name, c in comps.items():  # a withheld score keeps its intervals, to read
            c.interval, c.replicates = old[name].interval, old[name].replicates
        return TaskScore(task, None, comps, n_used, need, why_not, by_side,
                         interval=interval, replicates=total_reps,
                         interval_level=bands.interval.level)

    sides = ", ".join(f"{by_side[s]} {SIDE_WORDS[s]}" for s in SIDES if by_side[s] is not None)
    msg = f"from {n_used} used steps" + (f" ({sides} stance)" if sides else "") + iv_note
    left_out = [c for c in comps.values() if c.score_0_100 is None and c.weight > 0]
    if left_out:
        msg += "; " + "; ".join(f"{c.name} left out ({c.reason.removeprefix('not scored: ')})"
                                for c in left_out)
        msg += f"; the weights of {', '.join(c.name for c in use)} were rescaled to sum to 1"
    if count_note:
        msg += f"; {count_note}"
    return TaskScore(task, score, comps, n_used, need, msg, by_side, interval=interval,
                     replicates=total_reps, interval_level=bands.interval.level)


def _replicates(bands: Bands, summary: Any, steps, comps: dict[str, Component],
                use: list[Component], resample=None
                ) -> tuple[np.ndarray, dict[str, np.ndarray | None]]:
    """Step 5: the task score (and each scored component) of every bootstrap resample of
    the used steps: the step-derived values recomputed (``metrics.bootstrap_step_statistics``),
    the others (regularity, harmonic ratios) held at the summary's; the same items, bands
    and weights as the point score. A component none of whose items is resampled gets
    None (it has no interval of its own; it counts with its score in the total)."""
    from sacrum.scoring.metrics import bootstrap_step_statistics

    spec = bands.interval
    metrics_used = {it.metric for c in bands.components.values() for it in c.items}
    stats = (resample or bootstrap_step_statistics)(steps, n_boot=spec.n_bootstrap,
                                                    seed=spec.seed, wanted=metrics_used)
    n = spec.n_bootstrap
    comp_reps: dict[str, np.ndarray | None] = {}
    fixed: set[str] = set()
    for name, cspec in bands.components.items():
        c = comps[name]
        if c.score_0_100 is None:
            continue
        have = {i.name for i in c.items if i.value is not None}
        cols, weights, required = [], [], []
        resampled = False
        for it in cspec.items:
            if it.weight <= 0 or it.name not in have:
                continue                   # as the point score: not counted, or no value
            if it.metric in stats:
                v = stats[it.metric]
                resampled = True
            else:
                x, _ = _lookup(summary, it.metric)
                v = np.full(n, np.nan if x is None else x)
            cols.append(it.band.points_array(v))
            weights.append(it.weight)
            required.append(not it.optional)
        p = np.stack(cols, axis=1)
        ok = np.isfinite(p)
        w = np.array(weights)
        if cspec.combine == "worst":
            r = np.where(ok, p, np.inf).min(axis=1)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                r = (np.where(ok, p, 0.0) * w).sum(axis=1) / (ok * w).sum(axis=1)
        bad = (~ok[:, np.array(required, bool)]).any(axis=1) | ~ok.any(axis=1)
        comp_reps[name] = np.where(bad, np.nan, r)
        if not resampled:
            fixed.add(name)
    w = np.array([c.weight for c in use])
    total = (np.stack([comp_reps[c.name] for c in use], axis=1) * w).sum(axis=1) / w.sum()
    return total, {k: (None if k in fixed else v) for k, v in comp_reps.items()}


def _percentile_interval(reps: np.ndarray, point: float | None, spec: IntervalSpec
                         ) -> tuple[float, float] | None:
    """The percentile interval of the finite replicates, widened to hold the point value
    (a median's bootstrap can sit to one side of it); None with fewer than half finite."""
    r = reps[np.isfinite(reps)]
    if len(r) < 0.5 * len(reps) or not len(r):
        return None
    lo, hi = (float(x) for x in np.percentile(r, spec.percentiles))
    if point is not None:
        lo, hi = min(lo, point), max(hi, point)
    return lo, hi


def _too_wide(interval: tuple[float, float] | None, reps: np.ndarray,
              by_side: dict[str, int | None], spec: IntervalSpec, remedy: str) -> str | None:
    """Why the score is withheld for its uncertainty (None: it is not)."""
    counts = " and ".join(f"{by_side[s] or 0} {SIDE_WORDS[s]}" for s in SIDES)
    if interval is None:
        bad = int((~np.isfinite(reps)).sum())
        return (f"no score: in {bad} of {len(reps)} resamples of the {counts} stance steps a "
                "value the score needs could not be computed, so how sure the score is "
                "cannot be said (docs/scoring.md, 'How sure is the score')")
    width = interval[1] - interval[0]
    if width > spec.max_width_points:
        return (f"no score: from these {counts} stance steps the score could lie anywhere "
                f"from {interval[0]:.0f} to {interval[1]:.0f} ({100 * spec.level:.0f} % "
                f"interval, {width:.0f} points wide; the limit is "
                f"{spec.max_width_points:g}): the steps differ too much for so few of them "
                f"to pin it down; {remedy}, would narrow it "
                "(docs/scoring.md, 'How sure is the score')")
    return None


def _too_few(by_side: dict[str, int | None], n_used: int, need: int) -> str | None:
    if all(v is None for v in by_side.values()):
        if n_used < 2 * need:
            return (f"no score: {n_used} used steps; a score needs at least {need} on each "
                    f"stance side (docs/scoring.md, 'How many steps')")
        return None
    present = [s for s in SIDES if by_side[s]]
    if len(present) == 1:
        s = present[0]
        other = "R" if s == "L" else "L"
        return (f"no score: only {SIDE_WORDS[s]} stance steps were found ({by_side[s]} "
                f"{SIDE_WORDS[s]}, 0 {SIDE_WORDS[other]}); the score compares both sides "
                f"(drop on each side, symmetry), so it needs at least {need} of each. "
                f"The {SIDE_WORDS[s]} values are in the summary")
    short = [s for s in SIDES if (by_side[s] or 0) < need]
    if short:
        counts = " and ".join(f"{by_side[s] or 0} {SIDE_WORDS[s]}" for s in SIDES)
        return (f"no score: too few steps ({counts} stance steps used); a score needs at "
                f"least {need} on each side (docs/scoring.md, 'How many steps')")
    return None


def _weight(t: TaskScore) -> float:
    """A task's weight in the session: its used steps, or its ``session_weight``."""
    return t.n_steps_used if t.session_weight is None else t.session_weight


def score_session(task_scores: list[TaskScore]) -> TaskScore:
    """The session: the task scores weighted by their used steps (a task without steps,
    single-leg stance or step-down/up, by its ``session_weight``; tasks without a score
    are left out, and the message says so); each component likewise."""
    scored = [t for t in task_scores if t.score is not None and _weight(t) > 0]
    n_all = sum(t.n_steps_used for t in task_scores)
    need = max((t.min_steps for t in task_scores), default=0)
    by_side: dict[str, int | None] = {
        s: sum(t.n_steps_by_side.get(s) or 0 for t in task_scores) for s in SIDES}
    skipped = [t for t in task_scores if t not in scored]
    skipped_msg = "; ".join(f"{t.task}: {t.message}" for t in skipped)
    if not scored:
        msg = "no session score: " + (skipped_msg or "no tasks")
        return TaskScore("session", None, {}, n_all, need, msg, by_side)
    n = sum(t.n_steps_used for t in scored)
    score = weighted_points([(_weight(t), t.score) for t in scored])
    total_reps = _pooled_replicates([(_weight(t), t.score, t.replicates) for t in scored])
    names = list(dict.fromkeys(k for t in scored for k in t.components))
    comps = {}
    for name in names:
        parts = [(t, t.components[name]) for t in scored if name in t.components]
        have = [(t, c) for t, c in parts if c.score_0_100 is not None]
        m = sum(_weight(t) for t, _ in have)
        cscore = weighted_points([(_weight(t), c.score_0_100) for t, c in have]) if m else None
        reason = (parts[0][1].reason if len(parts) == 1
                  else "; ".join(f"{t.task}: {c.reason}" for t, c in parts))
        creps = _pooled_replicates([(_weight(t), c.score_0_100, c.replicates)
                                    for t, c in have])
        comps[name] = Component(
            name, cscore, {t.task: c.score_0_100 for t, c in parts},
            {t.task: "points" for t, _ in parts}, {}, parts[0][1].weight, reason,
            interval=(None if creps is None or cscore is None else
                      _percentile_interval(creps, cscore, _session_spec(scored))),
            replicates=creps)
    parts = ", ".join(f"{t.task} {t.score:.0f}, {t.basis or f'{t.n_steps_used} steps'}"
                      for t in scored)
    msg = (f"from {len(scored)} task{'s' if len(scored) > 1 else ''} ({parts}), "
           "weighted by used steps")
    held = [t for t in scored if t.session_weight is not None]
    if held:
        msg += (" (" + ", ".join(f"{t.task} as {t.session_weight:g}" for t in held)
                + " steps: docs/scoring.md, 'The session')")
    if skipped:
        msg += "; left out: " + skipped_msg
    interval = (None if total_reps is None
                else _percentile_interval(total_reps, score, _session_spec(scored)))
    return TaskScore("session", score, comps, n, need, msg, by_side, interval=interval,
                     replicates=total_reps, interval_level=_session_spec(scored).level)


def _session_spec(scored: list[TaskScore]) -> IntervalSpec:
    """The interval level of the session: that of its first task with an interval."""
    level = next((t.interval_level for t in scored if t.replicates is not None), 0.90)
    return IntervalSpec(level=level)


def _pooled_replicates(parts: list[tuple[float, float, np.ndarray | None]]
                       ) -> np.ndarray | None:
    """The weighted mean of the tasks' bootstrap scores, resample by resample (the tasks'
    resamples are independent: their steps are different steps); a task without them counts
    with its score. None when no task has them."""
    lens = {len(r) for _, _, r in parts if r is not None}
    if len(lens) != 1 or not parts:
        return None
    n = lens.pop()
    w = sum(x for x, _, _ in parts)
    if not w > 0:
        return None
    return sum(x * (r if r is not None else np.full(n, v)) for x, v, r in parts) / w


# ---- single-leg stance, step-down and step-up ----------------------------------------------


def _score_components(task: str, specs: dict[str, ComponentSpec], metrics: dict[str, Any],
                      n: int, why_not: str | None, weight: float, basis: str) -> TaskScore:
    """Steps 2-4 of :func:`score_walk` for a task without steps: ``metrics`` (a dict,
    degrees and seconds) through ``specs``; ``n`` (holds or repetitions) stands for the
    used steps of a component's ``min_steps``; ``why_not``: the reason for no score."""
    comps = {name: _component(spec, metrics, n, why_not is None)
             for name, spec in specs.items()}
    if why_not is None:
        unscored = [c for c in comps.values()
                    if c.score_0_100 is None and specs[c.name].required]
        if unscored:
            why_not = "no score: " + "; ".join(f"{c.name} {c.reason}" for c in unscored)
    use = [c for c in comps.values() if c.score_0_100 is not None and c.weight > 0]
    if why_not is None and not use:
        why_not = "no score: no component could be scored"
    if why_not is not None:
        comps = {name: _component(spec, metrics, n, False) for name, spec in specs.items()}
        return TaskScore(task, None, comps, 0, 0, why_not, {}, weight, basis)
    score = weighted_points([(c.weight, c.score_0_100) for c in use])
    msg = f"from {basis}"
    left_out = [c for c in comps.values() if c.score_0_100 is None and c.weight > 0]
    if left_out:
        msg += "; " + "; ".join(f"{c.name} left out ({c.reason.removeprefix('not scored: ')})"
                                for c in left_out)
        msg += f"; the weights of {', '.join(c.name for c in use)} were rescaled to sum to 1"
    return TaskScore(task, score, comps, 0, 0, msg, {}, weight, basis)


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def score_single_leg_stance(metrics: dict[str, Any], bands: Bands | None = None, *,
                            task: str = "single-leg-stance") -> TaskScore:
    """The score of a single-leg stance task from its metrics.

    ``metrics``: the task's summary in report units (``sacrum.analysis`` makes it from
    :class:`sacrum.scoring.tasks.SingleLegStanceResult`): ``drop_mean_deg``, ``time_held_s``,
    ``gyr_rms_dps``, ..., and ``hold_s``, the stable hold the drop and the sway were
    measured over. No score when the bands have no ``[single_leg_stance]`` table or the
    stable hold is shorter than its ``min_hold_s`` (docs/scoring.md, 'Single-leg
    stance'). Weighted in the session as 2 × ``min_steps_per_side`` steps.
    """
    bands = bands or load_bands()
    weight = 2.0 * bands.min_steps_per_side
    hb = bands.single_leg_stance
    hold, held = metrics.get("hold_s"), metrics.get("time_held_s")
    basis = f"a stable hold of {hold:.1f} s" if _finite(hold) else "no stable hold"
    if _finite(held):
        basis += f" (time held {held:.1f} s)"
    if hb is None:
        why = (f"no score for task {task!r}: the bands ({bands.origin}) have no "
               "[single_leg_stance] table")
        return _score_components(task, {}, metrics, 0, why, weight, basis)
    why = None
    if not _finite(hold) or hold < hb.min_hold_s:
        why = (f"no score: {basis}; a score needs a stable single-leg hold of at least "
               f"{hb.min_hold_s:.1f} s, over which the drop and the sway are measured "
               "(docs/scoring.md, 'Single-leg stance')")
    return _score_components(task, hb.components, metrics, 1 if _finite(hold) else 0, why,
                             weight, basis)


def score_repetitions(metrics: dict[str, Any], bands: Bands | None = None, *,
                      task: str = "step-down") -> TaskScore:
    """The score of a step-down or step-up task from its metrics.

    ``metrics``: the task's summary over its repetitions in report units
    (``sacrum.analysis`` makes it from :class:`sacrum.scoring.tasks.RepetitionResult`):
    ``n_repetitions``, ``peak_drop_deg`` (median), ``peak_drop_sd_deg``, ... No score
    when the bands have no ``[repetitions]`` table or fewer than its ``min_repetitions``
    were counted (docs/scoring.md, 'Step-down and step-up'). Weighted in the session as
    2 × ``min_steps_per_side`` steps.
    """
    bands = bands or load_bands()
    weight = 2.0 * bands.min_steps_per_side
    rb = bands.repetitions
    n = int(metrics.get("n_repetitions") or 0)
    basis = f"{n} repetition{'s' if n != 1 else ''}"
    if rb is None:
        why = (f"no score for task {task!r}: the bands ({bands.origin}) have no "
               "[repetitions] table")
        return _score_components(task, {}, metrics, n, why, weight, basis)
    why = None
    if n < rb.min_repetitions:
        why = (f"no score: {basis} counted; a score needs at least {rb.min_repetitions} "
               "(docs/scoring.md, 'Step-down and step-up')")
    return _score_components(task, rb.components, metrics, n, why, weight, basis)


__all__ = ["Band", "Bands", "BandsError", "Component", "ComponentSpec", "HoldBands",
           "IntervalSpec", "Item", "ItemSpec", "RepetitionBands", "TaskScore", "format_score",
           "load_bands", "parse_bands",
           "score_repetitions", "score_session", "score_single_leg_stance", "score_walk"]

