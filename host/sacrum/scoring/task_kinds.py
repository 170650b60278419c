"""What kind of task a task name is, and the summary of a step-down/up task's repetitions.

Shared by the offline analysis (``sacrum.analysis``) and the live task scorer
(``sacrum.scoring.livetask``), so both read a task name and pool repetitions the same way.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

_STANCE_TASK = re.compile(r"single-leg-stance-(left|right)")
_REPETITION_TASK = re.compile(r"(step-down|step-up)-(left|right)")


def task_kind(name: str) -> tuple[str, str | None, str | None]:
    """(kind, repetition kind, stance side) of a task name.

    Parameters
    ----------
    name : str
        A protocol task name (``walk``, ``stairs-up``, ``single-leg-stance-left``,
        ``step-down-right``, ...) or any other name.

    Returns
    -------
    tuple
        ``("stance", None, "L")`` for ``single-leg-stance-left``, ``("repetitions",
        "step-down", "R")`` for ``step-down-right``, ``("steps", None, None)`` for walk,
        stairs and any other name. The side in a task name is the stance leg.
    """
    m = _STANCE_TASK.fullmatch(name)
    if m:
        return "stance", None, m.group(1)[0].upper()
    m = _REPETITION_TASK.fullmatch(name)
    if m:
        return "repetitions", m.group(1), m.group(2)[0].upper()
    return "steps", None, None


def _median(values: list[float]) -> float:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], float)
    return float(np.median(v)) if len(v) else math.nan


def repetition_summary(reps: list[dict[str, Any]]) -> dict[str, Any]:
    """A step-down/up task's summary from its repetitions.

    Parameters
    ----------
    reps : list of dict
        ``RepetitionResult.to_dict_deg()`` of each repetition; numbered here (``index``).

    Returns
    -------
    dict
        ``n_repetitions``; medians over repetitions of ``peak_drop_deg``,
        ``drop_excursion_deg``, ``ldlj_a``, ``jerk_rms_mps3``, ``duration_s``, ``depth_m``;
        ``peak_drop_sd_deg`` (the SD of the peak drop, NaN with fewer than two);
        ``repetitions`` (the input).
    """
    for i, r in enumerate(reps):
        r["index"] = i
    drops = [r["peak_drop_deg"] for r in reps]
    finite = [d for d in drops if math.isfinite(d)]
    return {"n_repetitions": len(reps), "peak_drop_deg": _median(drops),
            "peak_drop_sd_deg": float(np.std(finite, ddof=1)) if len(finite) > 1 else math.nan,
            "drop_excursion_deg": _median([r["drop_excursion_deg"] for r in reps]),
            "ldlj_a": _median([r["ldlj_a"] for r in reps]),
            "jerk_rms_mps3": _median([r["jerk_rms_mps3"] for r in reps]),
            "duration_s": _median([r["duration_s"] for r in reps]),
            "depth_m": _median([r["depth_m"] for r in reps]),
            "repetitions": reps}


__all__ = ["repetition_summary", "task_kind"]
