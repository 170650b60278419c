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
run (the same processor fed the whole task), an :class:`ExerciseAnalysis` whose
``table()`` and ``sets_table()`` are pandas DataFrames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class ExerciseAnalysis:
    """One exercise task analysed offline.

    exercise: the :class:`Exercise`; posture: the posture found at the start
    (:data:`~sacrum.scoring.exercises.posture.POSTURES`); measured: what the angles are in
    it, in words; repetitions (repetition exercises; partials included, marked) or holds
    (held exercises); adjustments: movements that were not repetitions; sets: one
    :class:`SetSummary` per set; messages: what limits the result.
    """

    exercise: Exercise
    posture: str | None
    measured: str | None
    repetitions: list[ExerciseRepetition] = field(default_factory=list)
    holds: list[ExerciseHold] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)
    sets: list[SetSummary] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def table(self):
        """The repetitions (or holds) as a pandas DataFrame, one row each, the fields of
        ``to_dict_deg`` as columns (units in their names: ``_deg``, ``_dps``, ``_s``,
        ``_m``); ``messages`` joined."""
        import pandas as pd
        rows = []
        for r in self.holds or self.repetitions:
            d = r.to_dict_deg()
            d["messages"] = "; ".join(d.get("messages", []))
            rows.append(d)
        return pd.DataFrame(rows)

    def sets_table(self):
        """The sets as a pandas DataFrame: counts, hold, score and its interval
        (``score_low``, ``score_high``: NaN when none, ``score_interval_reason`` says why),
        consistency, fatigue, left/right difference and the medians (``median_<field>``)."""
        import math

        import pandas as pd
        rows = []
        for s in self.sets:
            iv = s.score_interval or (math.nan, math.nan)
            d = {"task": s.task, "set_index": s.set_index, "metric": s.metric,
                 "n_repetitions": s.n_repetitions, "n_partial": s.n_partial,
                 "hold_s": s.hold_s, "t_control_lost_s": s.t_control_lost_s,
                 "score": s.score, "score_low": iv[0], "score_high": iv[1],
                 "score_interval_level": s.score_interval_level,
                 "score_interval_reason": s.score_interval_reason,
                 "provisional": s.provisional,
                 "consistency_sd_deg": s.consistency_sd_deg,
                 "fatigue_slope": s.fatigue_slope, "lr_difference_deg": s.lr_difference_deg}
            d.update({f"median_{k}": v for k, v in s.medians.items()})
            rows.append(d)
        return pd.DataFrame(rows)


def analyse_exercise(task: str, t_s, q_body_to_earth, gyr_body_radps, acc_body_mps2=None, *,
                     rate_hz: float, bands: dict | None = None,
                     **params) -> ExerciseAnalysis:
    """One exercise task offline: :func:`segmenter` fed the whole task, flushed, and its
    sets summarised (:func:`summarise_sets` with ``bands``, the packaged ones by default).
    """
    seg = segmenter(task, rate_hz, **params)
    if isinstance(seg, HoldSegmenter):
        seg.update(t_s, q_body_to_earth, gyr_body_radps)
        seg.flush()
        out = ExerciseAnalysis(seg.ex, seg.posture, seg.measured, holds=seg.holds)
        found = seg.holds
    else:
        seg.update(t_s, q_body_to_earth, gyr_body_radps, acc_body_mps2)
        seg.flush()
        out = ExerciseAnalysis(seg.ex, seg.posture, seg.measured, repetitions=seg.reps,
                               adjustments=seg.adjustments)
        found = seg.reps
    out.sets = summarise_sets(seg.ex, found, bands)
    out.messages = list(seg.messages)
    return out


__all__ = ["EXERCISES", "Adjustment", "Exercise", "ExerciseAnalysis", "ExerciseHold",
           "ExerciseRepetition",
           "HoldSegmenter", "Metric", "RepetitionSegmenter", "SetSummary",
           "analyse_exercise", "compare_sides", "exercise", "load_exercise_bands",
           "segmenter", "summarise_sets"]
