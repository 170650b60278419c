"""An exercise programme: the TOML file a guided session follows (docs/exercises.md,
"Guided session").

A programme is a list of exercises, each with its sets, repetitions (or hold seconds),
sides and rests. :func:`load_programme` reads the file and checks it completely before a
session starts: an unknown exercise, a missing ``repetitions``/``hold_s``, a negative or
non-numeric value, a side an exercise does not have, or a key that means nothing is a
:class:`ProgrammeError` with one line that names the file, the exercise and the fix.

:meth:`Programme.blocks` unrolls it into the order of the session: one :class:`Block`
per set and side (``set 1 left, set 1 right, set 2 left, ...``), each one task of the
capture (``clamshell-left``), with the rest that follows it.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from sacrum.scoring.exercises.catalogue import EXERCISES

#: Keys of the file's top level, and of each ``[[exercise]]``.
TOP_KEYS = ("name", "prepare_s", "switch_s", "exercise")
ITEM_KEYS = ("task", "sets", "repetitions", "hold_s", "sides", "rest_s", "switch_s",
             "cue_deg", "note")
SIDES = {"left": "L", "right": "R"}
DEFAULT_REST_S = 30.0
DEFAULT_PREPARE_S = 10.0
DEFAULT_SWITCH_S = 10.0

#: ``--quick``: what a programme is cut to for trying it out in a few minutes.
QUICK = {"sets": 1, "repetitions": 3, "hold_s": 10.0, "rest_s": 5.0, "prepare_s": 5.0,
         "switch_s": 5.0}


class ProgrammeError(ValueError):
    """A programme file that cannot be followed; the message says where and what to do."""


@dataclass(frozen=True)
class ProgrammeItem:
    """One exercise of a programme, as written.

    task: the exercise's base name (``clamshell``) or a full task name
    (``clamshell-left``; docs/exercises.md, "Task names and sides"); sides: the sides to
    do, "L"/"R" in order (empty: the exercise has none, or the task names it); sets;
    repetitions (full repetitions per set and side; alternating exercises: both sides
    together) or hold_s (s per set and side, held exercises); rest_s: after each set (s);
    switch_s: between the sides of one set (s); cue_deg: the cue threshold on the
    exercise's own metric (deg; None: the band's ``normal_max``, exercise_bands.toml).
    """

    task: str
    sets: int
    repetitions: int | None
    hold_s: float | None
    sides: tuple[str, ...]
    rest_s: float
    switch_s: float
    cue_deg: float | None = None
    note: str = ""

    def task_for(self, side: str | None) -> str:
        """The task name of one side (the item's own when it has no sides)."""
        if side is None:
            return self.task
        return f"{self.task}-{'left' if side == 'L' else 'right'}"


@dataclass(frozen=True)
class Block:
    """One set of one side: one task in the capture.

    index: 0, 1, ... over the session; item: the index of its :class:`ProgrammeItem`;
    task; label (for a person: "Clamshell, left"); set_number (1-based) of n_sets;
    side: "L", "R" or None; repetitions or hold_s (the target); rest_after_s: the rest
    that follows it (0 after the last); cue_deg as the item's.
    """

    index: int
    item: int
    task: str
    label: str
    set_number: int
    n_sets: int
    side: str | None
    repetitions: int | None
    hold_s: float | None
    rest_after_s: float
    cue_deg: float | None = None

    @property
    def held(self) -> bool:
        return self.hold_s is not None


@dataclass(frozen=True)
class Programme:
    """A programme (module docstring): name, items, prepare_s (before the first set, s:
    time to get into position), path (the file, None if built in code)."""

    name: str
    items: tuple[ProgrammeItem, ...]
    prepare_s: float = DEFAULT_PREPARE_S
    path: Path | None = None

    def blocks(self) -> list[Block]:
        """The sets and sides in the order of the session (module docstring)."""
        out: list[Block] = []
        for i, it in enumerate(self.items):
            for s in range(it.sets):
                sides = it.sides or (None,)
                for k, side in enumerate(sides):
                    last_side = k == len(sides) - 1
                    rest = it.rest_s if last_side else it.switch_s
                    out.append(Block(len(out), i, it.task_for(side),
                                     label(it.task_for(side)), s + 1, it.sets, side,
                                     it.repetitions, it.hold_s, rest, it.cue_deg))
        if out:
            out[-1] = replace(out[-1], rest_after_s=0.0)
        return out

    def quick(self) -> Programme:
        """The same programme cut for trying it out (:data:`QUICK`): one set of each, at
        most 3 repetitions, holds of at most 10 s, rests of 5 s."""
        q = QUICK
        items = tuple(replace(
            it, sets=min(it.sets, q["sets"]),
            repetitions=None if it.repetitions is None else min(it.repetitions,
                                                                 q["repetitions"]),
            hold_s=None if it.hold_s is None else min(it.hold_s, q["hold_s"]),
            rest_s=min(it.rest_s, q["rest_s"]), switch_s=min(it.switch_s, q["switch_s"]))
            for it in self.items)
        return replace(self, items=items, prepare_s=min(self.prepare_s, q["prepare_s"]))


def label(task: str) -> str:
    """A task name for a person: ``single-leg-deadlift-left`` → "Single-leg deadlift, left"."""
    ex = EXERCISES[task]
    base = ex.base.replace("-", " ").replace("single leg", "single-leg")
    text = base[:1].upper() + base[1:]
    if ex.side in ("L", "R"):
        text += ", left" if ex.side == "L" else ", right"
    return text


def _number(where: str, key: str, v, *, integer: bool = False, positive: bool = True):
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ProgrammeError(f"{where}: {key} must be a number, not {v!r}")
    if integer and not (isinstance(v, int) or float(v).is_integer()):
        raise ProgrammeError(f"{where}: {key} must be a whole number, not {v!r}")
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        need = "greater than 0" if positive else "0 or more"
        raise ProgrammeError(f"{where}: {key} must be {need}, not {v!r}")
    return int(v) if integer else float(v)


def _bases() -> dict[str, list[str]]:
    """Base name → the task names with a side (``clamshell`` → the two clamshells)."""
    out: dict[str, list[str]] = {}
    for name, ex in EXERCISES.items():
        if ex.side in ("L", "R"):
            out.setdefault(ex.base, []).append(name)
    return out


def _item(k: int, raw, top: dict, src: str) -> ProgrammeItem:
    where = f"{src}: exercise {k + 1}"
    if not isinstance(raw, dict):
        raise ProgrammeError(f"{where}: write each exercise as an [[exercise]] table")
    unknown = sorted(set(raw) - set(ITEM_KEYS))
    if unknown:
        raise ProgrammeError(f"{where}: unknown key {unknown[0]!r} (an exercise has "
                             + ", ".join(ITEM_KEYS) + ")")
    task = raw.get("task")
    if not isinstance(task, str) or not task:
        raise ProgrammeError(f"{where}: no task (the exercise's name, e.g. task = \"bridge\")")
    where = f"{src}: exercise {k + 1} ({task})"
    bases = _bases()
    if task not in EXERCISES and task not in bases:
        raise ProgrammeError(f"{where}: unknown exercise {task!r}; one of "
                             + ", ".join(sorted(set(EXERCISES) | set(bases))))
    sides_raw = raw.get("sides")
    if task in bases:
        sides_raw = ["left", "right"] if sides_raw is None else sides_raw
        if isinstance(sides_raw, str):
            sides_raw = [sides_raw]
        if (not isinstance(sides_raw, list) or not sides_raw
                or any(s not in SIDES for s in sides_raw)):
            raise ProgrammeError(f"{where}: sides must be a list of \"left\" and \"right\", "
                                 f"not {sides_raw!r}")
        if len(set(sides_raw)) != len(sides_raw):
            raise ProgrammeError(f"{where}: a side is listed twice in {sides_raw!r}")
        sides = tuple(SIDES[s] for s in sides_raw)
    else:
        if sides_raw is not None:
            has = ("names its side" if EXERCISES[task].side in ("L", "R") else
                   "alternates sides by itself" if EXERCISES[task].side == "alternating"
                   else "has no sides")
            raise ProgrammeError(f"{where}: {task} {has}; remove sides")
        sides = ()
    ex = EXERCISES[bases[task][0]] if task in bases else EXERCISES[task]
    sets = _number(where, "sets", raw.get("sets", 1), integer=True)
    reps = raw.get("repetitions")
    hold = raw.get("hold_s")
    if ex.held:
        if reps is not None:
            raise ProgrammeError(f"{where}: {task} is held: give hold_s (seconds), not "
                                 "repetitions")
        if hold is None:
            raise ProgrammeError(f"{where}: missing hold_s (seconds to hold each set)")
        hold = _number(where, "hold_s", hold)
    else:
        if hold is not None:
            raise ProgrammeError(f"{where}: {task} is done in repetitions: give repetitions, "
                                 "not hold_s")
        if reps is None:
            raise ProgrammeError(f"{where}: missing repetitions (full repetitions per set"
                                 + (" and side)" if sides else ")"))
        reps = _number(where, "repetitions", reps, integer=True)
    rest = _number(where, "rest_s", raw.get("rest_s", DEFAULT_REST_S), positive=False)
    switch = _number(where, "switch_s", raw.get("switch_s", top["switch_s"]), positive=False)
    cue = raw.get("cue_deg")
    cue = None if cue is None else _number(where, "cue_deg", cue)
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise ProgrammeError(f"{where}: note must be text")
    return ProgrammeItem(task, sets, reps, hold, sides, rest, switch, cue, note)


def parse_programme(text: str, source: str = "programme") -> Programme:
    """A :class:`Programme` from TOML text (``source`` names it in errors)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ProgrammeError(f"{source}: not valid TOML: {e}") from None
    unknown = sorted(set(doc) - set(TOP_KEYS))
    if unknown:
        raise ProgrammeError(f"{source}: unknown key {unknown[0]!r} at the top (a programme "
                             "has " + ", ".join(TOP_KEYS) + ")")
    name = doc.get("name", "")
    if not isinstance(name, str):
        raise ProgrammeError(f"{source}: name must be text")
    top = {"switch_s": _number(source, "switch_s", doc.get("switch_s", DEFAULT_SWITCH_S),
                               positive=False)}
    prepare = _number(source, "prepare_s", doc.get("prepare_s", DEFAULT_PREPARE_S),
                      positive=False)
    items = doc.get("exercise")
    if not items:
        raise ProgrammeError(f"{source}: no exercises (add [[exercise]] tables with a task, "
                             "sets and repetitions or hold_s)")
    if not isinstance(items, list):
        raise ProgrammeError(f"{source}: write the exercises as [[exercise]] tables")
    return Programme(name, tuple(_item(k, raw, top, source) for k, raw in enumerate(items)),
                     prepare)


def load_programme(path: str | os.PathLike) -> Programme:
    """The programme in the TOML file at ``path`` (:class:`ProgrammeError`, or OSError for
    a file that cannot be read)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ProgrammeError(f"{p}: not a text file (a programme is TOML)") from None
    return replace(parse_programme(text, str(p)), path=p)


__all__ = ["QUICK", "Block", "Programme", "ProgrammeError", "ProgrammeItem", "label",
           "load_programme", "parse_programme"]
