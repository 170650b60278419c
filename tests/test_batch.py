"""``sacrum batch`` (sacrum.apps.batch): parallel, resumable, one bad file reported without
stopping the rest; the same per-capture function on a Dask LocalCluster. Fixtures: short
phantom walks (tests/test_report.py) and a damaged file."""

from __future__ import annotations

import csv
import io
import shutil

import pytest

from phantoms import phantom_capture
from sacrum.apps.batch import COLUMNS, run_batch
from sacrum.apps.cli import main


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("study")
    (d / "site-b").mkdir()
    phantom_capture(d / "a.sacrum", drop_deg=(4.0, 9.0), n_steps=30)
    phantom_capture(d / "site-b" / "b.sacrum", drop_deg=(5.0, 5.0), n_steps=30, seed=1)
    (d / "broken.sacrum").write_bytes(b"not a capture at all")
    return d


def _rows(path):
    with open(path, newline="") as f:
        return {r["path"].rsplit("/", 1)[-1]: r for r in csv.DictReader(f)}


def test_a_bad_file_is_reported_and_the_rest_analysed_then_resumed(folder, tmp_path):
    out = tmp_path / "results.csv"
    bar = io.StringIO()
    res = run_batch(folder, out, jobs=2, options={"mount": "recommended"}, progress=bar)
    assert (res.analysed, res.cached, res.failed) == (2, 0, 1)
    assert "3/3" in bar.getvalue()
    rows = _rows(out)
    assert list(next(iter(rows.values()))) == list(COLUMNS)
    assert rows["broken.sacrum"]["status"] == "error"
    assert "not a sacrum capture" in rows["broken.sacrum"]["error"]
    assert float(rows["a.sacrum"]["contralateral_drop_R_deg"]) == pytest.approx(9.0, abs=0.8)
    # interrupted and started again (one result lost): only what is missing is analysed
    parts = sorted((tmp_path / "results.parts").glob("*.json"))
    assert len(parts) == 2
    parts[0].unlink()
    res = run_batch(folder, out, jobs=1, options={"mount": "recommended"})
    assert (res.analysed, res.cached, res.failed) == (1, 1, 1)
    again = _rows(out)
    assert again["a.sacrum"]["score"] == rows["a.sacrum"]["score"]
    # a moved capture is the same content: not analysed again
    shutil.move(folder / "site-b" / "b.sacrum", folder / "b-moved.sacrum")
    try:
        res = run_batch(folder, out, options={"mount": "recommended"})
        assert (res.analysed, res.cached) == (0, 2)
    finally:
        shutil.move(folder / "b-moved.sacrum", folder / "site-b" / "b.sacrum")


def test_parquet_and_dask_local_cluster_give_the_same_rows(folder, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    distributed = pytest.importorskip("distributed")
    ref = tmp_path / "ref.csv"
    run_batch(folder, ref, options={"mount": "recommended"})
    out = tmp_path / "results.parquet"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        assert main(["batch", str(folder), "--out", str(out), "--scheduler",
                     cluster.scheduler_address, "--mount", "recommended", "-q"]) == 2
        # exit 2: all written, but one file failed (broken.sacrum)
    table = pq.read_table(out).to_pylist()
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in table}
    want = _rows(ref)
    assert set(by_name) == set(want)
    assert by_name["broken.sacrum"]["status"] == "error"
    for name in ("a.sacrum", "b.sacrum"):
        assert by_name[name]["cached"] is False
        assert by_name[name]["score"] == pytest.approx(float(want[name]["score"]))
        assert by_name[name]["n_steps"] == int(want[name]["n_steps"])


def test_unusable_outputs_and_folders_fail_early(tmp_path, capsys):
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "x.csv")]) == 1
    assert "no captures" in capsys.readouterr().err
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "x.xlsx")]) == 1
    assert ".csv or .parquet" in capsys.readouterr().err
