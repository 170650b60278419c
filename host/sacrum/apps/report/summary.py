"""The plain-language summary: sentences made from the analysis' numbers, nothing more.

Each sentence quotes a number of the analysis document (rounded as the report prints it:
degrees to 0.1°, scores to 1 point) and, where the analysis' bands give one, where it lies
against the usual range. No cause, diagnosis or advice is inferred.
"""

from __future__ import annotations

import math
from typing import Any

from sacrum.apps.report.norms import drop_band

SIDE_WORD = {"L": "left", "R": "right"}
OTHER = {"L": "R", "R": "L"}
_REASON_WORDS = {"turn": "in turns", "gap": "across gaps in the data",
                 "irregular": "irregular", "bout-edge": "at the start or end of a walk"}


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def deg(x: float) -> str:
    """Degrees as the report prints them (0.1°, no "-0.0")."""
    return f"{x:.1f}°".replace("-0.0°", "0.0°")


def against_band(value: float, normal_min: float | None, normal_max: float | None) -> str:
    """"above the usual range (up to 7.0°)", "within it", ... ("" with no band)."""
    if normal_max is not None and value > normal_max:
        return f"above the usual range (up to {deg(normal_max)})"
    if normal_min is not None and value < normal_min:
        return f"below the usual range (from {deg(normal_min)})"
    if normal_max is None and normal_min is None:
        return ""
    return "within the usual range" + (f" (up to {deg(normal_max)})" if normal_max is not None
                                       else "")


def drop_sentence(task: dict[str, Any]) -> str | None:
    """"In right stance the pelvis dropped 8.0° on the swinging (left) side, above the
    usual range (up to 7.0°); in left stance 4.0°, within it." The larger drop first;
    without a standing calibration the sentence says the drops are relative ones."""
    drop = task.get("contralateral_drop_deg") or {}
    lo, hi, _ = drop_band(task)
    have = [s for s in "LR" if _finite(drop.get(s))]
    if not have:
        return None
    first, *rest = sorted(have, key=lambda s: -drop[s])
    parts = [_drop_clause(first, drop[first], lo, hi, full=True)]
    parts += [_drop_clause(s, drop[s], lo, hi, full=False) for s in rest]
    missing = [s for s in "LR" if s not in have]
    text = "; ".join(parts)
    for s in missing:
        text += f"; in {SIDE_WORD[s]} stance there is no value (too few steps)"
    ref = task.get("angle_reference")
    if ref == "walking":
        text += (" (relative drops: measured from the mean walking posture, as there was no "
                 "standing calibration)")
    elif ref == "sensor":
        text += (" (relative drops: measured from the sensor's mounting, as there was no "
                 "calibration)")
    return text[0].upper() + text[1:] + "."


def _drop_clause(side: str, value: float, lo, hi, *, full: bool) -> str:
    band = against_band(value, lo, hi)
    swing = SIDE_WORD[OTHER[side]]
    if round(value, 1) == 0:
        what = f"in {SIDE_WORD[side]} stance the pelvis did not drop ({deg(value)})"
    elif value < 0:
        what = (f"in {SIDE_WORD[side]} stance the swinging ({swing}) side stayed "
                f"{deg(-value)} above its standing height instead of dropping")
    elif full:
        what = (f"in {SIDE_WORD[side]} stance the pelvis dropped {deg(value)} on the "
                f"swinging ({swing}) side")
    else:
        what = f"in {SIDE_WORD[side]} stance {deg(value)}"
    if not band:
        return what
    if not full and value >= 0 and band.startswith("within"):
        return f"{what}, within it"
    return f"{what}, {band}"


def with_interval(score: float, interval) -> str:
    """"78 (70–85)" or "78" (no interval)."""
    if not interval or interval[0] is None:
        return f"{score:.0f}"
    return f"{score:.0f} ({interval[0]:.0f}–{interval[1]:.0f})"


def score_sentence(task: dict[str, Any], name: str) -> str:
    if task.get("score") is None:
        why = str(task.get("score_message") or "").removeprefix("no score: ")
        return f"No pelvic control score for {name}: {why}."
    comps = ", ".join(f"{k} {with_interval(c['score'], c.get('interval'))}"
                      for k, c in (task.get("components") or {}).items()
                      if c.get("score") is not None)
    iv = task.get("score_interval")
    level = task.get("score_interval_level") or 0.9
    sure = (f"; in brackets the range it would likely take on another walk like this one "
            f"({100 * level:.0f} % interval from the steps)" if iv else "")
    return (f"Pelvic control score for {name}: {with_interval(task['score'], iv)} of 100 "
            f"({comps}){sure}.")


