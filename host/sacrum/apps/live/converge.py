"""Live converges on the offline answer: when the data end, the session shows the analysis
of its capture (issue 13 item 2).

While walking the window shows the live scorer's provisional values; once a replay or a
recording ends, ``sacrum.analyze`` runs on the same capture (the replayed file, or the
recording written, which is flushed per record): :func:`final_values` turns its document
into the snapshot's numbers and :class:`FinalSeries` keeps its angles, gait events, turns
and used strides for the traces and the overlay, so the window, the headless summary and
figures, the report and ``sacrum analyze CAPTURE`` give one answer.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from sacrum.analysis import steps_outside_tasks
from sacrum.apps.live.model import CURVE_POINTS, StrideCurve, stance

log = logging.getLogger(__name__)


class Convergence:
    """The final analysis of a session: which capture it is (``capture``: the replayed
    file; else the recording the session wrote), the document once made (``doc``: None
    before the data ended, without a capture, or when the analysis failed) and what the
    snapshot shows of it (:meth:`values`)."""

    def __init__(self, capture: str | os.PathLike | None = None) -> None:
        self.capture = capture
        self.doc: dict[str, Any] | None = None
        self.series: FinalSeries | None = None

    def run(self, recorded: str | os.PathLike | None
            ) -> tuple[dict[str, Any] | None, FinalSeries | None, str]:
        """Analyse the capture (or ``recorded``, the session's recording): (doc, series, "")
        or (None, None, why not: "" without a capture). The caller keeps them in ``doc``
        and ``series`` (under its lock: the snapshot reads them)."""
        from sacrum.analysis import analyze

        path = self.capture or recorded
        if path is None:
            return None, None, ""
        try:
            analysis = analyze(path)
            doc = analysis.to_json()
        except Exception as e:  # a capture too short or damaged: the live values stay
            log.warning("final analysis of %s failed: %s", path, e)
            return None, None, str(e)
        return doc, FinalSeries.of(analysis, doc), ""

    def values(self, t0_s: float = -math.inf, t1_s: float = math.inf
               ) -> dict[str, Any] | None:
        """The snapshot's fields from the final analysis: its numbers
        (:func:`final_values`) and, from ``t0_s`` to ``t1_s`` (session time, s), its angles,
        events, stance phases and turns, with every used stride (:meth:`FinalSeries.window`)."""
        v = final_values(self.doc)
        if v is not None and self.series is not None:
            v.update(self.series.window(t0_s, t1_s))
        return v


@dataclass(frozen=True)
class FinalSeries:
    """What the traces and the overlay draw once the session has converged: the final
    analysis' per-sample angles (``t_s``, s; ``angles_rad`` (N, 3): tilt, obliquity,
    rotation, the columns of the live ring), ``heading_settled``, its gait events (t_s,
    "IC"|"FC", side) and turns (t_start_s, t_end_s, angle_deg, + left), and the strides of
    its used steps (``curves``: those with a whole stride, cut from these angles by
    ``sacrum.scoring.metrics.stride_curve``, the rule of the summaries' and the report's
    gait-cycle curves)."""

    t_s: np.ndarray
    angles_rad: np.ndarray
    heading_settled: np.ndarray
    events: list[tuple[float, str, str]]
    turns: list[tuple[float, float, float]]
    curves: list[StrideCurve]

    @classmethod
    def of(cls, analysis, doc: dict[str, Any]) -> FinalSeries:
        """From a ``sacrum.analysis.Analysis`` and its document."""
        from sacrum.scoring.metrics import stride_curve

        s = analysis.samples
        t = s["t_s"].to_numpy(float)
        angles = s[["tilt_rad", "obliquity_rad", "rotation_rad"]].to_numpy(float)
        ev = analysis.events
        events = list(zip(ev["t_s"].astype(float), ev["kind"], ev["side"], strict=True))
        tu = analysis.turns
        turns = [(float(a), float(b), float(x) if d == "left" else -float(x)) for a, b, x, d
                 in zip(tu["t_start_s"], tu["t_end_s"], tu["angle_deg"], tu["direction"],
                        strict=True)]
        pct = np.linspace(0.0, 100.0, CURVE_POINTS)
        curves = []
        for d, u in zip(doc["steps"], used_in_summaries(doc["steps"]), strict=True):
            if not u or d.get("stride_time_s") is None:
                continue
            c = stride_curve(t, angles[:, :2], d["t_ic"], d["stride_time_s"], pct)
            if c is not None:
                drop = d.get("contralateral_drop_deg")
                curves.append(StrideCurve(d["t_ic"], d["stance_side"], c[1], c[0], True,
                                          math.nan if drop is None else float(drop)))
        return cls(t, angles, s["heading_settled"].to_numpy(bool), events, turns, curves)

    def window(self, t0_s: float, t1_s: float) -> dict[str, Any]:
        """The snapshot's fields from ``t0_s`` to ``t1_s`` (s): ``t_s``, ``angles_rad``,
        ``heading_settled``, ``events``, ``stance``, ``turns``, and every used stride
        (``curves``)."""
        i0 = int(np.searchsorted(self.t_s, t0_s))
        i1 = int(np.searchsorted(self.t_s, t1_s, side="right"))
        ev = [e for e in self.events if t0_s - 2.0 <= e[0] <= t1_s]
        return {"t_s": self.t_s[i0:i1], "angles_rad": self.angles_rad[i0:i1],
                "heading_settled": self.heading_settled[i0:i1],
                "events": [e for e in ev if e[0] >= t0_s],
                "stance": [x for x in stance(ev) if x[2] >= t0_s],
                "turns": [x for x in self.turns if x[1] >= t0_s],
                "curves": list(self.curves)}


def used_in_summaries(steps: list[dict[str, Any]]) -> list[bool]:
    """Per step of an analysis document (``steps``): whether a summary uses it. Not
    excluded, and, in a capture with tasks, inside one: a step outside every task is in no
    summary (``steps[].task`` null), so it is not counted where the summary's counts are."""
    tasked = any(d.get("task") for d in steps)
    return [d.get("excluded") is None and (not tasked or bool(d.get("task"))) for d in steps]


