"""The guided exercise session (sacrum.apps.exercise): the state machine on a phantom of a
person following the programme, the whole command headless against ``sacrum.analyze`` of
the capture it recorded, and the window offscreen."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

import sacrum
from cli_contract import run
from sacrum.apps.exercise.guided import FINISHED, REST, GuidedSession, cue_threshold_deg
from sacrum.apps.exercise.programme import load_programme, parse_programme
from sacrum.apps.exercise.simulate import programme_phantom
from sacrum.scoring.exercises import load_exercise_bands
from sacrum.scoring.exercises.posture import body_orientation, body_rates

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "programme.toml"
ARTIFACTS = ROOT / "tests" / "artifacts"

PROGRAMME = """
name = "test"
prepare_s = 6
[[exercise]]
task = "bridge"
sets = 2
repetitions = 4
rest_s = 8
[[exercise]]
task = "plank"
hold_s = 8
rest_s = 8
[[exercise]]
task = "clamshell"
sides = ["right"]
repetitions = 3
rest_s = 8
[[exercise]]
task = "bird-dog"
repetitions = 4
"""


def _follow(prog, ph, chunk: int = 11, skip_at_s: float | None = None):
    """The guided session on the phantom's true orientation, ``chunk`` samples at a time;
    returns it and the task changes (t_s, task or None)."""
    tasks: list[tuple[float, str | None]] = []
    g = GuidedSession(prog, ph.rate_hz, on_task=lambda x: tasks.append((g.t_s, x)))
    qb = body_orientation(ph.q_sensor_to_earth, ph.q_sensor_to_body)
    gyr = body_rates(ph.gyr_radps, ph.q_sensor_to_body)
    acc = body_rates(ph.acc_mps2, ph.q_sensor_to_body)
    for i in range(0, len(ph.t_s), chunk):
        sl = slice(i, i + chunk)
        g.update(ph.t_s[sl], qb[sl], gyr[sl], acc[sl])
        if skip_at_s is not None and g.t_s >= skip_at_s:
            g.skip()
            skip_at_s = None
    g.finish()
    return g, tasks


@pytest.fixture(scope="module")
def followed():
    prog = parse_programme(PROGRAMME)
    ph = programme_phantom(prog, seed=3)
    g, tasks = _follow(prog, ph)
    return prog, ph, g, tasks


def test_every_set_is_counted_exactly_and_the_programme_advances(followed):
    prog, ph, g, tasks = followed
    blocks = prog.blocks()
    assert g.state == FINISHED and len(g.results) == len(blocks)
    for res, truth in zip(g.results, ph.blocks, strict=True):
        b = res.block
        assert res.completed, b
        if b.held:
            assert res.n_holds == 1 and res.hold_s >= b.hold_s
            assert abs(res.hold_s - truth["phantom"].holds[0].hold_s) < 0.2
        else:
            reps = truth["phantom"].reps
            assert res.n_repetitions == b.repetitions == sum(not r.partial for r in reps)
            assert res.n_partial == sum(r.partial for r in reps)
            assert res.rep_partial == [r.partial for r in reps]
    # one task per set, in order, each stopped before the next starts
    assert [x for _, x in tasks] == [v for b in blocks for v in (b.task, None)]
    starts, stops = tasks[0::2], tasks[1::2]
    assert abs(starts[0][0] - prog.prepare_s) < 0.2
    for b, (t_stop, _), (t_next, _) in zip(blocks, stops, starts[1:], strict=False):
        assert t_next - t_stop == pytest.approx(b.rest_after_s, abs=0.2)  # the rest
    for res, (t0, _), (t1, _) in zip(g.results, starts, stops, strict=True):
        assert (res.t_start_s, res.t_end_s) == (t0, t1)


def test_cues_come_inside_a_repetition_or_hold_and_never_in_rest(followed):
    _, ph, g, tasks = followed
    bands = load_exercise_bands()
    assert g.cues
    rests = list(zip([t for t, _ in tasks[1::2]], [t for t, _ in tasks[2::2]], strict=False))
    for c in g.cues:
        assert not any(a < c.t_s < b for a, b in rests), c
        truth = ph.blocks[c.block]["phantom"]
        spans = ([(r.t_start_s - 1.0, r.t_end_s + 1.0) for r in truth.reps]
                 or [(h.t_start_s, h.t_end_s + 0.5) for h in truth.holds])
        assert any(a <= c.t_s <= b for a, b in spans), c
    for res, truth in zip(g.results, ph.blocks, strict=True):
        b = res.block
        metric, thr, _ = cue_threshold_deg(b, bands)
        cues = [c for c in g.cues if c.block == b.index]
        assert res.cues == len(cues)
        if b.held:   # the phantom's control fails by 7.5° over the hold's second half
            assert len(cues) >= 1
            continue
        for r in truth["phantom"].reps:
            v = r.metrics_deg[metric]
            cued = any(r.t_start_s - 1.0 <= c.t_s <= r.t_end_s + 1.0 for c in cues)
            if v > thr + 0.5:
                assert cued, (b.task, r.t_start_s, v, thr)
            elif v < thr - 0.5:
                assert not cued, (b.task, r.t_start_s, v, thr)


def test_a_steady_pelvis_gets_no_repetition_cue():
    """Deviations a fifth of the phantom's (the drive unchanged): counted, never cued. (In
    a clamshell the roll is both the count and the fault; a bird dog's count is the
    pelvis's motion itself.)"""
    prog = parse_programme("""
[[exercise]]
task = "bridge"
sets = 2
repetitions = 4
rest_s = 8
[[exercise]]
task = "single-leg-deadlift-left"
repetitions = 3
""")
    ph = programme_phantom(prog, seed=3, fault_scale=0.2)
    g, _ = _follow(prog, ph, chunk=37)
    assert [r.n_repetitions for r in g.results if not r.block.held] == [
        b.repetitions for b in prog.blocks() if not b.held]
    assert not [c for c in g.cues if c.what == "repetition"]


