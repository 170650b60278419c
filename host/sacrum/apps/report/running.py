"""The report's page for a run task (``kind`` "run", docs/running.md).

Everything shown is the analysis document's (docs/analysis-json.md, "The running fields"
and ``running_steps``): contralateral drop per stance side, rotation, tilt and obliquity
ranges, vertical oscillation, contact and flight time, braking, cadence, step-time and
contact-time symmetry, variability, the running score with its components and their
bands (each with its source; the drop band from a running norm, the others provisional),
and a per-step chart. SI in the document; the units people read here:
ms for contact and flight, cm for the oscillation, degrees for angles. Nothing recomputed.

Figures as report/figures.py: points carry a ``gid`` ("run-drop-L", "run-contact-R",
"run-vo-L", ...), and a figure with nothing to draw says so inside it.
"""

from __future__ import annotations

import math
from typing import Any

from matplotlib.figure import Figure

from sacrum.apps import palette
from sacrum.apps.report.content import Fig, Para, Table, _f, angles_note
from sacrum.apps.report.figures import SIDE_COLOUR, SIDE_WORD, WIDTH_IN, _nothing, _style
from sacrum.apps.report.figures import drop_bars as _drop_bars
from sacrum.apps.report.norms import drop_band

#: Display units of the running fields (the document's are SI): (scale, unit, format).
MS = (1000.0, "ms", ".0f")
CM = (100.0, "cm", ".1f")


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _scaled(x: Any, unit: tuple[float, str, str]) -> str:
    return _f(x * unit[0] if _finite(x) else None, unit[2])


def drop_band_provisional(task: dict[str, Any]) -> bool:
    """Whether the task's drop band is provisional: its items' source says so (the running
    bands' drop band is read from a running norm; the others are provisional)."""
    items = [it for c in (task.get("components") or {}).values() for it in c.get("items") or []
             if str(it.get("metric", "")).startswith("contralateral_drop_deg")]
    return any(str(it.get("source", "")).startswith("provisional") for it in items)


def steps_chart(running_steps: list[dict[str, Any]], task: dict[str, Any]) -> Figure:
    """Every running step of the task over time, per stance side: the contralateral drop
    (top, against the drop band's edge), contact and flight time (middle, ms), vertical
    oscillation (bottom, cm); used steps filled, excluded ones hollow."""
    mine = [s for s in running_steps if s.get("task") == task["task"]]
    fig = Figure(figsize=(WIDTH_IN, 6.6), layout="constrained")
    ax_d, ax_c, ax_v = fig.subplots(3, 1, sharex=True)
    _, normal_max, _ = drop_band(task)
    if normal_max is not None:
        ax_d.axhline(normal_max, color=palette.NORMAL, lw=1, ls="--",
                     label=f"usual range edge ({normal_max:g}°"
                           f"{', provisional' if drop_band_provisional(task) else ''})")
    panels = ((ax_d, "contralateral_drop_deg", 1.0, "drop", "o"),
              (ax_c, "contact_time_s", 1000.0, "contact", "o"),
              (ax_c, "flight_time_s", 1000.0, "flight", "^"),
              (ax_v, "vertical_oscillation_m", 100.0, "vo", "o"))
    for ax, key, scale, what, marker in panels:
        for s in "LR":
            side = [x for x in mine if x.get("stance_side") == s and _finite(x.get(key))]
            used = [x for x in side if x.get("excluded") is None]
            excl = [x for x in side if x.get("excluded") is not None]
            pts = ax.scatter([x["t_ic"] for x in used], [scale * x[key] for x in used], s=16,
                             marker=marker, color=SIDE_COLOUR[s],
                             label=(f"{SIDE_WORD[s]} stance ({len(used)} used)"
                                    if what != "flight" else "_nolegend_"))
            pts.set_gid(f"run-{what}-{s}")
            if excl:
                ax.scatter([x["t_ic"] for x in excl], [scale * x[key] for x in excl], s=16,
                           marker=marker, facecolors="none", edgecolors=SIDE_COLOUR[s],
                           alpha=0.6, label=(f"{SIDE_WORD[s]}, excluded ({len(excl)})"
                                             if what != "flight" else "_nolegend_"))
    for ax in (ax_d, ax_c, ax_v):
        if not any(len(c.get_offsets()) for c in ax.collections):
            _nothing(ax, "no running steps")
        else:
            ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        _style(ax)
    ax_d.axhline(0, color="0.6", lw=0.6)
    ax_d.set_ylabel("contralateral\ndrop (°)")
    ax_c.set_ylabel("contact (o) and\nflight (^) time (ms)")
    ax_v.set_ylabel("vertical\noscillation (cm)")
    ax_v.set_xlabel("time in the recording (s)")
    fig.suptitle(f"{task['task']}: every running step", fontsize=11)
    return fig