def turns_sentence(task: dict[str, Any]) -> str | None:
    """"1 turn (right): 186° in 2.2 s, at up to 151°/s, in 4 steps." (None without turns)."""
    ts = task.get("turns_summary") or {}
    n = ts.get("n_turns") or 0
    if not n:
        return None
    dirs = [f"{ts[k]} {w}" for k, w in (("n_left", "left"), ("n_right", "right")) if ts.get(k)]
    steps = (f"in {ts['n_steps']:.0f} steps" if ts.get("n_steps") is not None
             else "its steps not found")
    if n == 1:
        what = "left" if ts.get("n_left") else "right"
        return (f"1 turn ({what}): {ts['angle_deg']:.0f}° in {ts['duration_s']:.1f} s, at up "
                f"to {ts['peak_rate_dps']:.0f}°/s, {steps}.")
    return (f"{n} turns ({', '.join(dirs)}): typically {ts['angle_deg']:.0f}° in "
            f"{ts['duration_s']:.1f} s, at up to {ts['peak_rate_dps']:.0f}°/s, "
            f"{steps.replace('its', 'their')} (medians).")


def steps_sentence(task: dict[str, Any]) -> str:
    used, n = task.get("n_steps_used") or 0, task.get("n_steps") or 0
    reasons = task.get("excluded_reasons") or {}
    why = ", ".join(f"{k} {_REASON_WORDS.get(r, r)}" for r, k in reasons.items() if k)
    by = task.get("n_steps_by_side") or {}
    text = f"{used} of {n} steps were used" + (f" ({why})" if why else "")
    if used and by:
        text += f", {by.get('L', 0)} in left and {by.get('R', 0)} in right stance"
    cad = task.get("cadence_spm")
    if _finite(cad):
        text += f"; cadence {cad:.0f} steps/min"
    return text + "."


def task_sentences(task: dict[str, Any]) -> list[str]:
    """The summary of one task (a ``summary.tasks[]`` object)."""
    name = task["task"]
    if task["kind"] == "steps":
        out = [s for s in (drop_sentence(task),) if s]
        out += [steps_sentence(task), score_sentence(task, name)]
        out += [s for s in (turns_sentence(task),) if s]
        return out
    if task["kind"] == "exercise":
        return exercise_sentences(task)
    if task["kind"] == "run":
        return run_sentences(task)
    lo, hi, _ = drop_band(task)
    side = task.get("side") or "L"
    if task["kind"] == "stance":
        sls = task.get("single_leg_stance") or {}
        held, drop = sls.get("time_held_s"), sls.get("drop_mean_deg")
        text = f"Standing on the {SIDE_WORD[side]} leg ({name})"
        if _finite(held):
            text += f": held {held:.1f} s" + (" or more" if sls.get("held_to_end") else "")
        if _finite(drop):
            band = against_band(drop, lo, hi)
            text += (f"; the unsupported ({SIDE_WORD[OTHER[side]]}) side dropped {deg(drop)} "
                     f"on average over the stable hold" + (f", {band}" if band else ""))
        return [text + ".", score_sentence(task, name)]
    reps = task.get("repetitions") or {}
    n, drop = reps.get("n_repetitions", 0), reps.get("peak_drop_deg")
    text = f"{name}: {n} repetition{'s' if n != 1 else ''}"
    if _finite(drop):
        band = against_band(drop, lo, hi)
        text += f"; median peak drop {deg(drop)}" + (f", {band}" if band else "")
    return [text + ".", score_sentence(task, name)]


#: How a posture is named in a sentence (the exercise object's ``posture``).
POSTURE_WORDS = {"supine": "lying on the back", "prone": "face down",
                 "side-lying-left": "lying on the left side",
                 "side-lying-right": "lying on the right side", "upright": "upright"}


def metric_words(name: str) -> str:
    """An own metric's field name as words: ``unsupported_drop_deg`` -> "unsupported drop"."""
    return name.removesuffix("_deg").replace("_", " ")


