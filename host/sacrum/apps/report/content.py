"""What the report says, as a list of blocks that the HTML and the PDF both render.

:func:`build_report` reads one or more :class:`sacrum.apps.sessions.Session` of one person (their
analysis documents, docs/analysis-json.md) and lays out: the header (person, date, device
and firmware, mounting, calibration, data quality), the plain-language summary, per task
the score with its components and reasons, the figures and tables, the progress across
sessions, and every statement of the analysis (the pages of exercise and run tasks are
laid out by report/exercises.py and report/running.py). The most recent session is shown in full;
earlier ones appear in the progress. Several recordings of the person on one day (the trials
of a walk test) are also pooled as one session (:func:`pooled_day`,
``sacrum.analysis.pool_sessions``): the latest day's pooled score leads the summary, and the
progress figure has one point per day. Nothing is computed here that the analysis did not
compute, but for the drop trend of the scatter figure (named as a least-squares trend).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from sacrum import __version__
from sacrum.analysis import steps_of, steps_outside_tasks
from sacrum.apps.report import figures, summary
from sacrum.apps.report.norms import drop_band
from sacrum.apps.sessions import Session, SessionError


@dataclass(frozen=True)
class Disclosure:
    """What a report shows beyond the pseudonym, the dates and the numbers: by default
    nothing that names the person, a file or a device (docs/security.md). Each is the
    clinician's explicit choice on the command line.

    name: the person's name, from the clinician's name map (``--show-name``); shown beside
    the pseudonym in the header. file_name: the recording's file name (``--show-file``).
    device_name: the sensor's advertised name (``--show-device``; it may have been set to a
    person's name; firmware and IMU are always shown).
    """

    name: str | None = None
    file_name: bool = False
    device_name: bool = False


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str
    kind: str = "p"  # "p" | "summary" (the plain-language summary) | "note" (small print)


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    key: str = ""  # "bridge/sets", ...: the HTML table's id (tab-bridge-sets), for readers


@dataclass
class Fig:
    key: str  # "walk/drop", "walk/curves", "progress", ...
    figure: Figure
    caption: str


@dataclass
class Report:
    title: str
    blocks: list[Heading | Para | Table | Fig] = field(default_factory=list)

    @property
    def figures(self) -> dict[str, Figure]:
        return {b.key: b.figure for b in self.blocks if isinstance(b, Fig)}

    def summary_text(self) -> str:
        return " ".join(b.text for b in self.blocks if isinstance(b, Para) and b.kind == "summary")


def _f(x: Any, fmt: str = ".1f", unit: str = "") -> str:
    if not isinstance(x, int | float) or isinstance(x, bool) or not math.isfinite(x):
        return "–"
    return f"{x:{fmt}}{unit}"


def _mean_sd(d: dict | None, key: str = "", fmt: str = ".2f", unit: str = "") -> str:
    d = d or {}
    m, s = d.get(f"{key}mean"), d.get(f"{key}sd")
    if m is None:
        return "–"
    return f"{_f(m, fmt)} ± {_f(s, fmt)}{unit}" if s is not None else f"{_f(m, fmt)}{unit}"


def header_rows(s: Session, show: Disclosure = Disclosure()) -> list[list[str]]:
    """The header: person, date, device, mounting, calibration, data quality; a name, a file
    name and the device's name only as ``show`` allows."""
    doc = s.analysis
    inp, mnt, cal, loss = doc["input"], doc["mounting"], doc["calibration"], doc["loss"]
    dev = s.device
    # as `sacrum info` prints it ("firmware: ..."; a firmware string may begin with the word)
    facts = f"firmware: {dev.get('firmware', '?')}; IMU: {dev.get('imu', '?')}"
    device = ((f"{dev.get('name', '?')} ({facts})" if show.device_name else facts)
              if dev else "not recorded (not a capture)")
    recording = (f"{inp['duration_s']:.1f} s at {inp['rate_hz']:.0f} Hz, "
                 f"{inp['task_marks']} task marks")
    if show.file_name:
        recording = f"{Path(str(inp['path'])).name}: {recording}"
    if mnt.get("source") == "given":
        mounting = f"given ({mnt.get('spec')})"
    elif mnt.get("source") == "estimated-running":
        mounting = str(mnt.get("message") or "estimated from the running contacts")
    else:
        mounting = (f"estimated from the recording, confidence {_f(mnt.get('confidence'), '.2f')}"
                    f" (forward axis ± {_f(mnt.get('forward_deg_sd'))}°)")
    if not cal.get("calibrated"):
        calib = "none: angles relative to the mounting's vertical"
    elif cal.get("reference") == "walking":
        calib = ("none from standing: zeroed on the mean walking posture "
                 f"({cal.get('samples')} samples)")
    else:
        calib = (f"standing, {cal.get('samples')} samples, still to {_f(cal.get('sd_deg'), '.2f')}°"
                 " RMS")
    frac = loss.get("loss_fraction")
    quality = (f"{_f(100 * frac if frac is not None else None, '.2f')} % of samples lost "
               f"({loss.get('samples_lost', 0):,} of {loss.get('samples_expected', 0):,}; "
               f"{loss.get('gaps', 0)} gaps")
    longest = loss.get("longest_gap_s")
    quality += f", longest {longest:.2f} s)" if longest else ")"
    rows = [["Person (pseudonymous ID)", s.person_id or "not given"]]
    if show.name:
        rows.append(["Name (from the clinician's name map)", show.name])
    rows += [["Date", s.date or "not recorded"],
             ["Device", device],
             ["Recording", recording],
             ["Mounting", mounting],
             ["Calibration", calib],
             ["Data quality", quality]]
    for t in doc["summary"]["tasks"]:
        if t["kind"] == "run":
            why = ", ".join(f"{k} {r}" for r, k in (t.get("excluded_reasons") or {}).items()
                            if k)
            by = t.get("n_steps_by_side") or {}
            rows.append([f"Running steps ({t['task']})",
                         f"{t.get('n_steps_used', 0)} used of {t.get('n_steps', 0)} "
                         f"({by.get('L', 0)} left, {by.get('R', 0)} right stance)"
                         + (f"; excluded: {why}" if why else "")
                         + (f"; {t['n_walking_steps']} walking steps not measured"
                            if t.get("n_walking_steps") else "")])
            continue
        if t["kind"] == "exercise":
            ex = t.get("exercise") or {}
            what = (f"{ex.get('n_holds') or 0} holds, the longest {_f(ex.get('hold_s'))} s"
                    if ex.get("held") else f"{ex.get('n_repetitions', 0)} full repetitions, "
                    f"{ex.get('n_partial', 0)} partial")
            rows.append([f"Exercise ({t['task']})",
                         f"{what}, in {ex.get('n_sets', 0)} sets; posture: "
                         f"{ex.get('posture') or 'not found'}"])
            continue
        if t["kind"] != "steps":
            continue
        why = ", ".join(f"{k} {r}" for r, k in (t.get("excluded_reasons") or {}).items() if k)
        by = t.get("n_steps_by_side") or {}
        rows.append([f"Steps ({t['task']})",
                     f"{t.get('n_steps_used', 0)} used of {t['n_steps']} ({by.get('L', 0)} "
                     f"left, {by.get('R', 0)} right stance)"
                     + (f"; excluded: {why}" if why else "")])
    outside = steps_outside_tasks(steps_of(doc))
    if outside:  # the live view counts every step of the capture: say where these went
        rows.append(["Steps outside every task", f"{outside} (in no task's figures or score)"])
    return rows


