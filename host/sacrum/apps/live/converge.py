"""Live converges on the offline answer: when the data end, the session shows the analysis
of its capture (issue 13 item 2).

While walking the window shows the live scorer's provisional values; once a replay or a
recording ends, :func:`analyse_capture` runs ``sacrum.analyze`` on the same capture (the
replayed file, or the recording written, which is flushed per record) and
:func:`final_values` turns its document into the snapshot's numbers, so the window, the
headless summary and ``sacrum analyze CAPTURE`` give one answer.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any

log = logging.getLogger(__name__)


class Convergence:
    """The final analysis of a session: which capture it is (``capture``: the replayed
    file; else the recording the session wrote), the document once made (``doc``: None
    before the data ended, without a capture, or when the analysis failed) and what the
    snapshot shows of it (:meth:`values`)."""

    def __init__(self, capture: str | os.PathLike | None = None) -> None:
        self.capture = capture
        self.doc: dict[str, Any] | None = None

    def run(self, recorded: str | os.PathLike | None) -> tuple[dict[str, Any] | None, str]:
        """Analyse the capture (or ``recorded``, the session's recording): (doc, "") or
        (None, why not: "" without a capture). The caller keeps it in ``doc`` (under its
        lock: the snapshot reads it)."""
        path = self.capture or recorded
        if path is None:
            return None, ""
        try:
            doc = analyse_capture(path)
        except Exception as e:  # a capture too short or damaged: the live values stay
            log.warning("final analysis of %s failed: %s", path, e)
            return None, str(e)
        return doc, ""

    def values(self) -> dict[str, Any] | None:
        """The snapshot's numbers from the document (:func:`final_values`)."""
        return final_values(self.doc)


def analyse_capture(path: str | os.PathLike) -> dict[str, Any]:
    """The analysis document of the capture at ``path`` (``sacrum.analysis.analyze`` with its
    defaults: the mounting estimated from the recording, as ``sacrum analyze`` does).
    Raises what the analysis raises (a capture too short or damaged)."""
    from sacrum.analysis import analyze

    return analyze(path).to_json()


def used_in_summaries(steps: list[dict[str, Any]]) -> list[bool]:
    """Per step of an analysis document (``steps``): whether a summary uses it. Not
    excluded, and, in a capture with tasks, inside one: a step outside every task is in no
    summary (``steps[].task`` null), so it is not counted where the summary's counts are."""
    tasked = any(d.get("task") for d in steps)
    return [d.get("excluded") is None and (not tasked or bool(d.get("task"))) for d in steps]


def final_values(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The snapshot's numbers (score, interval, components, drops, cadence, steps, message)
    from the final analysis document (None before it)."""
    if doc is None:
        return None
    s = doc["summary"]
    drop = s.get("contralateral_drop_deg") or {}
    interval = s.get("score_interval")
    return {
        "score": s.get("score"),
        "score_interval": tuple(interval) if s.get("score") is not None and interval
        else None,
        "components": {k: c.get("score") for k, c in (s.get("components") or {}).items()},
        "drop_deg": {k: math.nan if drop.get(k) is None else float(drop[k]) for k in "LR"},
        "cadence_spm": math.nan if s.get("cadence_spm") is None else float(s["cadence_spm"]),
        "steps_total": len(doc.get("steps") or []),
        "steps_used": int(s.get("n_steps_used") or 0),
        "message": "final: the analysis of the whole capture, as `sacrum analyze` gives it "
                   f"— {s.get('score_message') or ''}",
        "final": True,
    }


__all__ = ["Convergence", "analyse_capture", "final_values", "used_in_summaries"]