def exercise_sentences(task: dict[str, Any]) -> list[str]:
    """An exercise task: repetitions (full, partial) and sets, or holds with the time held
    and when control was lost; the own metric's set medians against its band; the control
    score, its bands said to be provisional (docs/exercises.md)."""
    from sacrum.apps.report.norms import exercise_band

    name, ex = task["task"], task.get("exercise") or {}
    sets = ex.get("sets") or []
    posture = ex.get("posture")
    where = f" ({POSTURE_WORDS.get(posture, posture)})" if posture else ""
    n_sets = ex.get("n_sets") or 0
    if ex.get("held"):
        holds = ex.get("holds") or []
        text = f"{name}{where}: {len(holds)} hold{'s' if len(holds) != 1 else ''}"
        each = []
        for h in holds:
            when = h.get("control_lost_after_s")
            each.append(f"held {h['hold_s']:.1f} s" + (" or more" if h.get("held_to_end") else "")
                        + (f", control lost after {when:.1f} s" if _finite(when)
                           else ", control kept throughout"))
        if each:
            text += ": " + "; ".join(each)
    else:
        n, n_p = ex.get("n_repetitions") or 0, ex.get("n_partial") or 0
        text = (f"{name}{where}: {n} repetition{'s' if n != 1 else ''} in {n_sets} "
                f"set{'s' if n_sets != 1 else ''}")
        if n_p:
            text += f" ({n_p} partial, not scored)"
    band = exercise_band(ex)
    medians = [s.get("medians", {}).get(s.get("metric")) for s in sets]
    if band and any(_finite(v) for v in medians):
        vals = ", ".join(deg(v) if _finite(v) else "–" for v in medians)
        worst = max(v for v in medians if _finite(v))
        where = against_band(worst, None, band.normal_max).replace("usual range",
                                                                   "provisional band")
        several = sum(_finite(v) for v in medians) > 1
        text += (f"; {metric_words(band.metric)} {vals} (median of each "
                 f"{'hold' if ex.get('held') else 'set'}), "
                 + (f"the largest {where}" if several else where))
    return [text + ".", exercise_score_sentence(task)]


def exercise_score_sentence(task: dict[str, Any]) -> str:
    """"Control score for bridge: 82 of 100, the mean of its sets' scores (set 1: 89 (80–95),
    set 2: 75); provisional bands ...", or why there is none, set by set (a set's score is
    withheld when its interval is too wide: the interval is said)."""
    name, sets = task["task"], (task.get("exercise") or {}).get("sets") or []
    if task.get("score") is None:
        parts = []
        for st in sets:
            iv = st.get("score_interval")
            if _finite(st.get("score")):
                parts.append(f"set {st['set_index'] + 1}: {st['score']:.0f}")
            elif iv and all(_finite(v) for v in iv):
                level = 100 * (st.get("score_interval_level") or 0.9)
                parts.append(f"set {st['set_index'] + 1}: withheld, its {level:.0f} % interval "
                             f"{iv[0]:.0f}–{iv[1]:.0f} is too wide")
            else:
                parts.append(f"set {st['set_index'] + 1}: none")
        if parts:
            return (f"No control score for {name} ({'; '.join(parts)}); the sets' reasons "
                    "are in the task's table of scores.")
        why = str(task.get("score_message") or "").removeprefix("no score: ")
        return f"No control score for {name}: {why}."
    per = ", ".join(f"set {s['set_index'] + 1}: " + (with_interval(
        s["score"], s.get("score_interval")) if _finite(s.get("score")) else "none")
        for s in sets)
    score = with_interval(task["score"], task.get("score_interval"))
    return (f"Control score for {name}: {score} of 100, the mean of its sets' scores "
            f"({per}); provisional bands, not published norms (docs/exercises.md).")