def _interval(iv) -> str:
    if not iv or iv[0] is None:
        return "–"
    return f"{iv[0]:.0f}–{iv[1]:.0f}"


def components_table(task: dict[str, Any]) -> Table:
    rows = [[name, _f(c.get("score"), ".0f"), _interval(c.get("interval")),
             _f(c.get("weight"), ".2f"), str(c.get("reason", ""))]
            for name, c in (task.get("components") or {}).items()]
    rows.append(["score", _f(task.get("score"), ".0f"), _interval(task.get("score_interval")),
                 "", ""])
    level = task.get("score_interval_level") or 0.9
    caption = ("Score components (docs/scoring.md): every deduction with its reason; "
               "the interval is where the points would likely lie on another walk like "
               "this one (a bootstrap over the steps; '–': not estimated)")
    if task.get("kind") == "run":
        caption = ("Running score components (docs/running.md): every deduction with its "
                   "reason, on the running bands (each says its source, or provisional); the "
                   "interval is where the points would likely lie on another run like this "
                   "one (a bootstrap over the running steps; '–': not estimated)")
    return Table(["component", "points", f"{100 * level:.0f} % interval", "weight", "reason"],
                 rows, caption, key=f"{task['task']}/components")


def turns_table(turns: list[dict[str, Any]], task: str | None) -> Table | None:
    """Every turn of a task (``task`` None: the turns in no task, which the live view
    shows too): when, how long, how far, which way, how fast, in how many steps (the
    analysis' ``turns[]``); None without turns."""
    rows = [[str(i + 1), _f(tr.get("t_start_s"), ".1f"), _f(tr.get("duration_s"), ".1f"),
             _f(tr.get("angle_deg"), ".0f", "°"), str(tr.get("direction", "")),
             _f(tr.get("peak_rate_dps"), ".0f"),
             str(tr["n_steps"]) if tr.get("n_steps") is not None else "not found"]
            for i, tr in enumerate(t for t in turns if t.get("task") == task)]
    if not rows:
        return None
    caption = ("Every turn: slower turns, a lower peak rate and more steps to turn go with "
               "poorer balance and mobility (docs/report.md)" if task is not None else
               "Turns outside the tasks (before or after them: turning back, standing "
               "about): in no task's figures or score")
    return Table(["#", "start (s)", "duration (s)", "angle", "direction", "peak rate (°/s)",
                  "steps"], rows, caption, key="" if task is not None else "turns/outside")


