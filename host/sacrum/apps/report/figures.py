"""The report's figures, drawn with matplotlib from an analysis document (degrees, seconds).

Every function takes the analysis' own numbers (a task object of ``summary.tasks`` or the
``steps`` list, docs/analysis-json.md) and returns a :class:`matplotlib.figure.Figure`
(no pyplot: no global state, safe in threads). Nothing is recomputed but a straight-line
trend of the stride-by-stride drop, which is drawn and named as such. Bars and lines carry
a ``gid`` ("drop-L", "curve-R-obliquity", ...) so tests can find them and check that they
hold the analysis' numbers. A figure with nothing to draw (a task without usable steps, a
short or truncated recording) says so inside the figure, as text with the gid "nothing",
instead of showing empty axes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from sacrum.apps import palette
from sacrum.apps.report.norms import curve_envelopes, drop_band
from sacrum.apps.report.summary import deg

#: Left and right: the one palette of the live view, the demo and the report
#: (sacrum.apps.palette, Okabe-Ito); they are always labelled too.
SIDE_COLOUR = palette.SIDE
SIDE_WORD = {"L": "left", "R": "right"}
BAND_COLOUR = palette.tint(palette.NORMAL, 0.45)
POOR_COLOUR = palette.tint(palette.POOR, 0.45)
#: A4 width (in): figures fill the printed page's width.
WIDTH_IN = 8.27


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


#: What a figure without data says (its text carries the gid "nothing").
NO_STEPS = "no usable steps"


def _nothing(ax, text: str = NO_STEPS) -> None:
    """Say inside ``ax`` that there is nothing to draw (the figure stays, empty axes do not)."""
    t = ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
                fontsize=11, color="0.35")
    t.set_gid("nothing")


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="0.9", lw=0.6)
    ax.set_axisbelow(True)


def drop_bars(task: dict[str, Any], provisional: bool = False) -> Figure:
    """Median contralateral drop per stance side (bars, ± the within-side SD) over the
    drop band of the analysis' bands (green: normal; red: beyond the 0-point limit);
    ``provisional``: the band's legend says so (running's bands)."""
    drop = task.get("contralateral_drop_deg") or {}
    sd = task.get("contralateral_drop_sd_deg") or {}
    n = task.get("n_steps_by_side") or {}
    fig = Figure(figsize=(WIDTH_IN * 0.55, 3.2), layout="constrained")
    ax = fig.add_subplot()
    normal_min, normal_max, poor_max = drop_band(task)
    values = [drop.get(s) for s in "LR"]
    top = max([abs(v) for v in values if _finite(v)] + [normal_max or 7.0]) * 1.25 + 1.0
    if normal_max is not None:
        ax.axhspan(normal_min if normal_min is not None else min(0.0, -top), normal_max,
                   color=BAND_COLOUR, alpha=0.35, lw=0,
                   label=f"usual range (≤ {normal_max:g}°{', provisional' if provisional else ''})")
    if poor_max is not None:
        ax.axhspan(poor_max, max(top, poor_max + 1), color=POOR_COLOUR, alpha=0.35, lw=0,
                   label=f"0 points (≥ {poor_max:g}°)")
        top = max(top, poor_max + 1)
    for i, s in enumerate("LR"):
        v = drop.get(s)
        if not _finite(v):
            ax.text(i, 0.5, "no value", ha="center", va="bottom", color="0.3")
            continue
        err = sd.get(s) if _finite(sd.get(s)) else None
        (bar,) = ax.bar(i, v, width=0.55, color=SIDE_COLOUR[s], yerr=err, capsize=6,
                        ecolor="0.25")
        bar.set_gid(f"drop-{s}")
        ax.annotate(deg(v), (i, v + (err or 0.0)), xytext=(0, 4),
                    textcoords="offset points", ha="center", fontsize=10, weight="bold")
    ax.set_xticks([0, 1], [f"{SIDE_WORD[s]} stance\n({n.get(s, 0)} steps)" for s in "LR"])
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylim(min([-1.0] + [v - 1 for v in values if _finite(v)]), top)
    if not any(_finite(v) for v in values):
        # used steps but no median: fewer on each side than the metrics stage's minimum
        _nothing(ax, f"too few steps for a drop ({n.get('L') or 0} left, {n.get('R') or 0} right)"
                 if any(n.get(s) for s in "LR") else NO_STEPS)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_ylabel("contralateral drop (°)\n+ = swing side down")
    ax.set_title(f"{task['task']}: pelvic drop by stance side", fontsize=11)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _style(ax)
    return fig


_CURVE_SIGN = {"L": {"tilt": 1, "obliquity": 1, "rotation": -1},
               "R": {"tilt": 1, "obliquity": -1, "rotation": 1}}
_CURVE_LABEL = {"obliquity": "obliquity (°)\n+ = that side up",
                "tilt": "tilt (°)\n+ = anterior",
                "rotation": "rotation (°)\n+ = that side forward"}


def curves(task: dict[str, Any]) -> Figure:
    """Gait-cycle-normalised obliquity, tilt and rotation, mean ± SD of the strides from
    each side's initial contact, in the per-side form of clinical gait reports
    (docs/pelvic-angles.md, "Per side": up and forward positive for that side, so the two
    sides overlay in symmetric gait), over the reference envelope (report/norms.py)."""
    cv = task.get("curves") or {}
    pct = np.asarray(cv.get("pct") or np.linspace(0, 100, 101), float)
    env = curve_envelopes(task)
    fig = Figure(figsize=(WIDTH_IN, 6.4), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    for ax, name in zip(axes, ("obliquity", "tilt", "rotation"), strict=True):
        means: list[float] = []
        for s in "LR":
            c = (cv.get(s) or {}).get(f"{name}_deg") or {}
            if not c.get("mean") or not (cv.get(s) or {}).get("n"):
                continue
            sign = _CURVE_SIGN[s][name]
            m = sign * np.asarray([np.nan if v is None else v for v in c["mean"]], float)
            sd = np.asarray([np.nan if v is None else v for v in c["sd"]], float)
            (line,) = ax.plot(pct, m, color=SIDE_COLOUR[s], lw=1.8,
                              label=f"{SIDE_WORD[s]} ({cv[s]['n']} strides)")
            line.set_gid(f"curve-{s}-{name}")
            ax.fill_between(pct, m - sd, m + sd, color=SIDE_COLOUR[s], alpha=0.18, lw=0)
            if np.isfinite(m).any():
                means.append(float(np.nanmean(m)))
        if not ax.lines:
            _nothing(ax, f"{NO_STEPS}: no {name} curve")
        e = env[name]
        centre = float(np.mean(means)) if (e.centre == "mean" and means) else 0.0
        band = ax.axhspan(centre - e.half_width_deg, centre + e.half_width_deg,
                          color=BAND_COLOUR, alpha=0.25, lw=0, label=f"reference: {e.source}")
        band.set_gid(f"band-{name}")
        ax.set_ylabel(_CURVE_LABEL[name], fontsize=9)
        ax.axhline(0, color="0.6", lw=0.6)
        ax.legend(loc="upper right", fontsize=7, frameon=False, ncol=3)
        _style(ax)
    axes[-1].set_xlabel("% of the gait cycle (0 = initial contact of that side)")
    axes[-1].set_xlim(0, 100)
    fig.suptitle(f"{task['task']}: pelvic angles over the gait cycle (mean ± SD)",
                 fontsize=11)
    return fig


def trend_deg_per_min(t_s: np.ndarray, drop_deg: np.ndarray) -> tuple[float, float, float]:
    """Least-squares slope of the drop over time and its 90 % interval (deg/min; the
    Student-t interval of the slope, steps taken as independent); NaNs with fewer than 5
    steps or under 20 s: a trend over less is noise, not fatigue. A slope over half a
    minute of walking is uncertain, and an interval that holds 0 says no trend was seen."""
    from scipy.stats import t as student_t

    ok = np.isfinite(t_s) & np.isfinite(drop_deg)
    x, y = t_s[ok], drop_deg[ok]
    if ok.sum() < 5 or np.ptp(x) < 20.0:
        return math.nan, math.nan, math.nan
    slope, icpt = np.polyfit(x, y, 1)
    resid = y - (slope * x + icpt)
    se = math.sqrt(float(resid @ resid) / (len(x) - 2) / float(((x - x.mean()) ** 2).sum()))
    half = float(student_t.ppf(0.95, len(x) - 2)) * se
    return float(slope * 60.0), float((slope - half) * 60.0), float((slope + half) * 60.0)


def trend_label(side_word: str, slope: float, lo: float, hi: float) -> str:
    """The legend of a side's trend line: the slope with its interval, and "no clear trend"
    when the interval holds 0."""
    lo, hi = round(lo, 1) + 0.0, round(hi, 1) + 0.0     # decided as shown; no "-0.0"
    clear = "" if lo > 0 or hi < 0 else ": no clear trend"
    return f"{side_word} trend {slope:+.1f}°/min (90 %: {lo:+.1f} to {hi:+.1f}{clear})"


def drop_scatter(strides: list[dict[str, Any]], task: dict[str, Any]) -> Figure:
    """Stride-by-stride contralateral drop over the recording's time: used steps filled,
    excluded steps hollow (in no summary), with each side's least-squares trend over its
    used steps (a fatigue shows as a slope)."""
    mine = [s for s in strides if s.get("task") == task["task"]]
    _, normal_max, _ = drop_band(task)
    fig = Figure(figsize=(WIDTH_IN, 3.2), layout="constrained")
    ax = fig.add_subplot()
    if normal_max is not None:
        ax.axhline(normal_max, color=palette.NORMAL, lw=1, ls="--",
                   label=f"usual range edge ({normal_max:g}°)")
    for s in "LR":
        side = [x for x in mine if x["stance_side"] == s and _finite(x["contralateral_drop_deg"])]
        used = [x for x in side if x["excluded"] is None]
        excl = [x for x in side if x["excluded"] is not None]
        t = np.asarray([x["t_ic"] for x in used], float)
        d = np.asarray([x["contralateral_drop_deg"] for x in used], float)
        pts = ax.scatter(t, d, s=22, color=SIDE_COLOUR[s],
                         label=f"{SIDE_WORD[s]} stance, used ({len(used)})")
        pts.set_gid(f"scatter-{s}-used")
        if excl:
            ax.scatter([x["t_ic"] for x in excl], [x["contralateral_drop_deg"] for x in excl],
                       s=22, facecolors="none", edgecolors=SIDE_COLOUR[s], alpha=0.6,
                       label=f"{SIDE_WORD[s]} stance, excluded ({len(excl)})")
        slope, lo, hi = trend_deg_per_min(t, d)
        if math.isfinite(slope):
            fit = np.polyfit(t, d, 1)
            tt = np.array([t.min(), t.max()])
            (line,) = ax.plot(tt, np.polyval(fit, tt), color=SIDE_COLOUR[s], lw=1.2, ls=":",
                              label=trend_label(SIDE_WORD[s], slope, lo, hi))
            line.set_gid(f"trend-{s}")
    if not any(_finite(x.get("contralateral_drop_deg")) for x in mine):
        _nothing(ax)
    else:
        # steps with no drop (e.g. across a gap) are in the counts elsewhere: say so here, or
        # the legend's "excluded (n)" disagrees with the report's own step counts
        blank: dict[str, int] = {}
        for x in mine:
            if not _finite(x.get("contralateral_drop_deg")):
                why = x.get("excluded") or "used"
                blank[why] = blank.get(why, 0) + 1
        if blank:
            n = sum(blank.values())
            ax.text(0.99, 0.03, f"not drawn: {n} step{'s' if n > 1 else ''} without a drop ("
                    + ", ".join(f"{v} {k}" for k, v in sorted(blank.items())) + ")",
                    transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="0.35")
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel("time in the recording (s)")
    ax.set_ylabel("contralateral drop (°)")
    ax.set_title(f"{task['task']}: drop of every step over time", fontsize=11)
    ax.legend(fontsize=7, frameon=False, ncol=3, loc="upper left", bbox_to_anchor=(0, -0.22))
    _style(ax)
    return fig


def repetition_bars(task: dict[str, Any]) -> Figure:
    """Per repetition (step-down/up) the peak contralateral drop, with the median the score
    reads and the drop band; or per trial (single-leg stance) the mean drop over the hold."""
    _, normal_max, poor_max = drop_band(task)
    if task["kind"] == "repetitions":
        rows = task["repetitions"]["repetitions"]
        values = [r.get("peak_drop_deg") for r in rows]
        labels = [f"#{r['index'] + 1}\n{r['t_start_s']:.0f} s" for r in rows]
        median = task["repetitions"].get("peak_drop_deg")
        what = "peak drop per repetition"
    else:
        rows = task["single_leg_stance"]["trials"]
        values = [r.get("drop_mean_deg") for r in rows]
        labels = [f"trial {i + 1}\n{r['t_start_s']:.0f} s" for i, r in enumerate(rows)]
        median = task["single_leg_stance"].get("drop_mean_deg")
        what = "mean drop over the stable hold, per trial"
    side = task.get("side") or "L"
    fig = Figure(figsize=(WIDTH_IN * 0.7, 3.0), layout="constrained")
    ax = fig.add_subplot()
    if normal_max is not None:
        ax.axhspan(min([0.0] + [v for v in values if _finite(v)]) - 1, normal_max,
                   color=BAND_COLOUR, alpha=0.35, lw=0, label=f"usual range (≤ {normal_max:g}°)")
    if poor_max is not None:
        ax.axhline(poor_max, color=palette.POOR, lw=1, ls="--", label=f"0 points ({poor_max:g}°)")
    for i, v in enumerate(values):
        if _finite(v):
            (bar,) = ax.bar(i, v, width=0.6, color=SIDE_COLOUR[side])
            bar.set_gid(f"rep-{i}")
            ax.annotate(deg(v), (i, v), xytext=(0, 3), textcoords="offset points",
                        ha="center", fontsize=8)
    if _finite(median):
        ax.axhline(median, color="0.2", lw=1.2, label=f"scored value {median:.1f}°")
    if not any(_finite(v) for v in values):
        _nothing(ax, "no repetitions found" if task["kind"] == "repetitions"
                 else "no stable hold found")
    ax.set_xticks(range(len(values)), labels, fontsize=8)
    ax.set_ylabel("contralateral drop (°)")
    ax.set_title(f"{task['task']}: {what}", fontsize=11)
    if ax.get_legend_handles_labels()[0]:  # a task without bands or values has none
        ax.legend(fontsize=7, frameon=False)
    _style(ax)
    return fig


def progress(points: list[dict[str, Any]]) -> Figure:
    """Score and drop per stance side over the sessions' dates. ``points``: one dict per
    session, in date order: ``date`` (ISO), ``score``, ``drop_L``, ``drop_R`` (deg),
    ``normal_max`` (deg, the drop band)."""
    from datetime import date as _date

    x = [_date.fromisoformat(p["date"]) for p in points]
    fig = Figure(figsize=(WIDTH_IN, 4.6), layout="constrained")
    ax_s, ax_d = fig.subplots(2, 1, sharex=True)
    sc = [p["score"] if _finite(p["score"]) else np.nan for p in points]
    (line,) = ax_s.plot(x, sc, "o-", color="0.2")
    line.set_gid("progress-score")
    for xi, v in zip(x, sc, strict=True):
        ax_s.annotate("no score" if not math.isfinite(v) else f"{v:.0f}", (xi, 0 if not
                      math.isfinite(v) else v), xytext=(0, 5), textcoords="offset points",
                      ha="center", fontsize=8)
    ax_s.set_ylim(0, 105)
    ax_s.set_ylabel("pelvic control\nscore (0–100)")
    normal_max = next((p["normal_max"] for p in points if _finite(p.get("normal_max"))), None)
    if normal_max is not None:
        ax_d.axhspan(0, normal_max, color=BAND_COLOUR, alpha=0.3, lw=0,
                     label=f"usual range (≤ {normal_max:g}°)")
    for s in "LR":
        v = [p[f"drop_{s}"] if _finite(p[f"drop_{s}"]) else np.nan for p in points]
        (line,) = ax_d.plot(x, v, "o-", color=SIDE_COLOUR[s], label=f"{SIDE_WORD[s]} stance")
        line.set_gid(f"progress-drop-{s}")
    if not any(_finite(p[f"drop_{s}"]) for p in points for s in "LR"):
        _nothing(ax_d, "no drop in any session (no walking or running task)")
    ax_d.set_ylabel("contralateral\ndrop (°)")
    ax_d.legend(fontsize=8, frameon=False, ncol=3)
    for ax in (ax_s, ax_d):
        _style(ax)
    fig.autofmt_xdate()
    fig.suptitle("Progress across sessions", fontsize=11)
    return fig
