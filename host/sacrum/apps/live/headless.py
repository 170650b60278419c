"""The live session without a display: run it through the same engine, write its figures
(PNG, matplotlib's Agg renderer: no Qt, no display) and return the summary in words.

``sacrum demo`` falls back to this when there is no display, so the README's main
command does something useful on any machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sacrum.apps import palette
from sacrum.apps.live.converge import used_in_summaries
from sacrum.apps.live.model import steps_used_words
from sacrum.apps.live.running import running_lines
from sacrum.apps.live.session import TASK_LABELS, LiveSession, LiveSnapshot
from sacrum.io.imucsv import MIN_DURATION_S
from sacrum.io.private_files import make_private_dir, open_private
from sacrum.scoring.score import Band, format_score

SIDE_COLOURS = palette.SIDE
TRACE_LABELS = ("tilt (°)\n+ anterior", "obliquity (°)\n+ left up", "rotation (°)\n+ right fwd")


@dataclass
class HeadlessResult:
    """figures: the PNGs written; lines: the summary, one fact a line; drawn: each PNG's
    figure by file name (what it shows, for a caller or a test to read)."""

    figures: list[Path]
    lines: list[str]
    drawn: dict[str, Figure]


def run_headless(session: LiveSession, out_dir: str | Path, *, athlete: bool = False,
                 cadence_target_spm: float | None = None) -> HeadlessResult:
    """Run ``session`` in this thread until its transport ends (a replay) or Ctrl-C, then
    write ``traces.png``, ``strides.png`` and ``drops.png`` into ``out_dir``. The summary
    has the running lines when running was found, or always in ``athlete`` mode (with the
    cadence against ``cadence_target_spm``), and the low-rate warning then."""
    try:
        session.run_sync()
    except KeyboardInterrupt:
        session.finish()
    snap = session.snapshot(session.history_s)
    span = float(snap.t_s[-1] - snap.t_s[0]) if len(snap.t_s) > 1 else 0.0
    if not span >= MIN_DURATION_S:  # a truncated capture, a link that never streamed
        raise ValueError(f"the session holds {span:.2f} s of samples ({len(snap.t_s)}); at "
                         f"least {MIN_DURATION_S:g} s is needed for its figures and summary")
    out = make_private_dir(out_dir)  # the figures show a person's walking: 0700, 0600
    ref = "" if _standing_calibrated(session, snap) else RELATIVE_NOTE
    drawn = {"traces.png": traces_figure(snap, ref), "strides.png": strides_figure(snap, ref),
             "drops.png": drops_figure(session, snap, ref)}
    figures = [_save(fig, out / name) for name, fig in drawn.items()]
    return HeadlessResult(figures, summary_lines(session, snap) + running_lines(
        snap.running, cadence_target_spm, always=athlete), drawn)


RELATIVE_NOTE = "\nangles relative to the walking mean: no standing calibration"


def _standing_calibrated(session: LiveSession, snap: LiveSnapshot) -> bool:
    """Whether the angles shown are zeroed on a standing calibration (else: relative)."""
    if snap.final and session.final_analysis is not None:
        return (session.final_analysis.get("calibration") or {}).get("reference") == "standing"
    scorer = session.scorer
    return scorer is not None and getattr(scorer.pipeline.calibration, "reference",
                                          None) == "standing"


def summary_lines(session: LiveSession, snap: LiveSnapshot) -> list[str]:
    """What the session found, in words (deg and steps/min at this edge)."""
    link = snap.link
    loss = link.loss
    dur = float(snap.t_s[-1] - snap.t_s[0]) if len(snap.t_s) > 1 else 0.0
    lines = [
        f"session:   {link.state} ({link.message}); {dur:.1f} s at {link.rate_hz:.0f} Hz "
        f"through the {link.kind or '?'} transport",
        f"loss:      {loss.samples_lost:,} of {loss.samples_expected:,} samples "
        f"({100 * loss.loss_fraction:.2f} %), {loss.gaps} gaps",
        f"steps:     {snap.steps_total} ({steps_used_words(snap, 'used in the summaries')})",
    ]
    scorer = session.scorer
    if scorer is None:
        return [*lines, "no samples: nothing to analyse"]
    if snap.final:  # the data ended: the offline analysis of the capture is the answer
        return [*lines, *_final_lines(session.final_analysis), *_task_lines(snap)]
    summ = scorer.session_summary()
    score = scorer.session_score()
    d = summ.contralateral_drop_deg
    lines += [
        f"cadence:   {_f(summ.cadence_spm, '.0f')} steps/min",
        f"drop:      left stance {_f(d.get('L'), '.1f')}°, right stance {_f(d.get('R'), '.1f')}° "
        "(median contralateral drop"
        + ("" if getattr(scorer.pipeline.calibration, "reference", None) == "standing"
           else "; relative angles: no standing calibration") + ")",
        "score:     " + (f"{format_score(score.score, score.interval)} of 100"
                           if score.score is not None else "none")
        + f" — {score.message}",
    ]
    for name, comp in score.components.items():
        lines.append(f"  {name:<12} {_f(comp.score_0_100, '.0f'):>4}  {comp.reason}")
    return lines + _task_lines(snap)


def _final_lines(doc: dict) -> list[str]:
    """The analysis document's summary in the headless summary's words."""
    s = doc["summary"]
    d = s.get("contralateral_drop_deg") or {}
    relative = (doc.get("calibration") or {}).get("reference") != "standing"
    lines = [
        f"cadence:   {_f(s.get('cadence_spm'), '.0f')} steps/min",
        f"drop:      left stance {_f(d.get('L'), '.1f')}°, right stance {_f(d.get('R'), '.1f')}° "
        "(median contralateral drop" + ("; relative angles: no standing calibration"
                                        if relative else "") + ")",
        "score:     " + (f"{format_score(s['score'], s.get('score_interval'))} of 100"
                         if s.get("score") is not None else "none")
        + f" — {s.get('score_message') or ''}",
    ]
    for name, comp in (s.get("components") or {}).items():
        lines.append(f"  {name:<12} {_f(comp.get('score'), '.0f'):>4}  {comp.get('reason', '')}")
    lines.append("final:     these are the offline analysis of the whole capture "
                 "(`sacrum analyze`); the live values converged on it when the data ended")
    return lines


def _task_lines(snap: LiveSnapshot) -> list[str]:
    lines = []
    thr = snap.threshold_deg
    lines.append(f"cues:      {len(snap.cues)} steps with a drop over the threshold "
                 f"(L {thr['L']:.1f}°, R {thr['R']:.1f}°)")
    for name, t0, t1 in snap.tasks:
        end = f"{t1:7.1f} s" if t1 is not None else " (open)"
        lines.append(f"task:      {TASK_LABELS.get(name, name):<22} {t0:7.1f} s → {end}")
    cal = snap.calibration
    auto = ("none" if not cal.calibrated
            else "the still period was sitting: zeroed on the mean walking posture"
            if cal.reference == "walking" else "automatic, from quiet standing")
    lines.append("calibration: " + (cal.message or auto))
    return lines


def _f(v: float | None, fmt: str) -> str:
    return "–" if v is None or not math.isfinite(v) else format(v, fmt)


def _nothing(ax, text: str = "no usable steps") -> None:
    """Say inside ``ax`` that there is nothing to draw (as the report's figures do)."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=12,
            color="0.35", gid="nothing")


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    with open_private(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    return path


def traces_figure(snap: LiveSnapshot, note: str = "") -> Figure:
    """The angles over the session with tasks, gaps, marks and ICs (``traces.png``)."""
    fig = Figure(figsize=(14, 8), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    deg = np.degrees(snap.angles_rad)
    for i, ax in enumerate(axes):
        ax.plot(snap.t_s, deg[:, i], color="k", lw=0.8)
        ax.set_ylabel(TRACE_LABELS[i])
        ax.grid(alpha=0.3)
        for name, t0, t1 in snap.tasks:
            ax.axvspan(t0, t1 if t1 is not None else snap.t_now_s, color=palette.TASK,
                       alpha=0.12)
            if i == 0:
                ax.text(t0, 1.0, TASK_LABELS.get(name, name), transform=ax.get_xaxis_transform(),
                        va="bottom", fontsize=8, color=palette.TASK)
        for a, b in snap.gaps:
            ax.axvspan(a, b, color=palette.EXCLUDED, alpha=0.4)
        for t, text in snap.marks:     # (not ``note``: that is the title's)
            ax.axvline(t, color=palette.NEUTRAL, ls="--", lw=1)
            if i == 2:
                ax.text(t, 0.02, text, transform=ax.get_xaxis_transform(), fontsize=8,
                        color=palette.NEUTRAL)
        ics = [(t, s) for t, k, s in snap.events if k == "IC"]
        for side, c in SIDE_COLOURS.items():
            ax.plot([t for t, s in ics if s == side],
                    np.interp([t for t, s in ics if s == side], snap.t_s, deg[:, i]),
                    "|", color=c, ms=8, label=f"IC {side}" if i == 0 else None)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("time (s); green: task segments, grey: lost data, ticks: initial "
                        "contacts" + ("; the final analysis' angles and steps" if snap.final
                                      else ""))
    fig.suptitle("pelvic angles over the session" + note)
    return fig


def strides_figure(snap: LiveSnapshot, note: str = "") -> Figure:
    """Obliquity and tilt over the gait cycle, per stride and each side's mean
    (``strides.png``)."""
    fig = Figure(figsize=(10, 7), layout="constrained")
    ax_o, ax_t = fig.subplots(2, 1, sharex=True)
    pct = np.linspace(0, 100, 101)
    nmax = max(snap.threshold_deg.values())
    ax_o.axhspan(-nmax, nmax, color=palette.NORMAL, alpha=0.15, label=f"drop ≤ {nmax:.0f}°")
    for c in snap.curves:
        style = "-" if c.used else ":"
        ax_o.plot(pct, np.degrees(c.obliquity_rad), style, color=SIDE_COLOURS[c.side], lw=0.7,
                  alpha=0.6)
        ax_t.plot(pct, np.degrees(c.tilt_rad), style, color=SIDE_COLOURS[c.side], lw=0.7,
                  alpha=0.6)
    for side, col in SIDE_COLOURS.items():
        mine = [c for c in snap.curves if c.side == side and c.used]
        if mine:
            ax_o.plot(pct, np.degrees(np.mean([c.obliquity_rad for c in mine], 0)), color=col,
                      lw=3, label=f"{side} stance mean ({len(mine)} strides)")
            ax_t.plot(pct, np.degrees(np.mean([c.tilt_rad for c in mine], 0)), color=col, lw=3)
    if not snap.curves:
        for ax in (ax_o, ax_t):
            _nothing(ax, "no strides")
    ax_o.set_ylabel("obliquity (°), + left up")
    ax_t.set_ylabel("tilt (°), + anterior")
    ax_t.set_xlabel("% of the gait cycle from the initial contact" + (
        " (the final analysis' used strides, as the report's gait-cycle figure)" if snap.final
        else " (dotted: excluded strides)"))
    ax_o.legend(fontsize=8)
    for ax in (ax_o, ax_t):
        ax.grid(alpha=0.3)
    fig.suptitle("strides normalised to the gait cycle" + note)
    return fig


def drops_figure(session: LiveSession, snap: LiveSnapshot, note: str = "") -> Figure:
    """Each step's contralateral drop over time (used and excluded, per stance side) and
    the session's median per side, as ``drops.png`` shows them."""
    from sacrum.apps.live.bars import drop_bands

    bands: dict[str, Band] = drop_bands()
    fig = Figure(figsize=(12, 5), layout="constrained")
    ax, axb = fig.subplots(1, 2, width_ratios=(3, 1))
    steps = session.scorer.steps if session.scorer is not None else []
    nmax = bands["L"].normal_max or 7.0
    pmax = bands["L"].poor_max or 12.0
    for a in (ax, axb):
        a.axhspan(-2, nmax, color=palette.NORMAL, alpha=0.15)
        a.axhspan(nmax, pmax, color=palette.CAUTION, alpha=0.15)
        a.axhline(max(snap.threshold_deg.values()), color=palette.NEUTRAL, ls="--", lw=1)
    # (t_ic_s, drop_deg, side, excluded) per step: the final analysis' once the data ended
    # (the bars beside are its medians), else the live scorer's. In a capture with tasks a
    # step outside every task is in no summary: not "used", as the summary's count says
    if snap.final:
        final_steps = session.final_analysis["steps"]
        rows = [(d["t_ic"], d["contralateral_drop_deg"], d["stance_side"],
                 None if u else d["excluded"] or "outside every task")
                for d, u in zip(final_steps, used_in_summaries(final_steps), strict=True)]
    else:
        rows = [(s.t_ic_s, s.contralateral_drop_deg, s.stance_side, s.excluded) for s in steps]
    rows = [(t, math.nan if d is None else d, sd, ex) for t, d, sd, ex in rows]
    for side, col in SIDE_COLOURS.items():
        used = [r for r in rows if r[2] == side and r[3] is None]
        excl = [r for r in rows if r[2] == side and r[3] is not None]
        ax.plot([r[0] for r in used], [r[1] for r in used], "o",
                color=col, label=f"{side} stance, used ({len(used)})")
        ax.plot([r[0] for r in excl], [r[1] for r in excl], "x",
                color=col, alpha=0.4, label=f"{side} stance, excluded ({len(excl)})")
    ax.set_xlabel("time of the initial contact (s)")
    ax.set_ylabel("contralateral drop (°), + swing side down")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    d = (snap.drop_deg if snap.final  # the final analysis' medians, as the window shows
         else session.scorer.session_summary().contralateral_drop_deg if session.scorer
         else {"L": math.nan, "R": math.nan})
    vals = [d.get("L", math.nan), d.get("R", math.nan)]
    axb.bar([0, 1], np.nan_to_num(vals), color=list(SIDE_COLOURS.values()))
    axb.set_xticks([0, 1], ["L stance", "R stance"])
    for k, v in enumerate(vals):
        axb.text(k, max(np.nan_to_num(v), 0) + 0.3, _f(v, ".1f") + "°", ha="center")
    if not steps:
        _nothing(ax, "no steps")
    if not any(math.isfinite(v) for v in vals):
        n_used = {s: sum(r[2] == s and r[3] is None for r in rows) for s in "LR"}
        _nothing(axb, f"too few steps\nfor a median\n({n_used['L']} L, {n_used['R']} R used)"
                 if any(n_used.values()) else "no usable steps")
    axb.set_title("session median")
    fig.suptitle("contralateral pelvic drop per step (band: bands.toml; dashed: cue threshold)"
                 + note)
    return fig