def angles_note(task: dict[str, Any]) -> str:
    """" Angles relative to ..." for a task without a standing calibration, else "": the
    last sentence of every caption that shows its angles."""
    ref = task.get("angle_reference")
    if ref == "walking":
        return " Angles relative to the mean walking posture (no standing calibration)."
    if ref == "sensor":
        return " Angles relative to the sensor's mounting (no calibration)."
    return ""


def timing_table(task: dict[str, Any]) -> Table:
    """Cadence, step/stride times, stance/swing and the per-side pelvic values."""
    def by_side(d: dict | None, fmt: str = ".2f", unit: str = "") -> list[str]:
        return [_mean_sd(d, "L_", fmt, unit), _mean_sd(d, "R_", fmt, unit),
                _mean_sd(d, "", fmt, unit)]

    def lr(d: dict | None, unit: str = "°") -> list[str]:
        d = d or {}
        return [_f(d.get("L"), ".1f", unit), _f(d.get("R"), ".1f", unit), ""]

    si = task.get("symmetry_index") or {}
    diff = task.get("side_difference_deg") or {}
    rows = [["cadence (steps/min)", "", "", _f(task.get("cadence_spm"), ".1f")],
            ["step time (s)", *by_side(task.get("step_time_s"))],
            ["stride time (s)", *by_side(task.get("stride_time_s"))],
            ["stance (% of stride)", *by_side(task.get("stance_pct"), ".1f")],
            ["swing (% of stride)", *by_side(task.get("swing_pct"), ".1f")],
            ["contralateral drop, median", *lr(task.get("contralateral_drop_deg"))],
            ["obliquity range, median", *lr(task.get("obliquity_rom_deg"))],
            ["tilt range, median", *lr(task.get("tilt_rom_deg"))],
            ["rotation range, median", *lr(task.get("rotation_rom_deg"))],
            ["left-right difference: drop / obliquity range", "", "",
             f"{_f(diff.get('drop'), '.1f', '°')} / {_f(diff.get('obliquity_rom'), '.1f', '°')}"],
            ["symmetry index step time / drop (%)", "", "",
             f"{_f(si.get('step_time'))} / {_f(si.get('drop'))}"]]
    return Table(["", "left stance", "right stance", "all"], rows,
                 "Cadence and timing (mean ± SD of the used steps), pelvic values per stance "
                 "side (ranges: 5th-95th percentile span per stride; the drop symmetry index "
                 "only for a mean drop of 5° or more; drops and ranges are compared in "
                 "degrees)." + angles_note(task))


