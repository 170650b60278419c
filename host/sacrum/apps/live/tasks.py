"""The live session's tasks and marks: chosen in the window or replayed from a capture's own
records, drawn (``LiveView.tasks``, ``marks``), written into the recording, and a held
task's live processor (docs/live.md, "Controls")."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import numpy as np

import sacrum_protocol as sp
from sacrum.apps.live.model import LiveView, Publisher
from sacrum.apps.live.recording import SessionRecording

log = logging.getLogger(__name__)

#: Tasks scored with the walking bands by LiveScorer (bands.toml [score] tasks).
STEPPING = ("walk", "stairs-up", "stairs-down")


class TaskMarks:
    """The current task, the tasks and marks so far, and the held task's processor.

    view: the :class:`~sacrum.apps.live.model.LiveView` they are drawn in (its ``task``,
    ``tasks``, ``marks``); recording: the :class:`SessionRecording` they are written to;
    pub: the session's lock and publish; script: annotations to apply when the packets
    reach their host time, as (host_time_ns, annotation) (a replayed capture's task and mark
    records); on_bad: called for an annotation that cannot be applied (an unknown task).

    Single-leg stance and step-down/up are scored live by their own processors
    (:class:`sacrum.scoring.livetask.LiveTaskTracker`, the same code as ``sacrum analyze``:
    :attr:`tracker`, fed by :meth:`track`); walking, stairs and running by the session's
    scorers (a stepping task is given to the walking scorer as its task).
    """

    def __init__(self, view: LiveView, recording: SessionRecording, pub: Publisher, *,
                 script=(), on_bad=None) -> None:
        self._view = view
        self._recording = recording
        self._pub = pub
        self._script = deque(sorted(script, key=lambda a: a[0]))
        self._on_bad = on_bad
        self.tracker = None  # sacrum.scoring.livetask.LiveTaskTracker while a held task runs

    def reset(self) -> None:
        self.tracker = None

    def set(self, task: str | None, t_now_s: float, scorer) -> None:
        """Start ``task`` at ``t_now_s`` (ending the current one), or end the current one
        (None); both written into the recording. Raises ValueError for an unknown task."""
        if task is not None and task not in sp.TASKS:
            raise ValueError(f"unknown task {task!r}; one of {', '.join(sp.TASKS)}")
        view = self._view
        with self._pub.lock:
            if task == view.task:
                return
            old = view.task
            if old is not None and view.tasks:
                name, t0, _ = view.tasks[-1]
                view.tasks[-1] = (name, t0, t_now_s)
            if task is not None:
                view.tasks.append((task, t_now_s, None))
            view.task = task
            self._pub.publish()
        self._recording.task_change(old, task)
        if task in STEPPING and scorer is not None:
            scorer.task = task
        self.start_tracker(task, scorer)

    def start_tracker(self, task: str | None, scorer) -> None:
        """The held task's own processor (none for a stepping task, or before the scorer)."""
        from sacrum.scoring.livetask import LiveTaskTracker
        from sacrum.scoring.task_kinds import task_kind

        tracker = None
        if (task is not None and task not in STEPPING and scorer is not None
                and task_kind(task)[0] in ("stance", "repetitions")):
            # exercises and running have no live tracker here (sacrum exercise feeds the
            # exercise segmenters through sample_hook)
            tracker = LiveTaskTracker(task, bands=scorer.bands)
        with self._pub.lock:
            self.tracker = tracker
            self._pub.publish()

    def started(self, scorer) -> None:
        """The scorer was made: a held task chosen before the first samples starts."""
        if self._view.task is not None and self._view.task not in STEPPING:
            self.start_tracker(self._view.task, scorer)

    def track(self, t_s, u, gyr_radps, q_sensor_to_body) -> None:
        """Feed the held task's processor (if any): angles (rad) relative to the calibration,
        body angular rate (rad/s), and the scorer's body acceleration (m/s², z up)."""
        tracker = self.tracker
        if tracker is None:
            return
        from sacrum.scoring.tasks.frames import to_body_frame

        gyr_body = to_body_frame(np.asarray(gyr_radps, float), q_sensor_to_body)
        tracker.update(t_s, u.chunk.angles_rad, gyr_body, u.acc_body_mps2)

    def mark(self, note: str, t_now_s: float) -> None:
        """A mark with a note at ``t_now_s`` (and in the recording)."""
        with self._pub.lock:
            self._view.marks.append((t_now_s, note))
            self._pub.publish()
        self._recording.mark(note)

    def due(self, host_time_ns: int, set_task, mark) -> None:
        """The script's annotations up to ``host_time_ns``, applied with the session's
        ``set_task(task)`` and ``mark(note)`` (so the newest sample stamps them)."""
        while self._script and self._script[0][0] <= host_time_ns:
            ann: dict[str, Any] = self._script.popleft()[1]
            try:
                if ann.get("type") == "task_start":
                    set_task(ann.get("task"))
                elif ann.get("type") == "task_stop" and ann.get("task") == self._view.task:
                    set_task(None)
                elif ann.get("type") == "mark":
                    mark(str(ann.get("note", "")))
            except ValueError as e:  # an unknown task in the capture: skip it, say so
                log.warning("annotation skipped: %s", e)
                if self._on_bad is not None:
                    self._on_bad()


__all__ = ["STEPPING", "TaskMarks"]
