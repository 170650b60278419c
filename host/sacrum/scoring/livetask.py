"""Live single-leg stance and step-down/step-up: the offline task processors as samples come.

``sacrum analyze`` scores these tasks on a whole segment with
:class:`~sacrum.scoring.tasks.SingleLegStanceMonitor` and
:class:`~sacrum.scoring.tasks.RepetitionCounter`;
both are streaming processors, so the live view feeds them the task's samples while it is
being performed and shows the result after every update (stance: the hold so far) or every
repetition (step-down/up), with the same summary and score functions as the offline path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sacrum.scoring.score import (
    Bands,
    TaskScore,
    load_bands,
    score_repetitions,
    score_single_leg_stance,
)
from sacrum.scoring.task_kinds import repetition_summary, task_kind
from sacrum.scoring.tasks import RepetitionCounter, SingleLegStanceMonitor


@dataclass
class TaskUpdate:
    """The task's state after a chunk.

    summary: the task summary in report units, as in ``sacrum analyze``'s
        ``tasks[].single_leg_stance`` / ``tasks[].repetitions`` (docs/analysis-json.md).
    score: its :class:`~sacrum.scoring.score.TaskScore` (``score`` None while it cannot be scored;
        ``message`` says why).
    new_repetitions: repetitions finished in this chunk (report units; step-down/up only).
    messages: what the processor could not see (gaps, a foot down, ...).
    """

    summary: dict[str, Any]
    score: TaskScore
    new_repetitions: list[dict[str, Any]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


class LiveTaskTracker:
    """One held task (``single-leg-stance-left|right``, ``step-down-left|right``,
    ``step-up-left|right``) fed live.

    **Data required** (as the processors): ``t_s`` (N,) s; ``angles_rad`` (N, 3) pelvic
    angles relative to the standing calibration (tilt, obliquity, rotation;
    docs/pelvic-angles.md); ``gyr_body_radps`` (N, 3) body frame (stance only);
    ``acc_body_mps2`` (N, 3) m/s², z up, gravity removed. NaN rows for lost samples.

    Each update re-reads the task's buffer (as the processors do): a task of a minute at
    200 Hz costs milliseconds, well inside one repetition.
    """

    def __init__(self, task: str, bands: Bands | None = None) -> None:
        kind, rep_kind, side = task_kind(task)
        if kind == "steps" or side is None:
            raise ValueError(f"{task!r} is not a single-leg stance or step-down/up task "
                             "(walking and stairs are scored by LiveScorer)")
        self.task, self.kind, self.side = task, kind, side
        self.bands = bands or load_bands()
        self._stance = SingleLegStanceMonitor(side) if kind == "stance" else None
        self._reps = RepetitionCounter(rep_kind, side) if kind == "repetitions" else None
        self.last: TaskUpdate | None = None

    def reset(self) -> None:
        """Forget the task's samples (a new attempt); keep the task and the bands."""
        for processor in (self._stance, self._reps):
            if processor is not None:
                processor.reset()
        self.last = None

    def update(self, t_s, angles_rad, gyr_body_radps, acc_body_mps2) -> TaskUpdate:
        t = np.asarray(t_s, float).reshape(-1)
        if self._stance is not None:
            r = self._stance.update(t, angles_rad, gyr_body_radps, acc_body_mps2)
            summary = {k: v for k, v in r.to_dict_deg().items() if k not in ("messages", "side")}
            summary |= {"n_trials": 1}
            score = score_single_leg_stance(summary, self.bands, task=self.task)
            self.last = TaskUpdate(summary, score, [], list(r.messages))
            return self.last
        new = self._reps.update(t, angles_rad, acc_body_mps2)
        return self._reps_update(new)

    def flush(self) -> TaskUpdate:
        """The task has ended: the repetition still open is decided."""
        if self._stance is not None:
            return self.last or self.update(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)),
                                            np.zeros((0, 3)))
        return self._reps_update(self._reps.flush())

    def _reps_update(self, new) -> TaskUpdate:
        summary = repetition_summary([r.to_dict_deg() for r in self._reps.reps])
        score = score_repetitions(summary, self.bands, task=self.task)
        fresh = summary["repetitions"][len(summary["repetitions"]) - len(new):] if new else []
        self.last = TaskUpdate(summary, score, fresh, list(self._reps.messages))
        return self.last


__all__ = ["LiveTaskTracker", "TaskUpdate"]