def repetition_table(task: dict[str, Any]) -> Table:
    if task["kind"] == "repetitions":
        rows = [[str(r["index"] + 1), _f(r.get("t_start_s"), ".1f"), _f(r.get("duration_s"), ".2f"),
                 _f(r.get("depth_m"), ".2f"), _f(r.get("peak_drop_deg")),
                 _f(r.get("drop_excursion_deg")), _f(r.get("ldlj_a"), ".2f")]
                for r in task["repetitions"]["repetitions"]]
        return Table(["#", "start (s)", "duration (s)", "depth (m)", "peak drop (°)",
                      "drop excursion (°)", "LDLJ-A"], rows, "Every repetition")
    rows = [[str(i + 1), _f(r.get("t_start_s"), ".1f"), _f(r.get("time_held_s"), ".1f"),
             _f(r.get("hold_s"), ".1f"), _f(r.get("drop_mean_deg")), _f(r.get("drop_peak_deg")),
             _f(r.get("gyr_rms_dps"), ".2f")]
            for i, r in enumerate(task["single_leg_stance"]["trials"])]
    return Table(["trial", "start (s)", "held (s)", "stable hold (s)", "mean drop (°)",
                  "peak drop (°)", "sway (°/s RMS)"], rows, "Every trial")


def progress_points(sessions: list[Session]) -> list[dict[str, Any]]:
    """Per session: date, session score, drop per stance side of the metrics task and its
    drop band (what the progress table shows, one row per recording)."""
    out = []
    for s in sessions:
        summ = s.analysis["summary"]
        head = next((t for t in summ["tasks"] if t["task"] == summ.get("metrics_task")), {})
        drop = summ.get("contralateral_drop_deg") or {}
        out.append({"date": s.date, "task": summ.get("metrics_task"),
                    "score": summ.get("score"), "drop_L": drop.get("L"),
                    "drop_R": drop.get("R"), "normal_max": drop_band(head)[1] if head else None,
                    "cadence_spm": summ.get("cadence_spm"),
                    "steps_used": head.get("n_steps_used"), "n": 1})
    return out


def day_groups(sessions: list[Session]) -> list[list[Session]]:
    """The sessions (in date order) grouped by their date."""
    groups: list[list[Session]] = []
    for s in sessions:
        if groups and groups[-1][0].date == s.date:
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups


