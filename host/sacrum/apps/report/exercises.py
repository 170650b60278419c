"""The report's page for an exercise task (``kind`` "exercise", docs/exercises.md) and the
exercises' progress across sessions.

Everything shown is the analysis document's ``exercise`` object (docs/analysis-json.md):
per repetition (or hold) the three excursions against the start posture, the exercise's
own metric, tempo and sway; per set the medians, left/right medians (alternating
exercises), consistency, fatigue slope and the 0-100 control score with its items and
reasons. Nothing is recomputed: the one thing read from elsewhere is the numbers of the
own metric's band, which the document names but does not carry (``norms.exercise_band``).
Every band is provisional and each figure, table and sentence says so.

Figures follow report/figures.py: matplotlib ``Figure`` objects (no pyplot), bars and lines
with a ``gid`` ("exc-3-tilt", "metric-3", "set-median-1", "hold-0", "lost-0", ...) so tests
can check that they hold the document's numbers, and a figure with nothing to draw says
so inside it (text with the gid "nothing").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sacrum.apps import palette
from sacrum.apps.report.content import Fig, Para, Table, _f
from sacrum.apps.report.figures import (
    BAND_COLOUR,
    POOR_COLOUR,
    SIDE_COLOUR,
    SIDE_WORD,
    WIDTH_IN,
    _nothing,
    _style,
)
from sacrum.apps.report.norms import exercise_band
from sacrum.apps.report.summary import POSTURE_WORDS, metric_words

#: The three angles, in the order the document lists the excursions.
ANGLES = ("tilt", "obliquity", "rotation")
#: The angles' colours (Okabe-Ito, apart from the sides' blue and vermillion and the
#: bands' green and purple); always labelled too.
ANGLE_COLOUR = {"tilt": palette.OKABE_ITO["orange"], "obliquity": palette.OKABE_ITO["sky blue"],
                "rotation": palette.NEUTRAL}
#: A repetition or hold of no side (both legs) or of a side not seen.
NO_SIDE_COLOUR = "#7f7f7f"
PROVISIONAL = "provisional band"


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _metric(ex: dict[str, Any]) -> str | None:
    """The own metric the sets were scored on (else the exercise's first)."""
    for s in ex.get("sets") or []:
        if s.get("metric"):
            return str(s["metric"])
    return next(iter(ex.get("metrics") or {}), None)


def _band_spans(ax, ex: dict[str, Any], metric: list[float], drawn: list[float]) -> None:
    """The own metric's provisional band behind its bars (``metric``: its values): 100
    points up to normal_max (green), 0 points from poor_max (purple); the axis spans every
    bar ``drawn`` on it and the band's edges."""
    band = exercise_band(ex)
    if band is None:
        return
    metric = [v for v in metric if _finite(v)]
    drawn = [v for v in drawn + metric if _finite(v)]
    low = min([0.0, *drawn]) - 0.5
    top = max([band.poor_max, *drawn]) + 1.0
    ax.axhspan(min([0.0, *metric]) - 0.5, band.normal_max, color=BAND_COLOUR, alpha=0.35,
               lw=0, label=f"{PROVISIONAL}: 100 points up to {band.normal_max:g}°")
    ax.axhspan(band.poor_max, top, color=POOR_COLOUR, alpha=0.35, lw=0,
               label=f"0 points from {band.poor_max:g}°")
    ax.set_ylim(low, top)


def _excursion_bars(ax, rows: list[dict[str, Any]], partial: list[bool]) -> None:
    """Grouped bars: the three signed excursions of each repetition or hold, each with a
    line from its smallest to its largest deviation (``_excursion_min_deg`` to
    ``_max_deg``: how far the pelvis went each way; where both are of a size the bar's
    sign is a toss-up, docs/exercises.md)."""
    w = 0.26
    for j, a in enumerate(ANGLES):
        for i, r in enumerate(rows):
            v = r.get(f"{a}_excursion_deg")
            if not _finite(v):
                continue
            x = i + (j - 1) * w
            (bar,) = ax.bar(x, v, w, color=ANGLE_COLOUR[a],
                            alpha=0.4 if partial[i] else 1.0, hatch="///" if partial[i] else None,
                            edgecolor="0.3" if partial[i] else ANGLE_COLOUR[a], lw=0.4,
                            label=a if i == 0 else "_nolegend_")
            bar.set_gid(f"exc-{i}-{a}")
            lo, hi = r.get(f"{a}_excursion_min_deg"), r.get(f"{a}_excursion_max_deg")
            if _finite(lo) and _finite(hi):
                ax.vlines(x, lo, hi, color="0.15", lw=0.9).set_gid(f"range-{i}-{a}")
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_ylabel("excursion from the start\nposture (°): signed,\nline: each way")


def repetition_chart(task: dict[str, Any]) -> Figure:
    """Per repetition: the three excursions (top) and the exercise's own metric against its
    provisional band (bottom, coloured by side), partials hatched; each set's median of the
    own metric as a line over its repetitions, with its consistency and fatigue slope."""
    ex = task.get("exercise") or {}
    reps = ex.get("repetitions") or []
    sets = ex.get("sets") or []
    metric = _metric(ex)
    fig = Figure(figsize=(WIDTH_IN, 5.8), layout="constrained")
    ax_e, ax_m = fig.subplots(2, 1, sharex=True)
    partial = [bool(r.get("partial")) for r in reps]
    _excursion_bars(ax_e, reps, partial)
    values = [r.get(metric) if metric else None for r in reps]
    _band_spans(ax_m, ex, values, [])
    for i, (r, v) in enumerate(zip(reps, values, strict=True)):
        if not _finite(v):
            continue
        colour = SIDE_COLOUR.get(r.get("side"), NO_SIDE_COLOUR)
        (bar,) = ax_m.bar(i, v, 0.6, color=colour if not partial[i] else "none",
                          edgecolor=colour, hatch="///" if partial[i] else None, lw=1.0)
        bar.set_gid(f"metric-{i}")
    for s in sets:
        k = s["set_index"]
        idx = [i for i, r in enumerate(reps) if r.get("set_index") == k]
        med = (s.get("medians") or {}).get(metric)
        if not idx:
            continue
        if min(idx) > 0:
            for ax in (ax_e, ax_m):
                ax.axvline(min(idx) - 0.5, color="0.5", lw=0.8, ls="--")
        if _finite(med):
            (line,) = ax_m.plot([min(idx) - 0.4, max(idx) + 0.4], [med, med], color="0.15",
                                lw=1.6)
            line.set_gid(f"set-median-{k}")
        # above the bars, in the axes' top band: the set's median, SD and fatigue slope
        ax_m.text(min(idx) - 0.4, 0.97, f"set {k + 1}: median {_f(med)}°, SD "
                  f"{_f(s.get('consistency_sd_deg'))}°, fatigue "
                  f"{_f(s.get('fatigue_slope'), '+.2f')}°/rep.",
                  transform=ax_m.get_xaxis_transform(), va="top", fontsize=7,
                  bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    if not reps:
        _nothing(ax_e, "no repetitions found")
        _nothing(ax_m, "no repetitions found")
    elif not any(_finite(v) for v in values):
        _nothing(ax_m, f"no {metric_words(metric or 'own metric')} value")
    ax_m.set_xticks(range(len(reps)),
                    [f"{r['index'] + 1}\n{r.get('side') or '–'}" for r in reps], fontsize=7)
    ax_m.set_xlabel("repetition (and its side: L, R; – both legs)")
    ax_m.set_ylabel(f"{metric_words(metric or 'own metric')} (°)\n+ = the fault")
    handles, labels = ax_e.get_legend_handles_labels()
    if any(partial):
        handles.append(Patch(facecolor="white", edgecolor="0.3", hatch="///"))
        labels.append("partial (not scored)")
    ax_e.legend(handles, labels, fontsize=7, frameon=False, ncol=4, loc="upper right")
    sides = {r.get("side") for r in reps} & {"L", "R"}
    handles, labels = ax_m.get_legend_handles_labels()
    for side in sorted(sides):
        handles.append(Patch(color=SIDE_COLOUR[side]))
        labels.append(f"{SIDE_WORD[side]}")
    ax_m.legend(handles, labels, fontsize=7, frameon=False, ncol=5, loc="upper left",
                bbox_to_anchor=(0, -0.3))
    lo, hi = ax_m.get_ylim()
    ax_m.set_ylim(lo, hi + 0.25 * (hi - lo))  # room for the sets' line of text
    for ax in (ax_e, ax_m):
        _style(ax)
    ax_e.set_xlim(-0.7, max(len(reps), 1) - 0.3)
    fig.suptitle(f"{task['task']}: pelvic control per repetition (provisional bands)",
                 fontsize=11)
    return fig


def hold_chart(task: dict[str, Any]) -> Figure:
    """Per hold: the time held, and from when control was lost (top); the three
    excursions and the own metric against its provisional band (bottom)."""
    ex = task.get("exercise") or {}
    holds = ex.get("holds") or []
    metric = _metric(ex)
    fig = Figure(figsize=(WIDTH_IN, 5.4), layout="constrained")
    ax_t, ax_e = fig.subplots(2, 1)
    for i, h in enumerate(holds):
        held = h.get("hold_s")
        if not _finite(held):
            continue
        (bar,) = ax_t.barh(i, held, 0.5, color=palette.tint(palette.NORMAL, 0.6),
                           label="held, in control" if i == 0 else "_nolegend_")
        bar.set_gid(f"hold-{i}")
        lost = h.get("control_lost_after_s")
        text = f"held {held:.1f} s" + (" or more" if h.get("held_to_end") else "")
        if _finite(lost):
            (bad,) = ax_t.barh(i, held - lost, 0.5, left=lost,
                               color=palette.tint(palette.POOR, 0.6),
                               label="after control was lost" if i == 0 else "_nolegend_")
            bad.set_gid(f"lost-{i}")
            ax_t.plot([lost, lost], [i - 0.3, i + 0.3], color="0.15", lw=1.5)
            text += f"; control lost after {lost:.1f} s"
        ax_t.annotate(text, (held, i), xytext=(4, 0), textcoords="offset points", va="center",
                      fontsize=8)
    ax_t.set_yticks(range(len(holds)),
                    [f"hold {i + 1}\n(at {h['t_start_s']:.0f} s)" for i, h in enumerate(holds)],
                    fontsize=8)
    ax_t.invert_yaxis()
    ax_t.set_xlabel("time in the hold (s)")
    longest = max([h.get("hold_s") or 0.0 for h in holds] + [1.0])
    ax_t.set_xlim(0, longest * 1.6)
    if holds:
        ax_t.legend(fontsize=7, frameon=False, loc="lower right")
    w = 0.2
    values = [h.get(metric) if metric else None for h in holds]
    _band_spans(ax_e, ex, values, [h.get(f"{a}_excursion_deg") for h in holds for a in ANGLES])
    for i, h in enumerate(holds):
        for j, a in enumerate(ANGLES):
            v = h.get(f"{a}_excursion_deg")
            if _finite(v):
                (bar,) = ax_e.bar(i + (j - 1.5) * w, v, w, color=ANGLE_COLOUR[a],
                                  label=a if i == 0 else "_nolegend_")
                bar.set_gid(f"exc-{i}-{a}")
        if _finite(values[i]):
            (bar,) = ax_e.bar(i + 1.5 * w, values[i], w, color="white", edgecolor="0.1", lw=1.2,
                              label=metric_words(metric) if i == 0 else "_nolegend_")
            bar.set_gid(f"metric-{i}")
    ax_e.axhline(0, color="0.4", lw=0.8)
    ax_e.set_xticks(range(len(holds)), [f"hold {i + 1}" for i in range(len(holds))], fontsize=8)
    ax_e.set_ylabel("from the hold's start (°)")
    if holds:
        ax_e.legend(fontsize=7, frameon=False, ncol=3, loc="upper left")
    else:
        _nothing(ax_t, "no hold found")
        _nothing(ax_e, "no hold found")
    for ax in (ax_t, ax_e):
        _style(ax)
    fig.suptitle(f"{task['task']}: time held and pelvic control per hold (provisional bands)",
                 fontsize=11)
    return fig


def score_text(x: dict[str, Any]) -> str:
    """A set's or task's score as the report prints it: "82", "82 (74–90)" with its
    interval, "– (74–90)" when withheld for too wide an interval, "–" without one."""
    iv = x.get("score_interval")
    interval = (f" ({iv[0]:.0f}–{iv[1]:.0f})" if iv and all(_finite(v) for v in iv) else "")
    return _f(x.get("score"), ".0f") + interval


def _three(d: dict[str, Any], suffix: str = "_excursion_deg") -> str:
    return " / ".join(_f(d.get(f"{a}{suffix}")) for a in ANGLES)


def sets_table(task: dict[str, Any]) -> Table:
    """One row per set: counts, the own metric's median, the excursions' medians,
    left/right, consistency, fatigue, the score's items and the score."""
    ex = task.get("exercise") or {}
    metric = _metric(ex) or ""
    held = bool(ex.get("held"))
    rows = []
    for s in ex.get("sets") or []:
        med = s.get("medians") or {}
        items = s.get("items") or {}
        by = s.get("by_side") or {}
        if held:
            rows.append([str(s["set_index"] + 1), _f(s.get("hold_s")),
                         _f(med.get("control_lost_after_s")), _f(med.get(metric)),
                         _three(med), _f(s.get("fatigue_slope"), "+.2f"),
                         " / ".join(_f(items.get(k), ".0f") for k in ("control", "fatigue")),
                         score_text(s)])
            continue
        lr = (f"{_f(by.get('L'))} / {_f(by.get('R'))} ({_f(s.get('lr_difference_deg'), '+.1f')})"
              if by else "–")
        rows.append([str(s["set_index"] + 1), f"{s.get('n_repetitions', 0)} / "
                     f"{s.get('n_partial', 0)}", _f(med.get(metric)), _three(med), lr,
                     _f(s.get("consistency_sd_deg"), ".2f"), _f(s.get("fatigue_slope"), "+.2f"),
                     " / ".join(_f(items.get(k), ".0f")
                                for k in ("control", "consistency", "fatigue")),
                     score_text(s)])
    name = metric_words(metric)
    if held:
        cols = ["set", "hold (s)", "control lost after (s)", f"{name} (°)",
                "tilt / obliquity / rotation (°)", "fatigue (°/10 s)",
                "points: control / fatigue", "score (interval)"]
    else:
        cols = ["set", "repetitions: full / partial", f"{name}, median (°)",
                "tilt / obliquity / rotation, medians (°)", "left / right median (L − R) (°)",
                "consistency: SD (°)", "fatigue (°/repetition)",
                "points: control / consistency / fatigue", "score (interval)"]
    return Table(cols, rows, "Every set: the medians over its full repetitions (holds: the "
                 "hold's values), left and right (exercises that alternate sides), the "
                 f"consistency and the fatigue trend of the {name} (+ = getting worse), and "
                 "the 0-100 control score from them; all bands are provisional "
                 "(docs/exercises.md)", key=f"{task['task']}/sets")


def reasons_table(task: dict[str, Any]) -> Table:
    rows = [[str(s["set_index"] + 1), score_text(s),
             "; ".join(list(s.get("reasons") or []) + ([s["score_interval_reason"]] if s.get(
                 "score_interval_reason") else [])) or "–"]
            for s in (task.get("exercise") or {}).get("sets") or []]
    return Table(["set", "score", "how the score was made (each item, its band and source)"],
                 rows, "The control score of each set, item by item (provisional bands)",
                 key=f"{task['task']}/reasons")


def repetitions_table(task: dict[str, Any]) -> Table:
    ex = task.get("exercise") or {}
    own = list(ex.get("metrics") or {})
    vertical = ex.get("family") == "vertical"
    rows = []
    for r in ex.get("repetitions") or []:
        size = (_f(100 * r["depth_m"], ".1f") if vertical and _finite(r.get("depth_m"))
                else _f(r.get("peak_deg")))
        rows.append([str(r["index"] + 1), str(r["set_index"] + 1), r.get("side") or "–",
                     _f(r.get("t_start_s")),
                     f"{_f(r.get('up_s'))} / {_f(r.get('hold_s'))} / {_f(r.get('down_s'))}",
                     size, *(_f(r.get(f"{a}_excursion_deg")) for a in ANGLES),
                     *(_f(r.get(m)) for m in own), _f(r.get("sway_rms_dps")),
                     (r.get("why_partial") or "partial") if r.get("partial") else ""])
    return Table(["#", "set", "side", "start (s)", "up / hold / down (s)",
                  "depth (cm)" if vertical else "peak (°)",
                  *(f"{a} (°)" for a in ANGLES), *(f"{metric_words(m)} (°)" for m in own),
                  "sway (°/s RMS)", "partial: why"], rows,
                 "Every repetition: tempo, the three excursions from its start posture "
                 "(signed as docs/pelvic-angles.md), the exercise's own metrics (+ = the "
                 "fault); partials are listed and not scored", key=f"{task['task']}/repetitions")


def holds_table(task: dict[str, Any]) -> Table:
    ex = task.get("exercise") or {}
    own = list(ex.get("metrics") or {})
    rows = [[str(h["index"] + 1), _f(h.get("t_start_s")),
             _f(h.get("hold_s")) + (" or more" if h.get("held_to_end") else ""),
             _f(h.get("control_lost_after_s")), str(h.get("lost_by") or "–"),
             _f(h.get("drift_dps"), "+.2f"),
             " / ".join(_f(h.get(f"sway_{k}_half_dps"), ".2f") for k in ("first", "second")),
             *(_f(h.get(f"{a}_excursion_deg")) for a in ANGLES), *(_f(h.get(m)) for m in own)]
            for h in ex.get("holds") or []]
    return Table(["#", "start (s)", "held (s)", "control lost after (s)", "lost by",
                  "drift (°/s)", "sway 1st / 2nd half (°/s)", *(f"{a} (°)" for a in ANGLES),
                  *(f"{metric_words(m)} (°)" for m in own)], rows,
                 "Every hold: the time held, when control was lost and by what, the drift of "
                 "the control signal (+ = the fault growing), the sway in each half, the "
                 "excursions from the hold's start and the own metrics",
                 key=f"{task['task']}/holds")


def sides_table(task: dict[str, Any], other: dict[str, Any]) -> Table:
    """A one-sided exercise's left and right tasks side by side (their scores and their
    sets' medians of the own metric, as the analysis gives them)."""
    rows = []
    for t in sorted((task, other), key=lambda t: t.get("side") or ""):
        ex = t.get("exercise") or {}
        metric = _metric(ex)
        sets = ex.get("sets") or []
        rows.append([SIDE_WORD.get(t.get("side"), "?"), t["task"], score_text(t),
                     str(ex.get("n_repetitions", 0)) if not ex.get("held")
                     else _f(ex.get("hold_s")),
                     " / ".join(_f((s.get("medians") or {}).get(metric)) for s in sets) or "–",
                     " / ".join(_f(s.get("consistency_sd_deg"), ".2f") for s in sets) or "–"])
    ex = task.get("exercise") or {}
    return Table(["side", "task", "score", "longest hold (s)" if ex.get("held")
                  else "full repetitions", f"{metric_words(_metric(ex) or '')}, set medians (°)",
                  "consistency SD per set (°)"], rows,
                 f"Left and right: the {ex.get('exercise')} on each side (the side in the "
                 "task's name: docs/exercises.md)", key=f"{ex.get('exercise')}/sides")


def exercise_blocks(task: dict[str, Any], tasks: list[dict[str, Any]]) -> list:
    """The page of one exercise task (after its heading and score message); ``tasks``: the
    session's tasks, for the other side of a one-sided exercise."""
    ex = task.get("exercise") or {}
    name = task["task"]
    out: list = []
    posture, expected = ex.get("posture"), ex.get("expected_posture")
    text = f"Measured: {ex.get('measured') or 'relative to the start posture'}."
    if posture and expected and posture != expected:
        text += (f" The posture found at the start was {POSTURE_WORDS.get(posture, posture)}, "
                 f"the exercise's is {POSTURE_WORDS.get(expected, expected)}.")
    out.append(Para(text, "note"))
    out.append(Para("Every band and threshold of the exercises is provisional: no published "
                    "norm of pelvic motion in these exercises measured at the sacrum is known "
                    "(docs/exercises.md).", "note"))
    if ex.get("held"):
        out.append(Fig(f"{name}/holds", hold_chart(task),
                       "Time held and when control was lost (the control signal above 5° for "
                       "1 s, provisional); the excursions from the hold's start and the own "
                       "metric against its provisional band"))
        out.append(holds_table(task))
    else:
        out.append(Fig(f"{name}/repetitions", repetition_chart(task),
                       "Per repetition: the three excursions from its start posture (top) and "
                       "the exercise's own metric against its provisional band (bottom; "
                       "lines: each set's median); hatched: partial repetitions, not scored"))
    if ex.get("sets"):
        out.append(sets_table(task))
        out.append(reasons_table(task))
    if not ex.get("held") and ex.get("repetitions"):
        out.append(repetitions_table(task))
    adj = ex.get("adjustments") or []
    if adj:
        out.append(Para(f"Between sets: {len(adj)} adjustment{'s' if len(adj) > 1 else ''}, "
                        "not counted as repetitions ("
                        + "; ".join(f"{a['t_start_s']:.1f}–{a['t_end_s']:.1f} s: {a['reason']}"
                                    for a in adj) + ").", "note"))
    side = task.get("side")
    if side in ("L", "R"):
        mine = [t["task"] for t in tasks]
        other = next((t for t in tasks if t.get("kind") == "exercise" and t is not task
                      and (t.get("exercise") or {}).get("exercise") == ex.get("exercise")
                      and t.get("side") == {"L": "R", "R": "L"}[side]), None)
        if other is not None and mine.index(other["task"]) < mine.index(name):
            out.append(sides_table(task, other))  # on the second side's page
    return out  # the task's messages are in "What the analysis says"


# ---- progress across sessions -------------------------------------------------------------

def exercise_progress_points(sessions) -> dict[str, list[dict[str, Any]]]:
    """Per exercise task name, per session (date order) holding it: the date, the task's
    control score, full repetitions (or the longest hold) and each set's medians of the own
    metric and the three excursions (as the analysis gives them; nothing pooled here)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for s in sessions:
        for t in s.analysis["summary"]["tasks"]:
            if t.get("kind") != "exercise":
                continue
            ex = t.get("exercise") or {}
            metric = _metric(ex)
            sets = ex.get("sets") or []
            out.setdefault(t["task"], []).append({
                "date": s.date, "score": t.get("score"),
                "score_interval": t.get("score_interval"), "metric": metric,
                "held": bool(ex.get("held")), "n_repetitions": ex.get("n_repetitions"),
                "n_partial": ex.get("n_partial"), "hold_s": ex.get("hold_s"),
                "sets": [{"set": st["set_index"] + 1,
                          "metric": (st.get("medians") or {}).get(metric),
                          **{a: (st.get("medians") or {}).get(f"{a}_excursion_deg")
                             for a in ANGLES}} for st in sets]})
    return out


def progress_sentences(sessions) -> list[str]:
    """Per exercise done in two or more sessions, first to last: the control score and
    each set's median of the own metric ("single-leg-bridge-left from 2026-10-01 to
    2026-11-02 (2 sessions): score 82 → 88; unsupported drop (set medians) 4.9°, 6.5° →
    3.1°, 3.4°.")."""
    out = []
    for name, points in exercise_progress_points(sessions).items():
        if len(points) < 2:
            continue
        a, b = points[0], points[-1]
        scored = [p for p in (a, b) if _finite(p["score"]) or p.get("score_interval")]
        parts = [f"score {score_text(a)} → {score_text(b)}" if scored
                 else "no control score in either"]
        metric = b["metric"] or a["metric"]
        if metric:
            vals = [", ".join(f"{st['metric']:.1f}°" if _finite(st["metric"]) else "–"
                              for st in p["sets"]) or "–" for p in (a, b)]
            parts.append(f"{metric_words(metric)} (set medians) {vals[0]} → {vals[1]}")
        out.append(f"{name} from {a['date']} to {b['date']} ({len(points)} sessions): "
                   + "; ".join(parts) + ".")
    return out


def progress_chart(name: str, points: list[dict[str, Any]]) -> Figure:
    """One exercise's control score (top) and its sets' medians of the own metric and the
    three excursions (bottom) by session date."""
    from datetime import date as _date

    x = [_date.fromisoformat(p["date"]) for p in points]
    fig = Figure(figsize=(WIDTH_IN, 4.6), layout="constrained")
    ax_s, ax_m = fig.subplots(2, 1, sharex=True)
    sc = [p["score"] if _finite(p["score"]) else np.nan for p in points]
    (line,) = ax_s.plot(x, sc, "o-", color="0.2")
    line.set_gid(f"progress-{name}-score")
    for xi, v, p in zip(x, sc, points, strict=True):
        iv = p.get("score_interval")
        if iv and all(_finite(b) for b in iv):  # the interval, also of a withheld score
            ax_s.plot([xi, xi], iv, color="0.55", lw=3, alpha=0.6, solid_capstyle="butt")
        text = (f"{v:.0f}" if math.isfinite(v) else
                f"withheld ({iv[0]:.0f}–{iv[1]:.0f})" if iv else "no score")
        ax_s.annotate(text, (xi, v if math.isfinite(v) else (iv[1] if iv else 0)),
                      xytext=(0, 5), textcoords="offset points", ha="center", fontsize=8)
    ax_s.set_ylim(0, 105)
    ax_s.set_ylabel("control score\n(0–100)")
    metric = next((p["metric"] for p in points if p["metric"]), None)
    series = [("metric", metric_words(metric or "own metric"), "0.1", "s")] + [
        (a, f"{a} excursion", ANGLE_COLOUR[a], "o") for a in ANGLES]
    for key, label, colour, marker in series:
        xs = [xi for xi, p in zip(x, points, strict=True) for _ in p["sets"]]
        ys = [st[key] if _finite(st[key]) else np.nan for p in points for st in p["sets"]]
        if not xs:
            continue
        (ln,) = ax_m.plot(xs, ys, marker=marker, ls="-" if key == "metric" else ":",
                          color=colour, label=label, ms=5 if key == "metric" else 4)
        ln.set_gid(f"progress-{name}-{key}")
    if not ax_m.lines:
        _nothing(ax_m, "no set medians")
    ax_m.axhline(0, color="0.6", lw=0.6)
    ax_m.set_ylabel("set medians (°)")
    ax_m.legend(fontsize=7, frameon=False, ncol=4)
    for ax in (ax_s, ax_m):
        _style(ax)
    fig.autofmt_xdate()
    fig.suptitle(f"{name}: progress across sessions (one point per set)", fontsize=11)
    return fig


def progress_blocks(sessions) -> list:
    """The exercises' part of the progress section (two or more sessions)."""
    out: list = []
    for name, points in exercise_progress_points(sessions).items():
        out.append(Fig(f"progress/{name}", progress_chart(name, points),
                       f"{name}: the control score and each set's medians by session date "
                       "(provisional bands)"))
        held = points[-1]["held"]
        rows = [[p["date"], score_text(p),
                 _f(p["hold_s"]) if held else f"{p['n_repetitions']} / {p['n_partial']}",
                 *(" / ".join(_f(st[k]) for st in p["sets"]) or "–"
                   for k in ("metric", *ANGLES))] for p in points]
        metric = metric_words(next((p["metric"] for p in points if p["metric"]), "") or "")
        out.append(Table(["date", "score", "longest hold (s)" if held else
                          "repetitions: full / partial", f"{metric} (°)",
                          *(f"{a} (°)" for a in ANGLES)], rows,
                         f"{name} in every session: each set's medians (set 1 / set 2 / ...)",
                         key=f"progress/{name}"))
    return out
