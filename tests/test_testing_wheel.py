"""sacrum's fixtures in a user's project: the wheel installed into a fresh environment.

The wheel is built from a copy of the sources (``pip wheel --no-build-isolation``: no
network; skipped when this environment cannot build it offline) and installed with pip
into a new venv, whose site-packages comes first on its path; the heavy dependencies
(numpy, bleak, pytest, ...) come from this environment's site-packages through a ``.pth``
line, which adds the folder but runs none of its own ``.pth`` files -- so the checkout's
editable install stays out, and ``import sacrum`` is the wheel's (checked).

Two throwaway projects: one enables the plugin (``sacrum_replay = true``) and runs the
documented example test against ``my_app.py`` (examples/bleak_app.py); one does not:
there the entry point loads, no ``sacrum`` module is imported at start-up and the fixtures
do not exist.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "host", "protocol", "firmware", "hardware")


def _offline_build_possible() -> str | None:
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return "setuptools is not installed"
    if int(version.split(".")[0]) < 77:
        return f"setuptools {version} < 77 (pyproject's build requirement)"
    return None


pytestmark = pytest.mark.skipif(_offline_build_possible() is not None,
                                reason=f"no network-free wheel build: {_offline_build_possible()}")


def _run(*cmd, cwd=None, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> tuple[Path, Path]:
    """(python, site-packages) of a fresh venv with sacrum's wheel installed."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=ignore)
        else:
            shutil.copy2(p, src / name)
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                 "--no-index", src, "-w", base / "dist", timeout=180)
    if built.returncode != 0:
        pytest.skip(f"no network-free wheel build: {built.stderr.strip().splitlines()[-1:]}")
    (wheel,) = (base / "dist").glob("sacrum-*.whl")
    env_dir = base / "venv"
    made = _run(getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip",
                env_dir)
    assert made.returncode == 0, made.stderr
    python = env_dir / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"
                     ).stdout.strip())
    (site / "_dev_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installed = _run(sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                     "--target", site, wheel)
    assert installed.returncode == 0, installed.stderr
    return python, site


def _pytest(python: Path, project: Path, *args: str) -> dict[str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    xml = project / "junit.xml"
    done = _run(python, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={xml}", *args,
                cwd=project, env=env, timeout=120)
    assert xml.is_file(), done.stdout + done.stderr
    suite = ET.parse(xml).getroot().find("testsuite")
    counts = {k: int(suite.get(k)) for k in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


# tpcp (a mobgap dependency in this dev environment) registers a plugin needing numpydoc
INI = """\
[pytest]
addopts = -p no:tpcp_snapshots
{extra}
"""

SYS_MODULES_CONFTEST = '''
import json, sys

def pytest_configure(config):
    ours = sorted(m for m in sys.modules
                  if m == "sacrum" or m.startswith("sacrum.") or m == "sacrum_protocol")
    with open("startup.json", "w") as f:
        json.dump({"sacrum_modules": ours,
                   "entry_point_loaded": config.pluginmanager.has_plugin("sacrum")}, f)
'''


def test_a_project_that_enables_the_plugin_passes_the_documented_test(venv, tmp_path):
    python, site = venv
    project = tmp_path / "clinic_app"
    project.mkdir()
    (project / "pytest.ini").write_text(INI.format(extra="sacrum_replay = true"))
    shutil.copy(ROOT / "examples" / "bleak_app.py", project / "my_app.py")
    text = (ROOT / "docs" / "testing.md").read_text()
    (example,) = re.findall(r"```python\n(# test_my_app\.py.*?)```", text, re.S)
    (project / "test_my_app.py").write_text(example)
    (project / "test_installed.py").write_text(textwrap.dedent(f"""
        from pathlib import Path
        import sacrum, sacrum_protocol, sacrum.testing.plugin

        def test_the_wheel_is_imported_not_the_checkout():
            for module in (sacrum, sacrum_protocol, sacrum.testing.plugin):
                assert Path(module.__file__).is_relative_to({str(site)!r})
    """))
    assert _pytest(python, project) == {"tests": 7, "passed": 7, "failures": 0, "errors": 0,
                                        "skipped": 0}


def test_a_project_that_does_not_ask_gets_nothing_of_sacrum(venv, tmp_path):
    python, _ = venv
    project = tmp_path / "other_project"
    project.mkdir()
    (project / "pytest.ini").write_text(INI.format(extra=""))
    (project / "conftest.py").write_text(SYS_MODULES_CONFTEST)
    (project / "test_plain.py").write_text(textwrap.dedent("""
        def test_plain():
            assert 1 + 1 == 2

        def test_wants_a_sacrum_fixture(sacrum_capture):
            pass
    """))
    got = _pytest(python, project)
    assert got["passed"] == 1 and got["errors"] == 1  # fixture 'sacrum_capture' not found
    startup = json.loads((project / "startup.json").read_text())
    assert startup == {"sacrum_modules": [], "entry_point_loaded": True}
