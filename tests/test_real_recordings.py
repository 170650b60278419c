"""Never a traceback on a real recording (issue 12 item 4), and the README's commands do
what it says (issue 13 item 5).

Every analysis command runs, in this process through ``sacrum.apps.cli.main``, on every real
recording of ``../shared/data`` written as an IMU CSV into the test's temporary folder
(Mobilise-D HA/001, every IPOL trial, every BROAD trial as non-walking IMU data; IPOL is
AGPL: read from ../shared, never copied into the repository), on a subset made into
captures by ``sacrum simulate`` (the firmware under MicroPython; made once per module),
on truncations of those captures at seeded random points, and on IMU tables hypothesis
makes (standing, noise, one second, NaN runs, saturated, a time in ms, g, °/s, ';' and
decimal commas, a .sacrum that is not a capture). The contract, :func:`run`: exit 0 with
its output written, or exit 1 with one line ``sacrum COMMAND: error: ...`` on stderr;
never a traceback, never the "internal error" of a bug (exit 3). Every figure of every
report says what it shows or, with nothing to draw, says so inside it.

Time (2 cores): the rendered report takes seconds, so the CLI's report runs (HTML) on
every mobgap and BROAD CSV (and the PDF too on BROAD) and on each IPOL person's first
trial; the other IPOL trials get every other command through the CLI and their report
built (every figure made) from their analysis, without the pixels. The PDF is rendered
for three of the captures and the person report.

The tests of the real recordings skip, with the reason, when ../shared/data is not
there; the hypothesis-made tables need nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_contract import run, written
from sacrum.analysis import read_input
from sacrum.apps.cli import main
from sacrum.io.capture import CaptureError
from sacrum.io.decode import decode_capture
from sacrum.io.imucsv import UnitsError, read_imu_csv

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
G_MPS2 = 9.80665



# -- the recordings as IMU CSVs ----------------------------------------------------------
def write_imu_csv(path: Path, t, acc, gyr, *, sep: str = ",", decimal: str = ".") -> Path:
    """t (s), acc (m/s²), gyr (rad/s); lost samples "nan", any separator and decimal mark."""
    import io

    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([t, acc, gyr]), fmt=["%.6f"] + ["%.7g"] * 6,
               delimiter=sep)
    body = buf.getvalue()
    path.write_text(sep.join(("t", "ax", "ay", "az", "gx", "gy", "gz")) + "\n"
                    + (body.replace(".", decimal) if decimal != "." else body))
    return path


def _mobgap():
    import scipy.io

    mat = scipy.io.loadmat(DATA / "mobgap/HA/001/data.mat", simplify_cells=True)
    for test, trials in mat["data"]["TimeMeasure1"].items():
        for trial, rec in trials.items():
            su = rec["SU"]["LowerBack"]  # g and deg/s; Timestamp: Unix time (s)
            yield (f"mobgap-{test}-{trial}", np.asarray(su["Timestamp"], float),
                   np.asarray(su["Acc"], float) * G_MPS2, np.deg2rad(np.asarray(su["Gyr"], float)))


def _ipol():
    for p in sorted((DATA / "ipol").glob("*_lb.txt")):
        d = np.loadtxt(p, skiprows=2)
        k = (d[:, 0] - d[0, 0]).astype(int)  # packet timeline: gaps are lost samples
        full = np.full((k[-1] + 1, 6), np.nan)
        full[k] = d[:, 1:7]
        yield f"ipol-{p.name[:-7]}", np.arange(len(full)) / 100.0, full[:, :3], full[:, 3:]


def _broad():
    import scipy.io

    for p in sorted((DATA / "broad").glob("*.mat")):
        b = scipy.io.loadmat(p, simplify_cells=True)
        acc = np.asarray(b["imu_acc"], float)
        yield (f"broad-{p.stem[:2]}", np.arange(len(acc)) / float(b["sampling_rate"]), acc,
               np.asarray(b["imu_gyr"], float))


def _names() -> list[str]:
    if not DATA.is_dir():
        return []
    mobgap = ["mobgap-Test5-Trial1", "mobgap-Test5-Trial2", "mobgap-Test11-Trial1"]
    ipol = sorted(p.name[:-7] for p in (DATA / "ipol").glob("*_lb.txt"))
    broad = sorted(p.stem[:2] for p in (DATA / "broad").glob("*.mat"))
    return mobgap + [f"ipol-{x}" for x in ipol] + [f"broad-{x}" for x in broad]


NAMES = _names()
#: Made into captures by the firmware in the loop: every mobgap trial, the first IPOL trial
#: of three people, one BROAD trial (simulating all 44 and running every command on each
#: would take minutes; the CSV test covers every recording).
CAPTURED = [n for n in NAMES if n.startswith("mobgap")
            or n in ("ipol-1-1", "ipol-3-1", "ipol-5-1", "broad-10")]


@pytest.fixture(scope="module")
def csvs(tmp_path_factory) -> dict[str, Path]:
    """Every recording as an IMU CSV in a temporary folder (never in the repository)."""
    if not DATA.is_dir():
        pytest.skip(f"no reference data at {DATA}")
    d = tmp_path_factory.mktemp("recordings")
    out = {}
    for gen in (_mobgap(), _ipol(), _broad()):
        for name, t, acc, gyr in gen:
            out[name] = write_imu_csv(d / f"{name}.csv", t, acc, gyr)
    return out


@pytest.fixture(scope="module")
def captures(csvs, tmp_path_factory) -> dict[str, Path]:
    """CAPTURED through ``sacrum simulate`` (once per module)."""
    d = tmp_path_factory.mktemp("captures")
    out = {}
    for name in CAPTURED:
        src = csvs[name]
        if name.startswith("broad"):  # its first 60 s (of 190): the firmware runs in real code
            src = d / f"{name}.csv"
            lines = csvs[name].read_text().splitlines(keepends=True)
            src.write_text("".join(lines[:1 + 60 * 286]))
        out[name] = d / f"{name}.sacrum"
        assert main(["simulate", "--imu", str(src), "--out", str(out[name])]) == 0
    return out


@pytest.fixture(scope="module")
def truncated(captures, tmp_path_factory) -> dict[str, Path]:
    """Each capture but two IPOL ones cut at a seeded random byte offset (a recorder
    killed mid-write): the short walks early (too little left to analyse), the long ones
    late (enough left), BROAD anywhere."""
    d = tmp_path_factory.mktemp("truncated")
    rng = np.random.default_rng(12)
    where = {"mobgap-Test5-Trial1": (0.0, 0.5), "mobgap-Test5-Trial2": (0.0, 0.5),
             "mobgap-Test11-Trial1": (0.6, 0.95), "ipol-1-1": (0.7, 0.97), "broad-10": (0, 1)}
    out = {}
    for name, (lo, hi) in where.items():
        buf = captures[name].read_bytes()
        cut = int(rng.uniform(lo, hi) * len(buf))
        out[f"{name}@{cut}"] = d / f"{name}-{cut}.sacrum"
        out[f"{name}@{cut}"].write_bytes(buf[:cut])
    return out


# -- every command on every recording ----------------------------------------------------
def csv_commands(capsys, src: Path, out: Path, *, report: str = "pdf",
                 options: tuple = ()) -> dict[str, int]:
    """analyze, report, export-tables (every table) on one IMU CSV or capture; the exit
    code of each. ``report``: "pdf" (HTML and PDF), "html", or "figures": the report built
    in this process from the analysis (every figure made, none rendered to pixels: a
    rendered report takes seconds, and the figures are where it crashed). ``options``:
    analysis options for all three (e.g. ``("--mount", "recommended")``)."""
    from sacrum.apps.report import build_report
    from sacrum.apps.sessions import open_sessions

    out.mkdir(parents=True, exist_ok=True)
    codes = {}
    codes["analyze"], _, _ = run(capsys, "analyze", src, "--json", out / "a.json", *options)
    if codes["analyze"] == 0:
        assert json.loads((out / "a.json").read_text())["format"] == "sacrum-analysis"
        built = build_report(open_sessions([str(out / "a.json")], "", None))
        for key, fig in built.figures.items():
            if key.rsplit("/", 1)[-1] in ("drop", "curves", "scatter", "repetitions"):
                for data, nothing in _figure_state(fig):
                    assert data != nothing, key  # draws, or says why not; never both
    if report == "figures" and codes["analyze"] == 0:
        codes["report"] = 0
    else:
        extra = ["--pdf", out / "r.pdf"] if report == "pdf" else []
        codes["report"], _, _ = run(capsys, "report", src, "--out", out / "r.html", *extra,
                                    *options)
    if codes["report"] == 0 and report != "figures":
        assert (out / "r.html").read_text().startswith("<!DOCTYPE html>")
        if report == "pdf":
            assert (out / "r.pdf").read_bytes().startswith(b"%PDF")
    tables = [out / "s.csv", out / "st.csv", out / "m.csv", out / "o.sto"]
    codes["export-tables"], _, _ = run(capsys, "export-tables", src, "--samples", tables[0],
                                       "--strides", tables[1], "--mobgap", tables[2],
                                       "--sto", tables[3], *options)
    if codes["export-tables"] == 0:
        written(*tables)
    return codes


@pytest.mark.parametrize("name", NAMES)
def test_every_command_on_every_recording_as_csv(name, csvs, capsys, tmp_path):
    src = csvs[name]
    # IPOL: the CLI's report (HTML and PDF) on each person's first trial, the report's
    # figures on the others (module docstring)
    kind = ("pdf" if name.startswith("broad") else "figures"
            if name.startswith("ipol") and not name.endswith("-1") else "html")
    codes = csv_commands(capsys, src, tmp_path, report=kind)
    # the analysis is the one the report and the tables read: they fail or succeed with it
    assert codes["report"] == codes["analyze"]
    rows = read_imu_csv(src)[0].size
    code, _, _ = run(capsys, "orient", src, "--out", tmp_path / "q.csv")
    if code == 0:
        assert np.loadtxt(tmp_path / "q.csv", delimiter=",", skiprows=1, ndmin=2).shape == (
            rows, 5)
    code, _, _ = run(capsys, "events", src, "--out", tmp_path / "e.csv")
    if code == 0:
        assert (tmp_path / "e.csv").read_text().splitlines()[0] == "t,event,side"
    if name.startswith(("mobgap", "ipol")):
        # walking recordings: the analysis runs (its crash was the report's figures)
        assert codes["analyze"] == 0 or name == "mobgap-Test5-Trial2", codes
    if name.startswith("ipol"):
        # the walk test's U-turn is measured and counted in its task's summary, also where
        # its soft steps split the walk into two bouts (ipol 2-3)
        meta = json.loads((DATA / "ipol" / f"{name[5:]}.json").read_text())
        u0, u1 = (x / 100.0 for x in meta["UTurnBoundaries"])
        doc = json.loads((tmp_path / "a.json").read_text())
        hit = [tr for tr in doc["turns"] if tr["t_start_s"] < u1 and tr["t_end_s"] > u0]
        assert hit and all(tr["task"] is not None for tr in hit), hit
        for tr in hit:
            task = next(t for t in doc["summary"]["tasks"] if t["task"] == tr["task"])
            assert task["turns_summary"]["n_turns"] >= 1


@pytest.mark.parametrize("name", CAPTURED)
def test_every_command_on_the_captures(name, captures, capsys, tmp_path):
    cap = captures[name]
    run(capsys, "info", cap)
    codes = csv_commands(capsys, cap, tmp_path, report="pdf" if name in (
        "mobgap-Test5-Trial1", "mobgap-Test11-Trial1", "ipol-1-1") else "html")
    assert codes["report"] == codes["analyze"]
    run(capsys, "live", "--replay", cap, "--headless", "--out-dir", tmp_path / "live")
    written(*(tmp_path / "live" / f for f in ("traces.png", "strides.png", "drops.png")))
    run(capsys, "export", cap, "--csv", tmp_path / "x.csv")
    assert len(read_imu_csv(tmp_path / "x.csv", check=False)[0]) == len(decode_capture(cap))
    if name in ("mobgap-Test5-Trial1", "broad-10"):  # the held-stance and repetition tasks
        for task in ("single-leg-stance-left", "step-down-right"):
            codes = csv_commands(capsys, cap, tmp_path / task, report="figures",
                                 options=("--task", task, "--mount", "recommended"))
            assert set(codes.values()) == {0}


def test_truncated_captures(truncated, capsys, tmp_path):
    """A capture cut anywhere (header included) is read as far as it goes or refused."""
    results = {}
    for name, cap in truncated.items():
        d = tmp_path / name
        results[name] = [run(capsys, "info", cap)[0],
                         run(capsys, "analyze", cap)[0],
                         run(capsys, "report", cap, "--out", d / "r.html")[0],
                         run(capsys, "export", cap, "--csv", d / "x.csv")[0],
                         run(capsys, "replay", cap, "--fast", "-q")[0]]
        if name.startswith("mobgap-Test5"):  # the live session too (seconds each: two)
            results[name].append(run(capsys, "live", "--replay", cap, "--headless",
                                     "--out-dir", d / "live")[0])
    # some cuts still hold a walk that can be analysed, some do not: both paths are taken
    assert any(r[1] == 0 for r in results.values()), results
    assert any(r[1] == 1 for r in results.values()), results


def test_batch_over_captures_and_truncations(captures, truncated, capsys, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for p in [*captures.values(), *truncated.values()]:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "not-a-capture.sacrum").write_text("t,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n")
    out = tmp_path / "results.csv"
    code, _, _ = run(capsys, "batch", folder, "--out", out, "-q", ok_codes=(0, 2))
    import csv

    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(list(folder.glob("*.sacrum")))
    failed = [r for r in rows if r["status"] == "error"]
    assert code == (2 if failed else 0)
    assert all(r["error"] and "internal error" not in r["error"] for r in failed), failed
    assert any(r["path"].endswith("not-a-capture.sacrum") for r in failed)
    assert sum(r["status"] == "ok" for r in rows) >= len(CAPTURED) - 2
    # resumable: a second run analyses nothing again
    code2, _, _ = run(capsys, "batch", folder, "--out", out, "-q", ok_codes=(0, 2))
    assert code2 == code
    assert [r["cached"] for r in csv.DictReader(out.open()) if r["status"] == "ok"] == [
        "True"] * (len(rows) - len(failed))


def test_sessions_and_person_report_with_a_short_session(captures, truncated, capsys,
                                                          tmp_path):
    lib = tmp_path / "lib"
    added = 0
    for cap in (captures[n] for n in ("mobgap-Test5-Trial1", "ipol-1-1", "broad-10")):
        code, _, _ = run(capsys, "sessions", "--library", lib, "add", cap, "--person", "P1",
                         "--date", "2025-01-02")
        added += code == 0
    # a short session: the straight walk's first 60 %, analysed with the mounting given
    walk = captures["mobgap-Test5-Trial1"].read_bytes()
    cut = tmp_path / "short.sacrum"
    cut.write_bytes(walk[:len(walk) * 6 // 10])
    code, _, _ = run(capsys, "sessions", "--library", lib, "add", cut, "--person", "P1",
                     "--date", "2025-01-03", "--mount", "x=up,y=right,z=forward")
    added += code == 0
    assert added >= 2
    code, text, _ = run(capsys, "sessions", "list", "--library", lib)
    assert code == 0 and len(text.strip().splitlines()) == added + 1  # a header and a row each
    code, _, _ = run(capsys, "report", "--person", "P1", "--library", lib,
                     "--out", tmp_path / "p.html", "--pdf", tmp_path / "p.pdf")
    assert code == 0
    written(tmp_path / "p.html", tmp_path / "p.pdf")
    code, text, _ = run(capsys, "sessions", "reanalyze", "--library", lib)
    assert code == 0 and len(text.strip().splitlines()) >= added  # a line per session


# -- figures with nothing to draw --------------------------------------------------------
def _figure_state(fig) -> list[tuple[bool, bool]]:
    """Per axes: (draws data, says it has nothing)."""
    out = []
    for ax in fig.axes:
        data = any(a.get_gid() and not a.get_gid().startswith("band")
                   for a in [*ax.patches, *ax.lines])  # the gids of drawn numbers
        data = data or any(len(c.get_offsets()) for c in ax.collections
                           if type(c).__name__ == "PathCollection")  # scatter points
        nothing = any(t.get_gid() == "nothing" for t in ax.texts)
        out.append((data, nothing))
    return out


def test_figures_without_steps_say_so(csvs, capsys, tmp_path):
    from sacrum.analysis import analyze
    from sacrum.apps.report import figures

    doc = analyze(csvs["mobgap-Test5-Trial1"]).to_json()
    task = dict(doc["summary"]["tasks"][0])
    for fig in (figures.drop_bars(task), figures.curves(task),
                figures.drop_scatter(doc["steps"], task)):
        for data, nothing in _figure_state(fig):
            assert data != nothing  # each axes draws or says why not, never both, never none
    empty = {**task, "contralateral_drop_deg": {"L": None, "R": None}, "curves": {},
             "contralateral_drop_sd_deg": {}, "n_steps_by_side": {}}
    for fig in (figures.drop_bars(empty), figures.curves(empty),
                figures.drop_scatter([], empty)):
        assert all(state == (False, True) for state in _figure_state(fig))
    # a step-down task whose repetitions were not found, and a hold that was not
    reps = {"task": "step-down-left", "kind": "repetitions", "side": "L",
            "components": task.get("components"),
            "repetitions": {"repetitions": [], "peak_drop_deg": None}}
    hold = {"task": "single-leg-stance-left", "kind": "stance", "side": "L",
            "single_leg_stance": {"trials": [], "drop_mean_deg": None}}
    for t in (reps, hold):
        assert _figure_state(figures.repetition_bars(t)) == [(False, True)]


# -- odd IMU tables (hypothesis) ---------------------------------------------------------
KINDS = ("standing", "noise", "one-second", "nan-runs", "saturated", "ms", "g", "deg/s",
         "walk")


def odd_table(kind: str, seed: int, n: int = 1500, rate: float = 100.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    up = rng.normal(size=3)
    up /= np.linalg.norm(up)
    acc = up * G_MPS2 + rng.normal(0, 0.03, (n, 3))
    gyr = rng.normal(0, 0.01, (n, 3))
    if kind == "walk":  # a vertical bounce and a roll at 1.8 steps/s
        ph = 2 * np.pi * 0.9 * t
        acc = acc + np.outer(np.sin(2 * ph), up) * 2.0 + np.outer(np.sin(ph), [1, 0, 0])
        gyr = gyr + np.outer(np.cos(ph), [0, 0.4, 0]) + np.outer(np.cos(2 * ph), [0.2, 0, 0])
    elif kind == "noise":
        acc = rng.normal(0, 6, (n, 3))
        gyr = rng.normal(0, 3, (n, 3))
    elif kind == "one-second":
        t, acc, gyr = t[:int(rate)], acc[:int(rate)], gyr[:int(rate)]
    elif kind == "nan-runs":
        for a in rng.integers(0, n - 50, 4):
            acc[a:a + rng.integers(1, 300)] = np.nan
            gyr[a:a + rng.integers(1, 50)] = np.nan
    elif kind == "saturated":  # a ±8 g / ±2000 °/s sensor clipping
        acc = np.clip(acc * rng.uniform(1, 30), -8 * G_MPS2, 8 * G_MPS2)
        gyr = np.clip(rng.normal(0, 40, (n, 3)), -34.9, 34.9)
    elif kind == "ms":
        t = t * 1000.0
    elif kind == "g":
        acc = acc / G_MPS2
    elif kind == "deg/s":
        gyr = np.rad2deg(gyr + rng.normal(0, 1.0, (n, 3)))
    return t, acc, gyr


@settings(max_examples=24, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), seed=st.integers(0, 2**16),
       fmt=st.sampled_from([(",", "."), (";", "."), (";", ","), ("\t", ",")]),
       mount=st.sampled_from([(), ("--mount", "recommended")]))
def test_odd_imu_tables(kind, seed, fmt, mount, capsys, tmp_path_factory):
    """With the mounting given, the analysis goes past the mounting finder on any table."""
    d = tmp_path_factory.mktemp("odd")
    src = write_imu_csv(d / "imu.csv", *odd_table(kind, seed), sep=fmt[0], decimal=fmt[1])
    codes = csv_commands(capsys, src, d / "out", report="html", options=mount)
    if kind in ("ms", "g", "deg/s", "saturated", "one-second"):
        assert set(codes.values()) == {1}  # refused, with the fix (the unit checks, 1 s)
    run(capsys, "orient", src, "--out", d / "q.csv")
    run(capsys, "events", src, "--out", d / "e.csv")


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                         st.just(b"t,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n")))
def test_a_file_named_sacrum_that_is_not_a_capture(content, capsys, tmp_path_factory):
    d = tmp_path_factory.mktemp("notcap")
    bad = d / "x.sacrum"
    bad.write_bytes(content)
    for argv in (["info", bad], ["analyze", bad], ["report", bad, "--out", d / "r.html"],
                 ["export-tables", bad, "--samples", d / "s.csv"],
                 ["live", "--replay", bad, "--headless", "--out-dir", d / "live"],
                 ["sessions", "--library", d / "lib", "add", bad, "--person", "P1"]):
        assert run(capsys, *argv)[0] == 1
    with pytest.raises(CaptureError):
        read_input(bad)


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.floats(-1e4, 1e4, allow_nan=False, width=32), min_size=12,
                       max_size=60).filter(lambda v: len(v) % 6 == 0),
       fmt=st.sampled_from([(";", "."), (";", ","), ("\t", ","), ("\t", ".")]))
def test_semicolons_and_decimal_commas_read_as_the_same_numbers(values, fmt, tmp_path_factory):
    d = tmp_path_factory.mktemp("fmt")
    x = np.asarray(values, float).reshape(-1, 6)
    t = np.arange(len(x)) * 0.01
    a = read_imu_csv(write_imu_csv(d / "a.csv", t, x[:, :3], x[:, 3:]), check=False)
    b = read_imu_csv(write_imu_csv(d / "b.csv", t, x[:, :3], x[:, 3:], sep=fmt[0],
                                   decimal=fmt[1]), check=False)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


def test_a_time_in_milliseconds_is_refused_with_the_fix(tmp_path):
    t, acc, gyr = odd_table("standing", 1)
    with pytest.raises(UnitsError):
        read_imu_csv(write_imu_csv(tmp_path / "ms.csv", t * 1000, acc, gyr))
    assert read_imu_csv(write_imu_csv(tmp_path / "s.csv", t, acc, gyr))[0][-1] == pytest.approx(
        t[-1])


# -- the README and the behaviour agree (issue 13 item 5) --------------------------------
def test_simulated_captures_carry_the_recording_time(csvs, captures, capsys, tmp_path):
    from datetime import UTC, datetime

    t0 = read_imu_csv(csvs["mobgap-Test5-Trial1"])[0][0]  # Unix time in the CSV
    hdr = decode_capture(captures["mobgap-Test5-Trial1"]).header
    assert hdr["start_time_ns"] == pytest.approx(t0 * 1e9, abs=1e6)
    assert hdr["created_utc"][:10] == datetime.fromtimestamp(t0, UTC).date().isoformat()
    # IPOL's t counts from 0: the capture does not pretend to know the date
    hdr = decode_capture(captures["ipol-1-1"]).header
    assert hdr["created_utc"] is None and hdr["recording_time"]
    lib = tmp_path / "lib"
    assert run(capsys, "sessions", "--library", lib, "add", captures["ipol-1-1"],
               "--person", "P2")[0] == 1  # no date known: --date is asked for
    code, _, _ = run(capsys, "sessions", "--library", lib, "add",
                     captures["mobgap-Test5-Trial1"], "--person", "P2")
    assert code == 0
    (folder,) = (lib / "P2").iterdir()
    assert folder.name.startswith(datetime.fromtimestamp(t0, UTC).date().isoformat())