def pooled_day(day: list[Session]) -> dict[str, Any] | None:
    """The recordings of one person and day pooled as one session (the trials of a walk
    test: :func:`sacrum.analysis.pool_sessions` on their walking task, the latest one's
    metrics task), as a task object of ``summary.tasks`` plus ``n_recordings``; None for a
    single recording or fewer than two with that walking task."""
    if len(day) < 2:
        return None
    from sacrum.analysis import pool_sessions

    name = day[-1].analysis["summary"].get("metrics_task")
    docs = [s.analysis for s in day
            if any(t["task"] == name and t["kind"] == "steps"
                   for t in s.analysis["summary"]["tasks"])]
    if len(docs) < 2:
        return None
    # the bands the recordings were scored with: a clinic's file while it is there
    origin = str(day[-1].analysis["bands"]["origin"])
    bands = origin if not origin.startswith("packaged") and Path(origin).is_file() else None
    refs = {next(t for t in d["summary"]["tasks"] if t["task"] == name).get("angle_reference")
            for d in docs}
    # relative when any recording lacks a standing calibration (its drops are relative)
    ref = next((r for r in ("sensor", "walking") if r in refs), "standing")
    try:
        pooled = pool_sessions(docs, task=name, bands=bands)
    except (KeyError, TypeError, ValueError):   # a document this version cannot pool
        return None
    return {**pooled, "kind": "steps", "angle_reference": ref}


def day_points(days: list[list[Session]], pooled_days: list[dict[str, Any] | None]
               ) -> list[dict[str, Any]]:
    """One progress point per day (the figure and the sentences): a day's recordings pooled
    (``pooled_days``, :func:`pooled_day` of each of ``days``) where there are several, else
    each recording as it is."""
    out = []
    for day, pooled in zip(days, pooled_days, strict=True):
        if pooled is None:
            out += progress_points(day)
            continue
        drop = pooled.get("contralateral_drop_deg") or {}
        out.append({"date": day[0].date, "task": pooled["task"], "score": pooled.get("score"),
                    "drop_L": drop.get("L"), "drop_R": drop.get("R"),
                    "normal_max": drop_band(pooled)[1], "cadence_spm": pooled.get("cadence_spm"),
                    "steps_used": pooled.get("n_steps_used"), "n": pooled["n_recordings"]})
    return out


def pooled_sentence(pooled: dict[str, Any], date: str) -> str:
    """The pooled day in one sentence: score with its interval, steps, drop per side."""
    by = pooled.get("n_steps_by_side") or {}
    drop = pooled.get("contralateral_drop_deg") or {}
    score = ("no score (" + str(pooled.get("score_message")) + ")"
             if pooled.get("score") is None else
             f"score {summary.with_interval(pooled['score'], pooled.get('score_interval'))}")
    drops = "; contralateral drop " + " / ".join(
        f"{summary.deg(drop[s])} {'left' if s == 'L' else 'right'} stance" for s in "LR"
        if isinstance(drop.get(s), int | float) and math.isfinite(drop[s]))
    relative = {"walking": " (relative drops: a recording had no standing calibration)",
                "sensor": " (relative drops: a recording had no calibration)"}.get(
        str(pooled.get("angle_reference")), "")
    return (f"The {pooled['n_recordings']} recordings of {date}, pooled as one session (as "
            f"the trials of a walk test): {pooled['task']} {score} from "
            f"{pooled.get('n_steps_used', 0)} used steps ({by.get('L', 0)} left, "
            f"{by.get('R', 0)} right stance)"
            + (drops + relative if drops != "; contralateral drop " else "") + ".")


def _bands_origin(origin: str) -> str:
    """The bands' origin as the report names it: a clinic's file by its file name only (its
    folder may hold a user name), the packaged bands as they are."""
    return origin if origin.startswith("packaged") else Path(origin).name


