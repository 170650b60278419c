"""The programme file of a guided session (sacrum.apps.exercise.programme): what it
accepts, what it refuses (one line, exit 1, naming what is wrong) and the order of sets and
sides it unrolls into."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sacrum_protocol as sp
from cli_contract import run
from sacrum.apps.exercise.programme import (
    QUICK,
    ProgrammeError,
    load_programme,
    parse_programme,
)
from sacrum.scoring.exercises import EXERCISES

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "programme.toml"


def _one(body: str, top: str = "") -> str:
    return f"{top}\n[[exercise]]\n{body}\n"


def test_the_example_programme_is_a_programme_of_protocol_tasks():
    prog = load_programme(EXAMPLE)
    blocks = prog.blocks()
    assert len(prog.items) >= 6
    assert {EXERCISES[b.task].base for b in blocks} >= {
        "bridge", "bird-dog", "dead-bug", "plank", "clamshell", "single-leg-deadlift"}
    for b in blocks:  # a capture can mark every set (the writer refuses other names)
        assert b.task in sp.TASKS
        assert (b.hold_s is not None) == EXERCISES[b.task].held
        assert (b.repetitions or 0) > 0 or b.hold_s > 0
    assert blocks[-1].rest_after_s == 0.0
    assert [b.index for b in blocks] == list(range(len(blocks)))


def test_sets_and_sides_unroll_in_session_order_with_rest_and_switch():
    prog = parse_programme(_one('task = "clamshell"\nsets = 2\nrepetitions = 12\n'
                                'rest_s = 40\nswitch_s = 7') + _one('task = "plank"\n'
                                                                    'hold_s = 20\nsets = 2'))
    blocks = prog.blocks()
    assert [(b.task, b.set_number, b.side) for b in blocks] == [
        ("clamshell-left", 1, "L"), ("clamshell-right", 1, "R"),
        ("clamshell-left", 2, "L"), ("clamshell-right", 2, "R"),
        ("plank", 1, None), ("plank", 2, None)]
    assert [b.rest_after_s for b in blocks] == [7, 40, 7, 40, 30, 0]
    assert [b.repetitions for b in blocks[:4]] == [12] * 4
    assert blocks[4].hold_s == 20 and blocks[4].repetitions is None


def test_one_side_only_and_a_named_side():
    prog = parse_programme(_one('task = "side-plank"\nsides = ["right"]\nhold_s = 15')
                           + _one('task = "single-leg-bridge-left"\nrepetitions = 8'))
    assert [b.task for b in prog.blocks()] == ["side-plank-right", "single-leg-bridge-left"]


def test_quick_cuts_every_dose():
    prog = load_programme(EXAMPLE)
    q = prog.quick()
    for a, b in zip(prog.items, q.items, strict=True):
        assert b.sets == min(a.sets, QUICK["sets"])
        assert b.rest_s == min(a.rest_s, QUICK["rest_s"])
        if a.repetitions is not None:
            assert b.repetitions == min(a.repetitions, QUICK["repetitions"])
        else:
            assert b.hold_s == min(a.hold_s, QUICK["hold_s"])
    assert len(q.blocks()) < len(prog.blocks())


@pytest.mark.parametrize(("text", "names"), [
    (_one('task = "hop"\nrepetitions = 5'), "hop"),                       # unknown exercise
    (_one('task = "bridge"\nsets = 3'), "repetitions"),                   # missing reps
    (_one('task = "plank"\nsets = 3'), "hold_s"),                         # missing hold
    (_one('task = "plank"\nrepetitions = 3'), "hold_s"),                  # reps for a hold
    (_one('task = "bridge"\nhold_s = 10'), "repetitions"),                # hold for reps
    (_one('task = "bridge"\nrepetitions = -5'), "repetitions"),           # negative
    (_one('task = "bridge"\nrepetitions = 0'), "repetitions"),            # zero
    (_one('task = "bridge"\nrepetitions = 5\nsets = -1'), "sets"),
    (_one('task = "bridge"\nrepetitions = 5\nsets = 1.5'), "sets"),       # not whole
    (_one('task = "bridge"\nrepetitions = true'), "repetitions"),         # not a number
    (_one('task = "plank"\nhold_s = -20'), "hold_s"),
    (_one('task = "bridge"\nrepetitions = 5\nrest_s = -30'), "rest_s"),
    (_one('task = "bridge"\nrepetitions = 5\ncue_deg = -1'), "cue_deg"),
    (_one('task = "bridge"\nrepetitions = 5\nsides = ["left"]'), "sides"),   # no sides
    (_one('task = "clamshell"\nrepetitions = 5\nsides = ["up"]'), "sides"),
    (_one('task = "clamshell"\nrepetitions = 5\nsides = ["left", "left"]'), "left"),
    (_one('task = "bridge"\nrepetitions = 5\nreps = 3'), "reps"),          # unknown key
    (_one('task = "bridge"\nrepetitions = 5', top="programme = 1"), "programme"),
    (_one('sets = 2'), "task"),
    ('name = "nothing"\n', "exercise"),                                   # no exercises
    ('[[exercise]\ntask = "bridge"', "TOML"),                             # not TOML
    (_one('task = "bridge"\nrepetitions = 5', top="prepare_s = -3"), "prepare_s"),
])
def test_a_programme_that_cannot_be_followed_is_one_clear_error(tmp_path, capsys, text,
                                                                 names):
    with pytest.raises(ProgrammeError) as e:
        parse_programme(text)
    assert names in str(e.value) and "\n" not in str(e.value)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code, _, err = run(capsys, "exercise", path, "--simulate", "--headless")
    assert code == 1 and str(path) in err


def test_a_missing_programme_file_is_one_clear_error(tmp_path, capsys):
    code, _, err = run(capsys, "exercise", tmp_path / "none.toml", "--simulate", "--headless")
    assert code == 1 and "none.toml" in err


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_programme_or_a_programme_error(text):
    try:
        prog = parse_programme(text)
    except ProgrammeError:
        return
    assert all(b.task in EXERCISES for b in prog.blocks())


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["task", "sets", "repetitions", "hold_s", "sides",
                                        "rest_s", "switch_s", "cue_deg", "other"]),
                       st.one_of(st.integers(-3, 30), st.floats(allow_nan=True),
                                 st.booleans(), st.sampled_from(["bridge", "plank",
                                                                 "clamshell", "x"]),
                                 st.lists(st.sampled_from(["left", "right", "up"]),
                                          max_size=3)),
                       max_size=6))
def test_any_exercise_table_is_accepted_whole_or_refused(raw):
    """An [[exercise]] table of any values: a valid item, or a ProgrammeError."""
    import math

    from sacrum.apps.exercise.programme import _item

    try:
        it = _item(0, raw, {"switch_s": 10.0}, "p")
    except ProgrammeError:
        return
    assert isinstance(it.sets, int) and it.sets >= 1
    assert (it.repetitions is None) != (it.hold_s is None)
    assert it.repetitions is None or (isinstance(it.repetitions, int) and it.repetitions > 0)
    assert it.hold_s is None or (math.isfinite(it.hold_s) and it.hold_s > 0)
    assert math.isfinite(it.rest_s) and it.rest_s >= 0
    assert all(it.task_for(s) in EXERCISES for s in (it.sides or (None,)))