def final_values(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The snapshot's numbers (score, interval, components, drops, cadence, steps, message)
    and, when the capture marks tasks, those tasks, from the final analysis document (None
    before it)."""
    if doc is None:
        return None
    s = doc["summary"]
    drop = s.get("contralateral_drop_deg") or {}
    interval = s.get("score_interval")
    v = {
        "score": s.get("score"),
        "score_interval": tuple(interval) if s.get("score") is not None and interval
        else None,
        "components": {k: c.get("score") for k, c in (s.get("components") or {}).items()},
        "drop_deg": {k: math.nan if drop.get(k) is None else float(drop[k]) for k in "LR"},
        "cadence_spm": math.nan if s.get("cadence_spm") is None else float(s["cadence_spm"]),
        "steps_total": len(doc.get("steps") or []),
        "steps_used": int(s.get("n_steps_used") or 0),
        "steps_outside": steps_outside_tasks(doc.get("steps") or []),
        "message": "final: the analysis of the whole capture, as `sacrum analyze` gives it "
                   f"— {s.get('score_message') or ''}",
        "final": True,
    }
    # the capture's task marks where the analysis put them: a replay applies each mark at
    # the packet that carries it, up to a packet (0.1 s) later than the time the analysis
    # (and the report, and `sacrum info`) reads from it
    marked = sorted(((t["task"], seg["t_start_s"], seg["t_end_s"])
                     for t in s.get("tasks") or [] for seg in t.get("segments") or []
                     if seg.get("source") == "annotation"), key=lambda x: x[1])
    if marked:
        v["tasks"] = marked
    return v


__all__ = ["Convergence", "FinalSeries", "final_values", "used_in_summaries"]
