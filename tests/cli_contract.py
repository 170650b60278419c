"""The command line's contract, for tests (README, "Errors"): exit 0 with the output, or
exit 1 with one line ``sacrum COMMAND: error: ...`` on stderr; never a traceback, never a
bug's exit 3."""

from __future__ import annotations

from pathlib import Path

from sacrum.apps.cli import main


def run(capsys, *argv, ok_codes=(0,)) -> tuple[int, str, str]:
    """``sacrum ARGV`` in this process; asserts the contract; (exit code, stdout, stderr)."""
    argv = [str(a) for a in argv]
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    if code in ok_codes:
        return code, out, err
    lines = err.strip().splitlines()
    assert code == 1, (argv, code, err)
    assert len(lines) == 1 and lines[0].startswith(f"sacrum {argv[0]}: error: "), (argv, err)
    return code, out, err


def written(*paths: Path) -> None:
    """Each path is a file with something in it."""
    for p in paths:
        assert p.is_file() and p.stat().st_size > 0, p