def test_skip_ends_a_set_early_and_rests(followed):
    prog, ph, _, _ = followed
    g, tasks = _follow(prog, ph, skip_at_s=prog.prepare_s + 12.0)
    first = g.results[0]
    assert not first.completed and first.n_repetitions < first.block.repetitions
    assert tasks[1][1] is None and tasks[1][0] == pytest.approx(prog.prepare_s + 12.0, abs=0.2)
    assert g.results[1].block.index == 1


def test_rest_shows_a_countdown_and_no_live_signal(followed):
    prog, ph, _, _ = followed
    g = GuidedSession(prog, ph.rate_hz)
    qb = body_orientation(ph.q_sensor_to_earth, ph.q_sensor_to_body)
    gyr = body_rates(ph.gyr_radps, ph.q_sensor_to_body)
    acc = body_rates(ph.acc_mps2, ph.q_sensor_to_body)
    seen = []
    for i in range(0, len(ph.t_s), 50):
        g.update(ph.t_s[i:i + 50], qb[i:i + 50], gyr[i:i + 50], acc[i:i + 50])
        s = g.state_now()
        if s.state == REST:
            assert math.isnan(s.live_value_deg) and not s.in_repetition
            if len(g.results) == 1:  # the first rest
                seen.append(s.remaining_s)
        if len(g.results) >= 2:
            break
    assert seen and max(seen) <= prog.blocks()[0].rest_after_s
    assert all(a >= b for a, b in itertools.pairwise(seen))


# ---- the command, headless: the live counts are sacrum.analyze's ---------------------------

@pytest.fixture(scope="module")
def headless_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("exercise")
    return out, out / "session.sacrum", out / "session.json"


def test_the_simulated_session_headless_equals_the_analysis_of_its_capture(capsys,
                                                                          headless_run):
    _, cap, doc_path = headless_run
    code, stdout, _ = run(capsys, "exercise", EXAMPLE, "--simulate", "--headless", "--quick",
                          "--json", doc_path, "--record", cap)
    assert code == 0
    doc = json.loads(doc_path.read_text())
    blocks = load_programme(EXAMPLE).quick().blocks()
    assert [s["task"] for s in doc["sets"]] == [b.task for b in blocks]
    # the capture marks the sets itself: analyze finds them without --task
    rec = sacrum.load(cap)
    assert [m[0] for m in rec.marks] == [b.task for b in blocks]
    a = sacrum.analyze(cap, mount="recommended")
    reps, holds = a.repetitions, a.holds
    for s, (task, t0, t1) in zip(doc["sets"], rec.marks, strict=True):
        assert s["completed"]
        if s["target_hold_s"] is not None:
            h = holds[(holds.task == task) & (holds.t_start_s >= t0) & (holds.t_start_s <= t1)]
            assert len(h) == s["n_holds"] == 1
            assert h.hold_s.max() == pytest.approx(s["hold_s"], abs=0.2)
            assert s["hold_s"] >= s["target_hold_s"]
        else:
            r = reps[(reps.task == task) & (reps.t_start_s >= t0) & (reps.t_start_s <= t1)]
            assert int((~r.partial).sum()) == s["n_repetitions"] == s["target_repetitions"]
            assert int(r.partial.sum()) == s["n_partial"]
        assert s["final"]["found"]
        assert (s["final"]["n_repetitions"], s["final"]["n_holds"]) == (
            s["n_repetitions"], s["n_holds"])
    assert str(cap) in stdout


