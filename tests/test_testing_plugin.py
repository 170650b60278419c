"""The pytest plugin (sacrum.testing.plugin) as a project uses it, run by pytest's own
``pytester``: the documented example test passes, the markers and options choose the
recording, pace and faults, bad values fail one test with a one-line reason, and the
entry point module (``pytest_sacrum``) loads the fixtures only when the project asks.
Outcomes are read from each run's JUnit XML. The runs are in-process, so their test files
are named apart from this suite's own modules."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy.fft  # noqa: F401  (imported before the in-process runs: pytester removes
import pytest  # the modules a run imports, and numpy's C modules cannot load twice)

import sacrum.analysis
import sacrum.testing.plugin  # noqa: F401
from sacrum.testing import phantom_walk

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


def documented_example() -> str:
    """The complete example test of docs/testing.md."""
    text = (ROOT / "docs" / "testing.md").read_text()
    (block,) = re.findall(r"```python\n(# test_my_app\.py.*?)```", text, re.S)
    return block


def outcomes(pytester: pytest.Pytester, *args: str) -> dict[str, int]:
    """Counts of one run; the plugins it uses are named (-p), none is auto-loaded."""
    xml = pytester.path / "junit.xml"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        pytester.runpytest_inprocess(f"--junitxml={xml}", *args)
    suite = ET.parse(xml).getroot().find("testsuite")
    counts = {k: int(suite.get(k)) for k in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copy(ROOT / "examples" / "bleak_app.py", pytester.path / "my_app.py")
    pytester.syspathinsert()
    return pytester


def test_the_documented_example_passes(project):
    project.makepyfile(test_my_app=documented_example())
    assert outcomes(project, "-p", "sacrum.testing.plugin") == {
        "tests": 6, "passed": 6, "failures": 0, "errors": 0, "skipped": 0}


def test_a_failing_expectation_fails(project):
    """The fixtures report what happened: a test expecting no loss fails under a drop."""
    project.makepyfile(test_inner_loss="""
        import asyncio, io, pytest, my_app

        @pytest.mark.sacrum_faults(drop=[3])
        def test_no_loss(sacrum_replay):
            s = asyncio.run(my_app.stream_samples(out=io.StringIO(), scan_timeout_s=2.0))
            assert s.missing_packets == 0
    """)
    assert outcomes(project, "-p", "sacrum.testing.plugin")["failures"] == 1


def test_markers_options_and_ini_choose_the_recording_and_pace(project, tmp_path):
    walk = phantom_walk(project.path / "walk.sacrum", n_steps=8)
    other = phantom_walk(project.path / "other.sacrum", n_steps=6, rate_hz=50)
    project.makeini("""
        [pytest]
        sacrum_capture = other.sacrum
        sacrum_speed = 4
    """)
    project.makepyfile(test_inner_choice=f"""
        import pytest
        from sacrum.resources import demo_capture

        def test_ini(sacrum_capture, sacrum_replay):
            assert sacrum_capture.name == "other.sacrum"
            assert sacrum_replay.speed == 4.0
            assert len(sacrum_replay.recording.data) == {len(load(other.capture))}

        @pytest.mark.sacrum_capture("walk.sacrum")
        @pytest.mark.sacrum_realtime
        def test_marker(sacrum_capture, sacrum_replay):
            assert sacrum_capture.name == "walk.sacrum"
            assert sacrum_replay.speed == 1.0

        @pytest.mark.sacrum_fast
        @pytest.mark.sacrum_device(at_end="stay", mtu=185)
        def test_fast(sacrum_replay):
            assert sacrum_replay.speed is None and sacrum_replay.mtu == 185

        @pytest.mark.sacrum_speed(12.5)
        @pytest.mark.sacrum_faults(drop=[1, 2], disconnect_at_s=[3.0], outage_s=0.5)
        def test_speed_and_faults(sacrum_replay):
            assert sacrum_replay.speed == 12.5
            assert sacrum_replay.faults.drop == {{1, 2}}
            assert sacrum_replay.faults.disconnect_at_s == (3.0,)
    """)
    assert outcomes(project, "-p", "sacrum.testing.plugin")["passed"] == 4
    # the command line wins over the ini file
    project.makepyfile(test_inner_cli="""
        def test_cli(sacrum_capture, sacrum_replay):
            assert sacrum_capture.name == "walk.sacrum"
            assert sacrum_replay.speed is None
    """)
    assert outcomes(project, "-p", "sacrum.testing.plugin", "test_inner_cli.py",
                    "--sacrum-capture", str(walk.capture), "--sacrum-speed", "fast"
                    )["passed"] == 1


def load(path):
    from sacrum.testing import load_recording

    return load_recording(path).data


def test_the_bundled_capture_is_the_default(project):
    project.makepyfile(test_inner_default="""
        from sacrum.resources import demo_capture

        def test_default(sacrum_capture):
            assert sacrum_capture == demo_capture()
    """)
    assert outcomes(project, "-p", "sacrum.testing.plugin")["passed"] == 1


def test_bad_values_fail_the_test_not_the_run(project):
    project.makepyfile(test_inner_bad="""
        import pytest

        @pytest.mark.sacrum_capture("no-such-file.sacrum")
        def test_missing(sacrum_replay):
            pass

        @pytest.mark.sacrum_speed("quick")
        def test_speed(sacrum_replay):
            pass

        @pytest.mark.sacrum_faults(drop=[-1])
        def test_faults(sacrum_replay):
            pass

        def test_fine(sacrum_replay):
            pass
    """)
    got = outcomes(project, "-p", "sacrum.testing.plugin")
    assert got["errors"] == 3 and got["passed"] == 1


def test_a_bad_default_speed_stops_the_run(project):
    project.makepyfile(test_inner_any="def test_any():\n    pass\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        result = project.runpytest_inprocess("-p", "sacrum.testing.plugin",
                                             "--sacrum-speed", "-3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_the_phantom_fixture_knows_its_truth(project):
    project.makepyfile(test_inner_ph="""
        def test_ph(sacrum_phantom):
            a = sacrum_phantom(rate_hz=50, drop_deg=(2.0, 6.0), n_steps=10)
            b = sacrum_phantom(rate_hz=200, mount="x=forward,y=left,z=up", n_steps=10)
            assert a.capture != b.capture and a.capture.is_file() and b.capture.is_file()
            assert abs(a.drop_deg["L"] - 2.0) < 1.0 and abs(a.drop_deg["R"] - 6.0) < 1.0
            assert b.rate_hz == 200 and b.samples > a.samples
    """)
    assert outcomes(project, "-p", "sacrum.testing.plugin")["passed"] == 1


# --- enabling: only when asked ----------------------------------------------------------
FIXTURE_TEST = """
    def test_uses_the_fixture(sacrum_capture):
        assert sacrum_capture.is_file()
"""


@pytest.fixture
def entry_point(project):
    """The entry point module importable, as an installed sacrum makes it."""
    project.syspathinsert(ROOT / "host")
    return project


def test_without_asking_there_are_no_fixtures(entry_point):
    entry_point.makepyfile(test_inner_f=FIXTURE_TEST)
    assert outcomes(entry_point, "-p", "pytest_sacrum")["errors"] == 1  # fixture not found


def test_the_ini_switch_loads_the_fixtures(entry_point):
    entry_point.makeini("""
        [pytest]
        sacrum_replay = true
    """)
    entry_point.makepyfile(test_inner_f=FIXTURE_TEST)
    assert outcomes(entry_point, "-p", "pytest_sacrum")["passed"] == 1


def test_a_conftest_can_ask_for_them(project):
    project.makeconftest('pytest_plugins = ["sacrum.testing.plugin"]')
    project.makepyfile(test_inner_f=FIXTURE_TEST)
    assert outcomes(project)["passed"] == 1