def build_report(sessions: list[Session], show: Disclosure = Disclosure()) -> Report:
    """The report's content for the sessions of one person (in date order); ``show`` says
    what beyond the pseudonym it may name (:class:`Disclosure`; by default nothing)."""
    if not sessions:
        raise SessionError("no sessions to report")
    people = {s.person_id for s in sessions}
    if len(people) > 1:
        raise SessionError("a report is for one person; these sessions belong to "
                           + ", ".join(sorted(repr(p) for p in people)))
    sessions = sorted(sessions, key=lambda s: s.date)
    if len(sessions) > 1 and not all(s.date for s in sessions):
        raise SessionError("a progress report needs each session's date; give --date or use "
                           "the library (`sacrum sessions add`)")
    last = sessions[-1]
    doc = last.analysis
    rep = Report(f"Pelvic control report — {last.person_id or 'no ID'}, {last.date or 'no date'}")
    rep.blocks.append(Heading(rep.title, 1))
    rep.blocks.append(Table(["", ""], header_rows(last, show), "Session"))
    from sacrum.apps.report import exercises, running  # their pages read these blocks

    rep.blocks.append(Heading("Summary"))
    points = progress_points(sessions)          # one per recording: the table
    groups = day_groups(sessions)
    pooled_days = [pooled_day(g) for g in groups]
    days = day_points(groups, pooled_days)      # one per day: the figure and sentences
    today = pooled_days[-1]
    walked = any(isinstance(p[k], int | float) for p in points
                 for k in ("score", "drop_L", "drop_R"))
    lead = ([pooled_sentence(today, last.date),
             "The most recent of them, in detail:"] if today is not None else [])
    for text in (lead + summary.session_sentences(doc)
                 + (summary.progress_sentences(days) if walked else [])
                 + exercises.progress_sentences(sessions)):
        rep.blocks.append(Para(text, "summary"))
    if today is not None:
        rep.blocks.append(Heading(f"Pooled: {today['task']}, the {today['n_recordings']} "
                                  f"recordings of {last.date}"))
        rep.blocks.append(Para(str(today.get("score_message") or "")))
        mine = next((t for t in doc["summary"]["tasks"] if t["task"] == today["task"]), {})
        only = [k for k, c in (today.get("components") or {}).items()
                if c.get("score") is not None
                and ((mine.get("components") or {}).get(k) or {}).get("score") is None]
        if only:   # why the pooled score can lie outside the recordings' own
            rep.blocks.append(Para(f"Scored only when pooled: {', '.join(only)} (one "
                                   "recording has too few steps for it; docs/scoring.md, "
                                   "'How many steps')."))
        rep.blocks.append(components_table({**today, "task": f"pooled-{today['task']}"}))
        for m in today.get("messages") or []:
            rep.blocks.append(Para(m, "note"))
    steps = doc["steps"]
    for task in doc["summary"]["tasks"]:
        name = task["task"]
        rep.blocks.append(Heading(f"Task: {name}"))
        rep.blocks.append(Para(summary.exercise_score_sentence(task)
                               if task["kind"] == "exercise" else task.get("score_message") or ""))
        if task.get("components"):
            rep.blocks.append(components_table(task))
        if task["kind"] == "steps":
            if not task.get("n_steps"):
                continue
            # every figure of angles says when they are relative (no standing calibration)
            rel = angles_note(task)
            rep.blocks.append(Fig(f"{name}/drop", figures.drop_bars(task),
                                  "Contralateral pelvic drop (median of the used steps, ± SD) "
                                  "per stance side, against the drop band of the score." + rel))
            rep.blocks.append(Fig(f"{name}/curves", figures.curves(task),
                                  "Pelvic obliquity, tilt and rotation over the gait cycle, "
                                  "mean ± SD per side, over the reference envelope." + rel))
            rep.blocks.append(Fig(f"{name}/scatter", figures.drop_scatter(steps, task),
                                  "Drop of every step over the recording (hollow: excluded "
                                  "steps); a steady trend over the session would show as a "
                                  "slope." + rel))
            rep.blocks.append(timing_table(task))
            table = turns_table(doc.get("turns") or [], name)
            if table is not None:
                rep.blocks.append(table)
        elif task["kind"] in ("stance", "repetitions"):
            rep.blocks.append(Fig(f"{name}/repetitions", figures.repetition_bars(task),
                                  "Per repetition or trial, against the drop band"))
            rep.blocks.append(repetition_table(task))
        elif task["kind"] == "exercise":
            rep.blocks += exercises.exercise_blocks(task, doc["summary"]["tasks"])
        elif task["kind"] == "run":
            rep.blocks += running.running_blocks(task, doc.get("running_steps") or [])
        else:  # a kind this report does not know (a newer analysis): say so
            rep.blocks.append(Para(f"The report has no page for {task['kind']} tasks; "
                                   "sacrum analyze --json has every value "
                                   "(docs/analysis-json.md).", kind="note"))
    outside = turns_table(doc.get("turns") or [], None)
    if outside is not None:
        rep.blocks.append(outside)
    if len(sessions) > 1:
        rep.blocks.append(Heading("Progress"))
    if len(sessions) > 1 and walked:  # a session score or a drop to show
        if len({p["date"] for p in days}) > 1:
            rep.blocks.append(Fig("progress", figures.progress(days),
                                  "Session score and contralateral drop per stance side by "
                                  "date (a day of several recordings: pooled)"))
        else:
            rep.blocks.append(Para(f"All {len(sessions)} recordings are of {last.date}: "
                                   "pooled above; a progress needs sessions on two or more "
                                   "days."))

        def row(p: dict[str, Any], date: str) -> list[str]:
            return [date, _f(p["score"], ".0f"), p["task"] or "–", _f(p["drop_L"], ".1f", "°"),
                    _f(p["drop_R"], ".1f", "°"), _f(p["cadence_spm"], ".0f"),
                    str(p["steps_used"] or 0)]

        rows = []
        for day in groups:
            rows += [row(p, p["date"]) for p in progress_points(day)]
            pooled = next((p for p in days if p["date"] == day[0].date and p["n"] > 1), None)
            if pooled is not None:
                rows.append(row(pooled, f"{day[0].date}, {pooled['n']} pooled"))
        rep.blocks.append(Table(
            ["date", "score", "drop and cadence of", "drop left stance", "drop right stance",
             "cadence", "steps used"], rows,
            "Every session: the session score, and the drop and cadence of its walking task "
            "(of its run task when it has no walking); a day of several recordings also "
            "pooled as one session", key="progress"))
    if len(sessions) > 1:
        rep.blocks += exercises.progress_blocks(sessions)
    kinds = {t["kind"] for t in doc["summary"]["tasks"]}
    rep.blocks.append(Heading("What the analysis says"))
    for m in doc.get("messages") or ["nothing to add"]:
        rep.blocks.append(Para(m, "note"))
    rep.blocks.append(Para(
        f"Analysed by sacrum {doc.get('sacrum_version')}, bands: "
        f"{_bands_origin(str(doc['bands']['origin']))}; "
        f"report by sacrum {__version__}. Angles in degrees, relative to "
        + {"walking": "the mean walking posture (no standing calibration: relative angles)",
           "sensor": "the sensor's mounting (no calibration: relative angles)"}.get(
            doc["summary"].get("angle_reference"), "the standing calibration")
        + " (docs/pelvic-angles.md)"
        + ("; in the exercises, to the posture at the start of each repetition or hold "
           "(docs/exercises.md)" if "exercise" in kinds else "")
        + ". The walking score compares this measurement with "
        "published values of healthy adults; it is not a diagnosis (docs/scoring.md)"
        + ("; the exercise and running scores' bands are provisional, not published norms "
           "(docs/exercises.md, docs/running.md)" if kinds & {"exercise", "run"} else "")
        + ".", "note"))
    _without_folders(rep, str(doc["bands"]["origin"]))
    return rep


def _without_folders(rep: Report, origin: str) -> None:
    """A clinic's bands file named by its file name wherever a message quotes its path (a
    score message says which bands it used)."""
    short = _bands_origin(origin)
    if short == origin:
        return
    for b in rep.blocks:
        if isinstance(b, Para | Heading):
            b.text = b.text.replace(origin, short)
        elif isinstance(b, Table):
            b.rows = [[c.replace(origin, short) for c in r] for r in b.rows]