def test_the_guided_capture_carries_its_mounting_and_needs_no_mount(capsys, headless_run):
    """The session writes the mounting it used into its capture (protocol/SPEC.md §5.2):
    analysed without --mount, the capture gives the answer of --mount with it (issue 16
    item 4). The session above gave none: the recommended one, recorded as the default."""
    _, cap, doc_path = headless_run
    if not cap.exists():   # run alone: make the capture as the test above does
        assert run(capsys, "exercise", EXAMPLE, "--simulate", "--headless", "--quick",
                   "--json", doc_path, "--record", cap)[0] == 0
    assert json.loads(doc_path.read_text())["mount_source"] == "default"
    rec = sacrum.load(cap)
    assert rec.mounting["spec"] == "recommended" and rec.mounting["source"] == "default"
    got, want = sacrum.analyze(cap), sacrum.analyze(cap, mount="recommended")
    assert got.mounting["source"] == "recorded"
    np.testing.assert_array_equal(got.mounting["q_sensor_to_body"],
                                  want.mounting["q_sensor_to_body"])
    for table in ("repetitions", "holds", "exercise_sets"):
        g, w = getattr(got, table), getattr(want, table)
        assert len(g) == len(w) > 0
        num = [c for c in w.columns if w[c].dtype.kind == "f"]
        np.testing.assert_array_equal(g[num].to_numpy(), w[num].to_numpy())


def test_the_window_shows_the_count_and_one_bar_per_repetition(qtbot):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtGui

    from sacrum.apps.exercise.cli import make_session
    from sacrum.apps.exercise.view import FAIR, GOOD, POOR, ExerciseWindow, bar_colour

    prog = parse_programme(PROGRAMME)
    session = make_session(prog, "simulate", None, mount="recommended", speed=None,
                           record=None, seed=3)
    hook = session.sample_hook

    def until_two(t, chunk, u):  # stop in the first set, after its second repetition
        hook(t, chunk, u)
        g = session.guided
        if g.results == [] and g._result is not None and g._result.n_repetitions >= 2:
            session.stop()

    session.sample_hook = until_two
    session.run_sync()
    w = ExerciseWindow(session, audio=False)
    qtbot.addWidget(w)
    w.resize(900, 640)
    g = w.refresh()
    # the set has cued before the window was attached: past cues are not flashed now
    assert len(g.cues) >= 1 and w.feedback.delivered == 0
    assert w.count_label.text() == f"{g.n_full} / {prog.blocks()[0].repetitions}"
    assert g.n_full == 2
    assert w.exercise_label.text() == "Bridge" and "set 1 of 2" in w.set_label.text()
    assert len(w.bars.values) == g.n_full + g.n_partial
    assert sum(not p for p in w.bars.partial) == g.n_full
    ARTIFACTS.mkdir(exist_ok=True)
    assert w.grab().save(str(ARTIFACTS / "exercise_window.png"))
    # the bars drawn are the repetitions' colours: each colour's bars show in the pixels
    img = w.bars.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    px = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), -1, 4)[:, :img.width()]
    for colour in (GOOD, FAIR, POOR):
        rgb = QtGui.QColor(colour)
        n = int(np.sum((px[..., 2] == rgb.red()) & (px[..., 1] == rgb.green())
                       & (px[..., 0] == rgb.blue())))
        drawn = [bar_colour(v, p, g.threshold_deg, g.poor_deg) for v, p in
                 zip(w.bars.values, w.bars.partial, strict=True)]
        assert (n > 100) == (colour in drawn), (colour, n, drawn)


def test_lost_samples_inside_a_set_are_gaps_not_a_new_posture(followed):
    """0.3 s lost in the middle of every set (no rows at all, as a live link loses them):
    the session inserts NaN rows as the offline analysis has them; the counts stand."""
    prog, ph, g_all, _ = followed
    keep = np.ones(len(ph.t_s), bool)
    for res in g_all.results:
        mid = 0.5 * (res.t_start_s + res.t_end_s)
        keep[(ph.t_s >= mid) & (ph.t_s < mid + 0.3)] = False
    lossy = dataclasses.replace(ph, t_s=ph.t_s[keep], acc_mps2=ph.acc_mps2[keep],
                                gyr_radps=ph.gyr_radps[keep],
                                q_sensor_to_earth=ph.q_sensor_to_earth[keep])
    g, _ = _follow(prog, lossy)
    assert [(r.n_repetitions, r.n_partial, r.n_holds) for r in g.results] == [
        (r.n_repetitions, r.n_partial, r.n_holds) for r in g_all.results]
