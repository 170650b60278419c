"""The exercises: task names, movement family, posture, what drives the count, own metrics.

One :class:`Exercise` per task name of docs/exercises.md (issue 16 item 1). The side in a
name is the side the exercise is about, as a programme writes it: the **stance or
support** leg (``single-leg-bridge-left``: the left foot on the floor, the right leg
lifted; ``single-leg-deadlift-left``; ``split-squat-left``: the left foot in front), the
**supporting side** of a side plank (``side-plank-left``: on the left forearm, the left
side down) and the **working leg** of a clamshell (``clamshell-left``: the left knee
opens, lying on the right side).

Every signal below is a function of the relative angles of
:mod:`sacrum.scoring.exercises.posture` (tilt, obliquity, rotation against the start
posture, rad) and is signed so that **+ is the fault** the exercise watches for (or, for a
drive, the direction of the movement). The sign derivations are in docs/exercises.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

D = math.radians

#: Movement families: one segmenter each.
FAMILIES = ("repetition", "alternating", "vertical", "hold")

TILT, OBLIQUITY, ROTATION = 0, 1, 2


def _signed(axis: int, sign: float) -> Callable[[np.ndarray], np.ndarray]:
    def f(a: np.ndarray) -> np.ndarray:
        return sign * a[..., axis]
    return f


def _magnitude(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(np.asarray(a) ** 2, axis=-1))


def _abs(axis: int) -> Callable[[np.ndarray], np.ndarray]:
    def f(a: np.ndarray) -> np.ndarray:
        return np.abs(a[..., axis])
    return f


@dataclass(frozen=True)
class Metric:
    """An exercise's own per-repetition (or per-hold) metric: the largest value over the
    repetition of ``signal(angles_rad)`` (rad; + = the fault), reported as ``name``
    (ending in ``_deg``) and described by ``meaning``."""

    name: str
    signal: Callable[[np.ndarray], np.ndarray]
    meaning: str


@dataclass(frozen=True)
class Exercise:
    """One exercise task.

    task: the task name (``--task``); base: the name without the side; side: "L", "R",
    None (both legs) or "alternating"; family: one of :data:`FAMILIES`; posture: the
    posture it is done in (:data:`sacrum.scoring.exercises.posture.POSTURES`).

    Repetition families: ``drive(angles_rad)`` is the signal whose excursion is a
    repetition (rad, + = the movement's direction; the vertical family drives on the
    sacrum's vertical displacement, m, and has ``drive`` None); ``onset`` (rad or m) the
    excursion at which a movement begins to count, ``full`` the excursion a full
    repetition reaches (a smaller one is a partial; ``full == onset``: the sensor cannot
    see the range, and only ``min_full_s`` tells a partial); ``min_full_s`` (s) the
    shortest full repetition; ``off_axis_rad`` the deviation on the other axes beyond
    which a movement is an adjustment, not a repetition (None: no check);
    ``drive_axis`` the angle the drive is (repetition family); ``side_signal``
    (alternating) the signal whose sign says the side (+ = left).

    Holds: ``control`` the signal (+ = the fault) whose sustained excess over
    ``loss_rad`` means control was lost.

    metrics: the exercise's own metrics (:class:`Metric`); provisional: every threshold
    here is judgement, not fitted to data (docs/exercises.md says so per exercise).
    """

    task: str
    base: str
    side: str | None
    family: str
    posture: str
    metrics: tuple[Metric, ...]
    drive: Callable[[np.ndarray], np.ndarray] | None = None
    drive_axis: int | None = None
    onset: float = D(3.0)
    full: float = D(3.0)
    min_full_s: float = 0.0
    off_axis_rad: float | None = D(20.0)
    side_signal: Callable[[np.ndarray], np.ndarray] | None = None
    control: Callable[[np.ndarray], np.ndarray] | None = None
    loss_rad: float = D(5.0)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def held(self) -> bool:
        return self.family == "hold"


def _sgn(side: str) -> float:
    return 1.0 if side == "L" else -1.0


def _build() -> dict[str, Exercise]:
    ex: dict[str, Exercise] = {}
    level = Metric("unlevel_deg", _abs(ROTATION),
                   "largest turn of the pelvis about its long axis (one side towards the floor)")
    ex["bridge"] = Exercise(
        "bridge", "bridge", None, "repetition", "supine", (level,),
        drive=_signed(TILT, -1.0), drive_axis=TILT, onset=D(4.0), full=D(12.0),
        min_full_s=1.0)
    ex["bridge-hold"] = Exercise(
        "bridge-hold", "bridge-hold", None, "hold", "supine",
        (Metric("hips_sink_deg", _signed(TILT, 1.0),
                "largest anterior tilt back from the held bridge (the hips sinking)"), level),
        control=_magnitude_of((TILT, ROTATION), (1.0, 1.0)))
    for name, s in (("left", "L"), ("right", "R")):
        g = _sgn(s)
        ex[f"single-leg-bridge-{name}"] = Exercise(
            f"single-leg-bridge-{name}", "single-leg-bridge", s, "repetition", "supine",
            (Metric("unsupported_drop_deg", _signed(ROTATION, -g),
                    "largest turn of the pelvis that lowers the unsupported (lifted-leg) side "
                    "towards the floor"),),
            drive=_signed(TILT, -1.0), drive_axis=TILT, onset=D(4.0), full=D(10.0),
            min_full_s=1.0)
        ex[f"side-plank-{name}"] = Exercise(
            f"side-plank-{name}", "side-plank", s, "hold", f"side-lying-{name}",
            (Metric("hip_drop_deg", _signed(OBLIQUITY, -g),
                    "largest sideways bend of the pelvis that lowers the hips towards the "
                    "floor"),
             Metric("roll_deg", _abs(ROTATION), "largest roll about the long axis"),),
            control=_signed(OBLIQUITY, -g))
        ex[f"clamshell-{name}"] = Exercise(
            f"clamshell-{name}", "clamshell", s, "repetition",
            "side-lying-right" if s == "L" else "side-lying-left",
            (Metric("roll_back_deg", _signed(ROTATION, g),
                    "largest roll of the pelvis backwards (the working side's hip moving "
                    "posteriorly) as the knee opens"),),
            drive=_signed(ROTATION, g), drive_axis=ROTATION, onset=D(1.0), full=D(1.0),
            min_full_s=0.8,
            notes=("a clamshell is counted from the pelvis's roll only: a repetition with "
                   "less than 1 degree of roll is not seen by a sacral sensor",))
        ex[f"single-leg-deadlift-{name}"] = Exercise(
            f"single-leg-deadlift-{name}", "single-leg-deadlift", s, "repetition", "upright",
            (Metric("opening_deg", _signed(ROTATION, -g),
                    "largest turn of the pelvis about its long axis that raises the lifted "
                    "leg's side (the hip 'opening')"),
             Metric("drop_deg", _signed(OBLIQUITY, g),
                    "largest sideways tilt that lowers the lifted leg's side")),
            drive=_signed(TILT, 1.0), drive_axis=TILT, onset=D(8.0), full=D(30.0), min_full_s=1.0,
            off_axis_rad=D(30.0))
        ex[f"split-squat-{name}"] = Exercise(
            f"split-squat-{name}", "split-squat", s, "vertical", "upright",
            (Metric("drop_deg", _signed(OBLIQUITY, g),
                    "largest drop of the rear (other) leg's side of the pelvis"),
             Metric("rotation_deg", _abs(ROTATION),
                    "largest turn of the pelvis about the vertical")),
            onset=0.05, full=0.12, min_full_s=1.0)
    motion = Metric("lumbopelvic_motion_deg", _magnitude,
                    "largest rotation of the pelvis from its start posture, any axis")
    ex["bird-dog"] = Exercise(
        "bird-dog", "bird-dog", "alternating", "alternating", "prone",
        (motion, Metric("roll_deg", _abs(ROTATION), "largest roll about the long axis"),
         Metric("tilt_deg", _abs(TILT), "largest tilt")),
        drive=_magnitude, onset=D(1.0), full=D(1.0), min_full_s=1.5, off_axis_rad=D(15.0),
        side_signal=_signed(ROTATION, 1.0))
    ex["dead-bug"] = Exercise(
        "dead-bug", "dead-bug", "alternating", "alternating", "supine",
        (Metric("posterior_tilt_loss_deg", _signed(TILT, 1.0),
                "largest anterior tilt from the start (the lower back leaving the floor)"),
         motion),
        drive=_magnitude, onset=D(1.0), full=D(1.0), min_full_s=1.0, off_axis_rad=D(15.0),
        side_signal=_signed(ROTATION, 1.0))
    ex["plank"] = Exercise(
        "plank", "plank", None, "hold", "prone",
        (Metric("sag_deg", _signed(TILT, 1.0), "largest anterior tilt from the start (sag)"),
         Metric("pike_deg", _signed(TILT, -1.0),
                "largest posterior tilt from the start (pike)"),
         Metric("roll_deg", _abs(ROTATION), "largest roll about the long axis")),
        control=_abs(TILT))
    return ex


def _magnitude_of(axes: tuple[int, ...], weights: tuple[float, ...]):
    def f(a: np.ndarray) -> np.ndarray:
        return np.sqrt(sum(w * a[..., k] ** 2 for k, w in zip(axes, weights, strict=True)))
    return f


EXERCISES: dict[str, Exercise] = _build()


def exercise(task: str) -> Exercise:
    """The :class:`Exercise` of a task name; ValueError lists the names."""
    try:
        return EXERCISES[task]
    except KeyError:
        raise ValueError(f"unknown exercise task {task!r}; one of "
                         + ", ".join(sorted(EXERCISES))) from None


__all__ = ["EXERCISES", "FAMILIES", "Exercise", "Metric", "exercise"]