def run_sentences(task: dict[str, Any]) -> list[str]:
    """A run task: the drop per stance side against the (provisional) band, the running
    steps used, cadence, contact and flight time (ms), vertical oscillation (cm), and the
    running score (docs/running.md)."""
    name = task["task"]
    out = []
    drop = drop_sentence(task)
    if drop:
        drop = drop.replace("the usual range", "the provisional band")  # the walking band
        out.append(f"Running ({name}): " + drop[0].lower() + drop[1:])
    used, n = task.get("n_steps_used") or 0, task.get("n_steps") or 0
    by = task.get("n_steps_by_side") or {}
    text = f"{used} of {n} running steps were used"
    if used:
        text += f", {by.get('L', 0)} in left and {by.get('R', 0)} in right stance"
    walking = task.get("n_walking_steps") or 0
    if walking:
        text += f" ({walking} walking steps in the task are not in the running values)"
    parts = []
    cad = task.get("cadence_spm")
    if _finite(cad):
        parts.append(f"cadence {cad:.0f} steps/min")
    for key, what, scale, unit, fmt in (("contact_time_s", "contact", 1000, "ms", ".0f"),
                                        ("flight_time_s", "flight", 1000, "ms", ".0f"),
                                        ("vertical_oscillation_m", "vertical oscillation", 100,
                                         "cm", ".1f")):
        v = (task.get(key) or {}).get("all")
        if _finite(v):
            parts.append(f"{what} {v * scale:{fmt}} {unit}")
    out.append(text + ("; " + ", ".join(parts) if parts else "") + ".")
    if not task.get("rate_ok", True) and task.get("rate_message"):
        out.append(f"{task['rate_message']}.")
    if task.get("score") is None:
        why = str(task.get("score_message") or "").removeprefix("no score: ")
        out.append(f"No running score for {name}: {why}.")
    else:
        comps = ", ".join(f"{k} {c['score']:.0f}" for k, c in
                          (task.get("components") or {}).items() if _finite(c.get("score")))
        out.append(f"Running score for {name}: {task['score']:.0f} of 100 ({comps}); "
                   "provisional bands, mostly the walking ones (docs/running.md).")
    return out


def quality_sentences(doc: dict[str, Any]) -> list[str]:
    """What limits the numbers: calibration, mounting, data loss."""
    out = []
    cal = doc.get("calibration") or {}
    kinds = {t["kind"] for t in doc["summary"]["tasks"]}
    if "exercise" in kinds:
        out.append("Exercise angles are measured from the pelvis's posture at the start of "
                   "each repetition or hold, about its own axes (docs/exercises.md); they "
                   "need no standing calibration.")
    if not cal.get("calibrated") and kinds != {"exercise"}:
        out.append("There was no standing calibration: angles are relative to the sensor's "
                   "mounting, not to this person's standing posture.")
    elif cal.get("reference") == "walking":
        out.append("There was no standing calibration: angles are relative to the mean "
                   "walking posture, so a left-right difference in drop reads smaller than "
                   "it is.")
    conf = (doc.get("mounting") or {}).get("confidence")
    if _finite(conf) and conf < 0.5:
        out.append(f"The sensor's mounting was estimated with low confidence ({conf:.2f}): "
                   "tilt and obliquity may be partly mixed.")
    loss = (doc.get("loss") or {}).get("loss_fraction")
    if _finite(loss) and loss > 0:
        out.append(f"{100 * loss:.1f} % of the samples were lost in transmission.")
    return out


def session_sentences(doc: dict[str, Any]) -> list[str]:
    """The whole summary of one session: each task, the session score, the caveats."""
    summ = doc["summary"]
    out = []
    for task in summ["tasks"]:
        said = task_sentences(task)
        if len(summ["tasks"]) > 1 and task["kind"] in ("steps", "stance") and said:
            said[0] = f"{task['task']}: {said[0][0].lower()}{said[0][1:]}"  # which task
        out += said
    if len(summ["tasks"]) > 1:
        out.append(f"Session score: {with_interval(summ['score'], summ.get('score_interval'))}"
                   " of 100." if summ.get("score") is not None
                   else "No session score: no task could be scored.")
    return out + quality_sentences(doc)


def progress_sentences(points: list[dict[str, Any]]) -> list[str]:
    """From the first to the last session: score and drop per stance side (``points`` as
    :func:`sacrum.apps.report.figures.progress` takes them)."""
    if len(points) < 2:
        return []
    a, b = points[0], points[-1]
    parts = []
    if _finite(a["score"]) and _finite(b["score"]):
        parts.append(f"score {a['score']:.0f} → {b['score']:.0f}")
    for s in "LR":
        x, y = a[f"drop_{s}"], b[f"drop_{s}"]
        if _finite(x) and _finite(y):
            parts.append(f"{SIDE_WORD[s]}-stance drop {deg(x)} → {deg(y)}")
    n = sum(p.get("n", 1) for p in points)
    count = (f"{n} sessions" if n == len(points) else
             f"{n} sessions on {len(points)} days, a day's recordings pooled")
    if not parts:
        return [f"{count} from {a['date']} to {b['date']}: no value is in both "
                "the first and the last."]
    return [f"From {a['date']} to {b['date']} ({count}): " + "; ".join(parts) + "."]