def metrics_table(task: dict[str, Any]) -> Table:
    """The running values per stance side and over both (medians of the used steps)."""
    def lra(key: str, unit=None) -> list[str]:
        d = task.get(key) or {}
        if unit is None:
            return [_f(d.get("L")), _f(d.get("R")), _f(d.get("all"))]
        return [_scaled(d.get(k), unit) for k in ("L", "R", "all")]

    drop, sd = task.get("contralateral_drop_deg") or {}, task.get("contralateral_drop_sd_deg") or {}
    rom, si = task.get("rom_deg") or {}, task.get("symmetry_index") or {}
    var, diff = task.get("variability") or {}, task.get("side_difference_deg") or {}
    rows = [["contralateral drop (°), median ± SD",
             *(f"{_f(drop.get(s))} ± {_f(sd.get(s))}" for s in "LR"), ""],
            ["contact time (ms)", *lra("contact_time_s", MS)],
            ["flight time (ms)", *lra("flight_time_s", MS)],
            ["step time (ms)", *lra("step_time_s", MS)],
            ["vertical oscillation (cm)", *lra("vertical_oscillation_m", CM)],
            ["braking, peak deceleration (m/s²)", *lra("braking_mps2")],
            ["cadence (steps/min)", "", "", _f(task.get("cadence_spm"))],
            ["obliquity / tilt / rotation range (°)", "", "",
             " / ".join(_f(rom.get(k)) for k in ("obliquity", "tilt", "rotation"))],
            ["mean tilt (°, + = anterior)", "", "", _f(task.get("mean_tilt_deg"))],
            ["symmetry index: step time / contact time (%)", "", "",
             f"{_f(si.get('step_time'))} / {_f(si.get('contact_time'))}"],
            ["drop, left-right difference (°)", "", "", _f(diff.get("drop"))],
            ["variability: step time / contact time CV (%), drop SD (°)", "", "",
             f"{_f(var.get('step_time_cv_pct'))} / {_f(var.get('contact_time_cv_pct'))}, "
             f"{_f(var.get('drop_sd_deg'))}"]]
    note = angles_note(task)
    return Table(["", "left stance", "right stance", "all"], rows,
                 "Running, medians of the used running steps per stance side (ranges: "
                 "5th-95th percentile span per stride; rotation without the heading's change; "
                 "symmetry: Robinson et al. 1987). Oscillation, contact, flight, braking and "
                 "cadence are reported, not scored (docs/running.md)." + note,
                 key=f"{task['task']}/running")


def bands_table(task: dict[str, Any]) -> Table:
    """Every item of the running score: its value, its band, its points and the band's
    source (each says provisional: docs/running.md)."""
    rows = []
    for comp, c in (task.get("components") or {}).items():
        for it in c.get("items") or []:
            band = it.get("band") or {}
            unit = "°" if it.get("unit") == "deg" else f" {it.get('unit')}".rstrip()
            rows.append([comp, str(it.get("label", it.get("name", ""))),
                         _f(it.get("value"), ".1f", unit),
                         _f(band.get("normal_max"), "g", unit), _f(band.get("poor_max"), "g", unit),
                         _f(it.get("score"), ".0f"), str(it.get("source", ""))])
    return Table(["component", "item", "value", "100 points up to", "0 points at", "points",
                  "source of the band"], rows,
                 "The running score's items and bands, each with its source: the drop band "
                 "is read from a running norm (healthy runners' drop, Bramah et al. 2018); "
                 "the others are provisional (the walking bands: no running norm was found)",
                 key=f"{task['task']}/bands")


def bouts_table(task: dict[str, Any]) -> Table | None:
    rows = [[str(b["index"]), _f(b.get("t_start_s")), _f(b.get("t_end_s")), str(b["n_steps"]),
             _f(b.get("cadence_spm"), ".0f")] for b in task.get("running_bouts") or []]
    if not rows:
        return None
    return Table(["bout", "start (s)", "end (s)", "steps", "steps/min over the bout"], rows,
                 "The running bouts of the task (a flight phase before each contact): steps "
                 "per minute over each bout's whole span, all its steps; the task's cadence "
                 "above is 60 / the median step time of the used steps",
                 key=f"{task['task']}/bouts")


def running_blocks(task: dict[str, Any], running_steps: list[dict[str, Any]]) -> list:
    """The page of one run task (after its heading, score message and components)."""
    name = task["task"]
    out: list = []
    if not task.get("rate_ok", True):
        out.append(Para(f"{name}: {task.get('rate_message')}: contact and flight times, "
                        "oscillation and braking are less certain (docs/running.md).", "p"))
    out.append(bands_table(task))
    provisional = drop_band_provisional(task)
    out.append(Fig(f"{name}/drop", _drop_bars(task, provisional=provisional),
                   "Running: contralateral pelvic drop over the contact (median of the used "
                   "running steps, ± SD) per stance side, against the "
                   + ("provisional drop band" if provisional else
                      "running drop band (healthy runners' mean + 1 SD, Bramah et al. 2018)")
                   + "." + angles_note(task)))
    out.append(Fig(f"{name}/steps", steps_chart(running_steps, task),
                   "Every running step: drop, contact and flight time, vertical oscillation "
                   "(hollow: excluded steps)." + angles_note(task)))
    out.append(metrics_table(task))
    table = bouts_table(task)
    if table is not None:
        out.append(table)
    return out  # the task's messages are in "What the analysis says"

