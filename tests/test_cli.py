"""The command line, the replay transport and the live decoder, end to end."""

from __future__ import annotations

import asyncio
import csv
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sacrum.apps.cli import CSV_COLUMNS, DEMO_CAPTURE, main
from sacrum.io.decode import decode_capture
from sacrum.io.stream import StreamDecoder
from sacrum.io.transports.replay import ReplayTransport
from sacrum.testing.generator import LinkModel, make_capture, synthetic_walk


@pytest.fixture(scope="module")
def lossy_capture(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "lossy.sacrum"
    q, acc, gyr = synthetic_walk(12, 100, seed=2)
    make_capture(path, q, acc, gyr, 100, link=LinkModel(p_transit_loss=0.05, p_device_drop=0.02),
                 seed=2, annotations=[(2.0, {"type": "task_start", "task": "stairs-up"}),
                                      (9.0, {"type": "task_stop", "task": "stairs-up"}),
                                      (5.0, {"type": "mark", "note": "knee pain"})])
    return path


def test_bundled_demo_capture_is_real_motion_with_walking_tasks():
    table = decode_capture(DEMO_CAPTURE)
    assert table.rate_hz == pytest.approx(100)
    assert table.duration_s > 120
    tasks = table.tasks()
    assert len(tasks) == 6 and all(t == "walk" and b > a for t, a, b in tasks)
    # gravity along the sensor's up axis (x as worn) while standing
    still = table.acc_mps2[:100]
    assert np.nanmean(still[:, 0]) == pytest.approx(9.8, abs=0.5)
    assert "Apache" in table.header["source"]


def test_info_prints_device_duration_rate_loss_and_tasks(lossy_capture, capsys):
    assert main(["info", str(lossy_capture)]) == 0
    out = capsys.readouterr().out
    table = decode_capture(lossy_capture)
    assert f"{table.loss.samples_lost:,} lost" in out
    assert "dropped at the device" in out
    assert "stairs-up" in out and "knee pain" in out
    assert "100.0 Hz" in out


def test_export_csv_has_the_pipeline_columns_and_nan_rows_for_lost_samples(lossy_capture,
                                                                          tmp_path):
    out = tmp_path / "s.csv"
    assert main(["export", str(lossy_capture), "--csv", str(out)]) == 0
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    table = decode_capture(lossy_capture)
    assert len(rows) == len(table)
    lost = [r for r in rows if r["lost"] == "1"]
    assert len(lost) == table.loss.samples_lost > 0
    assert all(r["qw"] == "nan" and r["t"] != "nan" for r in lost)
    got = np.array([[float(r[c]) for c in ("ax", "ay", "az")] for r in rows])
    np.testing.assert_allclose(got, table.acc_mps2, rtol=1e-8, atol=0)
    t = np.array([float(r["t"]) for r in rows])
    assert np.all(np.diff(t) > 0)


def test_bad_file_gives_one_line_error_and_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.sacrum"
    bad.write_bytes(b"not a capture at all")
    assert main(["info", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a sacrum capture" in err[0]
    assert main(["info", str(tmp_path / "missing.sacrum")]) == 1


def test_demo_command_runs_as_installed(tmp_path):
    """`sacrum demo` -- the README's main command -- through the console script; without a
    display (forced here) it runs headless: figures and the summary."""
    exe = Path(sys.executable).parent / "sacrum"
    csv_out = tmp_path / "demo.csv"
    r = subprocess.run([str(exe), "demo", "--headless", "--out-dir", str(tmp_path / "figs"),
                        "--csv", str(csv_out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "13,7" in r.stdout and "walk" in r.stdout and "cadence:" in r.stdout
    assert (tmp_path / "figs" / "traces.png").stat().st_size > 10_000
    assert csv_out.stat().st_size > 100_000


def _replay(path, speed):
    async def go():
        dec = StreamDecoder()
        packets = []
        async with ReplayTransport(path, speed=speed) as tr:
            async for p in tr:
                packets.append(p)
                dec.update(p)
        return dec, packets

    return asyncio.run(go())


@pytest.mark.realtime
def test_replay_paces_packets_in_real_time(tmp_path):
    path = tmp_path / "one_second.sacrum"
    q, acc, gyr = synthetic_walk(1.2, 200)
    make_capture(path, q, acc, gyr, 200, seed=1)
    t0 = time.monotonic()
    _, packets = _replay(path, 1.0)
    real = time.monotonic() - t0
    span = (packets[-1].host_time_ns - packets[0].host_time_ns) * 1e-9
    assert span > 1.0
    assert span - 0.05 < real < span + 0.5
    t0 = time.monotonic()
    _, fast = _replay(path, None)
    assert time.monotonic() - t0 < span / 2
    assert [p.data for p in fast] == [p.data for p in packets]


@pytest.mark.parametrize("link", [LinkModel(p_transit_loss=0.05, p_device_drop=0.02),
                                  LinkModel(mtu=23, p_transit_loss=0.05),
                                  LinkModel(serial=True, p_transit_loss=0.05)],
                         ids=["ble", "ble-mtu23", "serial"])
def test_live_decoder_agrees_with_offline_decoder(tmp_path, link):
    path = tmp_path / "c.sacrum"
    q, acc, gyr = synthetic_walk(20, 200, seed=9)
    make_capture(path, q, acc, gyr, 200, link=link, seed=9)
    dec, _ = _replay(path, None)
    off = decode_capture(path).loss
    live = dec.loss
    for field in ("samples_received", "samples_lost", "gaps", "longest_gap_samples",
                  "packets_received", "packets_lost", "packets_dropped_by_device",
                  "packets_lost_in_transit"):
        assert getattr(live, field) == getattr(off, field), field


def test_events_are_the_analysis_events(tmp_path):
    """`sacrum events` writes the ICs and FCs the analysis' steps are made of (it wired the
    gait stage itself and found other ICs than `sacrum analyze`)."""
    import sacrum

    samples = tmp_path / "daily.csv"
    assert main(["export", str(DEMO_CAPTURE), "--csv", str(samples)]) == 0
    out = tmp_path / "events.csv"
    assert main(["events", str(samples), "--out", str(out)]) == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    analysis = sacrum.analyze(samples)
    ev = analysis.events.sort_values("t_s", kind="stable")
    assert [(r["event"], r["side"]) for r in rows] == list(zip(ev["kind"], ev["side"],
                                                               strict=True))
    np.testing.assert_allclose([float(r["t"]) for r in rows], ev["t_s"], atol=6e-4)
    ics = [float(r["t"]) for r in rows if r["event"] == "IC"]
    steps = analysis.steps["t_ic_s"].to_numpy()
    assert len(steps) > 20 and set(np.round(steps, 3)) <= set(np.round(ics, 3))


def test_a_reader_that_goes_away_is_not_an_error(lossy_capture):
    # `sacrum info X | head -0`: the pipe closes before sacrum writes; it stops quietly, exit 0
    proc = subprocess.Popen([sys.executable, "-m", "sacrum.apps.cli", "info", str(lossy_capture)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert err == b""
