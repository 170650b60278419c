"""Pelvic control in the exercises of a back-pain programme (issue 16; docs/exercises.md).

The stage beside ``sacrum.scoring.tasks``: from the pelvis's orientation and angular
velocity (and, for the split squat, the sacrum's acceleration) it counts an exercise's
repetitions or holds and measures the pelvis in each, in any posture.

* :mod:`~sacrum.scoring.exercises.posture` - angles against a start posture, lying, kneeling
  or standing (no Euler angles of a horizontal body, no heading);
* :mod:`~sacrum.scoring.exercises.catalogue` - the exercises (:data:`EXERCISES`, by task
  name): family, posture, what drives the count, their own metrics;
* :class:`RepetitionSegmenter` - repetitions (bridge, single-leg bridge, clamshell,
  single-leg deadlift, bird dog, dead bug, split squat), streaming;
* :class:`HoldSegmenter` - holds (plank, side plank, bridge hold), streaming;
* :func:`summarise_sets` - per set: medians, left/right, consistency, fatigue, score.

:func:`segmenter` gives the right one for a task; :func:`analyse_exercise` is the offline
run (the same processor fed the whole task).
"""

from __future__ import annotations

from sacrum.scoring.exercises.catalogue import EXERCISES, Exercise, Metric, exercise
from sacrum.scoring.exercises.holds import ExerciseHold, HoldSegmenter
from sacrum.scoring.exercises.repetitions import (
    Adjustment,
    ExerciseRepetition,
    RepetitionSegmenter,
)
from sacrum.scoring.exercises.sets import (
    SetSummary,
    compare_sides,
    load_exercise_bands,
    summarise_sets,
)


def segmenter(task: str, rate_hz: float, **params) -> RepetitionSegmenter | HoldSegmenter:
    """The streaming segmenter of an exercise task (ValueError for an unknown name)."""
    ex = exercise(task)
    cls = HoldSegmenter if ex.held else RepetitionSegmenter
    return cls(ex, rate_hz, **params)


def analyse_exercise(task: str, t_s, q_body_to_earth, gyr_body_radps, acc_body_mps2=None, *,
                     rate_hz: float, bands: dict | None = None, **params) -> dict:
    """One exercise task offline: ``{"exercise", "posture", "measured", "repetitions" or
    "holds", "adjustments", "sets", "messages"}`` (results as dataclasses)."""
    seg = segmenter(task, rate_hz, **params)
    if isinstance(seg, HoldSegmenter):
        seg.update(t_s, q_body_to_earth, gyr_body_radps)
        seg.flush()
        found, key, adjust = seg.holds, "holds", []
    else:
        seg.update(t_s, q_body_to_earth, gyr_body_radps, acc_body_mps2)
        seg.flush()
        found, key, adjust = seg.reps, "repetitions", seg.adjustments
    return {"exercise": seg.ex, "posture": seg.posture, "measured": seg.measured, key: found,
            "adjustments": adjust, "sets": summarise_sets(seg.ex, found, bands),
            "messages": seg.messages}


__all__ = ["EXERCISES", "Adjustment", "Exercise", "ExerciseHold", "ExerciseRepetition",
           "HoldSegmenter", "Metric", "RepetitionSegmenter", "SetSummary",
           "analyse_exercise", "compare_sides", "exercise", "load_exercise_bands",
           "segmenter", "summarise_sets"]
