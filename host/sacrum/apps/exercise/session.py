"""The guided session on a live transport: the live view's session with the programme's
state machine on its samples.

:class:`ExerciseSession` is a :class:`~sacrum.apps.live.session.LiveSession` (the same
transport, engine thread, decoder, time axis, live fusion, recording and task records as
``sacrum live``; nothing here decodes or fuses; made with ``walking=False``: a programme
has no walking, so the gait events, progression heading and running stage do not run)
whose ``sample_hook`` feeds each scored
chunk to a :class:`~sacrum.apps.exercise.guided.GuidedSession`:

1. the chunk's orientation (the live pipeline's ``q_sensor_to_earth``: the device's, or
   the host's fusion) and the sensor's angular rate and acceleration go into the body
   frame of the given mounting (:func:`~sacrum.scoring.exercises.posture.body_orientation`,
   ``body_rates``), as ``sacrum analyze`` puts them for its exercise tasks;
2. the guided session decides; when a set starts or ends its task is set on the live
   session, which writes task_start / task_stop into the recording then; at the first
   samples the mounting used goes into the recording too (a ``mounting`` annotation,
   protocol/SPEC.md §5.2, through :meth:`LiveSession.annotate
   <sacrum.apps.live.session.LiveSession.annotate>`), so ``sacrum analyze`` of the capture
   needs no ``--mount``;
3. when the data end the open set ends, and :meth:`ExerciseSession.final` analyses the
   recorded capture (``sacrum.analyze`` with the mounting, its tasks from the capture's
   own records) and puts the offline count of every set beside the live one.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from sacrum.apps.exercise.guided import GuidedSession, GuidedState
from sacrum.apps.exercise.programme import Programme
from sacrum.apps.live.session import LiveSession
from sacrum.scoring.exercises.posture import body_orientation, body_rates
from sacrum.signal.mounting import parse_mount

log = logging.getLogger(__name__)


class ExerciseSession(LiveSession):
    """A guided session (module docstring).

    programme; open_transport: the transport factory (``sacrum.apps.connect``); mount: the
    mounting (``parse_mount`` spec; lying postures give no walking to estimate it from, so
    it is given; None: "recommended", recorded as the ``"default"``); record_to: the
    capture to write (tasks, mounting and all); guided_options go to
    :class:`GuidedSession`. ``state()`` is safe from any thread.
    """

    def __init__(self, programme: Programme, open_transport, *, mount: str | None = None,
                 record_to: str | Path | None = None, **guided_options: Any) -> None:
        self.mount_source = "given" if mount else "default"
        mount = mount or "recommended"
        # no walking in a programme (its exercises: docs/exercises.md): no gait events,
        # progression heading or running stage live (the final analysis is the capture's)
        super().__init__(open_transport, mount=mount, record_to=record_to,
                         history_s=120.0, walking=False)
        self.programme = programme
        self.q_sensor_to_body = parse_mount(mount)
        self._guided_options = guided_options
        self.guided: GuidedSession | None = None
        self._glock = threading.RLock()
        self.sample_hook = self._on_samples
        self.final_document: dict[str, Any] | None = None
        self.final_error: str | None = None

    # -- the engine thread -----------------------------------------------------------------
    def _on_samples(self, t_s, chunk, u) -> None:
        qsb = self.q_sensor_to_body
        with self._glock:
            if self.guided is None:
                self._record_mounting()
                self.guided = GuidedSession(self.programme, self.rate_hz,
                                            on_task=self.set_task, **self._guided_options)
            qb = body_orientation(np.asarray(u.chunk.q_sensor_to_earth, float), qsb)
            self.guided.update(t_s, qb, body_rates(np.asarray(chunk.gyr_radps, float), qsb),
                               body_rates(np.asarray(chunk.acc_mps2, float), qsb))

    def _record_mounting(self) -> None:
        """The mounting into the recording (SPEC §5.2 ``mounting``), at the first samples."""
        self.annotate({"type": "mounting", "spec": self.mount,
                       "q_sensor_to_body": [float(v) for v in self.q_sensor_to_body],
                       "source": self.mount_source})

    def converge(self) -> dict[str, Any] | None:
        """End of the data: the open set ends; no walking analysis (:meth:`final` is this
        session's)."""
        with self._glock:
            if self.guided is not None:
                self.guided.finish()
        return None

    def skip(self) -> None:
        """End the current set (or rest) now (the view's button)."""
        with self._glock:
            if self.guided is not None:
                self.guided.skip()

    def state(self) -> GuidedState | None:
        """The guided state now (None before the first samples)."""
        with self._glock:
            return self.guided.state_now() if self.guided is not None else None

    # -- the end ---------------------------------------------------------------------------
    def final(self, capture: str | Path) -> dict[str, Any]:
        """The session's document: per set the live count and that of ``sacrum.analyze``
        on ``capture`` (the recording; mounting as given), and the analysis itself.
        Raises what the analysis raises."""
        from sacrum.analysis import analyze

        doc = analyze(capture, mount=self.mount).to_json()
        with self._glock:
            results = list(self.guided.results) if self.guided is not None else []
        sets = []
        by_task: dict[str, int] = {}
        tasks = {t["task"]: t for t in doc["summary"]["tasks"]}
        for res in results:
            d = res.as_dict()
            k = by_task.get(res.block.task, 0)
            by_task[res.block.task] = k + 1
            d["final"] = _offline_counts(tasks.get(res.block.task), k)
            sets.append(d)
        self.final_document = {
            "programme": {"name": self.programme.name,
                          "path": str(self.programme.path) if self.programme.path else None,
                          "blocks": len(self.programme.blocks())},
            "mount": self.mount, "mount_source": self.mount_source,
            "capture": str(capture), "sets": sets,
            "cues": sum(s["cues"] for s in sets), "analysis": doc}
        return self.final_document


def _offline_counts(entry: dict | None, k: int) -> dict[str, Any]:
    """The counts of the ``k``-th segment of an analysis task entry (None: not found)."""
    if entry is None or entry.get("kind") != "exercise":
        return {"found": False}
    segs = entry.get("segments") or []
    if k >= len(segs):
        return {"found": False}
    a, b = segs[k]["t_start_s"], segs[k]["t_end_s"]
    ex = entry["exercise"]
    reps = [r for r in ex["repetitions"] if a <= r["t_start_s"] <= b]
    holds = [h for h in ex["holds"] if a <= h["t_start_s"] <= b]
    return {"found": True, "t_start_s": a, "t_end_s": b,
            "n_repetitions": sum(not r["partial"] for r in reps),
            "n_partial": sum(bool(r["partial"]) for r in reps),
            "n_holds": len(holds),
            "hold_s": max((h["hold_s"] for h in holds), default=None)}


__all__ = ["ExerciseSession"]
