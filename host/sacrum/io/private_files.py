"""Files and folders that hold a person's data, readable by their owner only.

Every file sacrum writes that holds a person's movement data or what is known about
them -- captures, the sessions library, reports, exports, analysis JSON, figures -- is
created through this module: files with mode 0600 and folders with 0700, whatever the
umask (a clinic computer's account of 022 would otherwise leave them readable by every
other account on the machine). docs/security.md says what this protects against and
what it does not (it is no encryption: root, a backup or a stolen disk reads them).

Two ways to write:

* :func:`open_private` with ``atomic=True`` (the default) writes a temporary file beside
  the target and renames it over the target once it is complete: a reader never sees
  half a report, a crash leaves the previous file whole;
* ``atomic=False`` writes the target in place (a capture: every record is flushed as it
  arrives, so a killed recorder leaves all but its last record).

An existing file that is replaced or overwritten ends up 0600 too. On Windows the modes
mean little (the file's ACL decides); there the functions simply write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

#: Mode of a file holding a person's data: read and write for its owner only.
FILE_MODE = 0o600
#: Mode of a folder holding such files: its owner only may list or enter it.
DIR_MODE = 0o700


def make_private_dir(path: str | os.PathLike, *, parents: bool = True) -> Path:
    """Create ``path`` (and, with ``parents``, its missing parents) with mode 0700.

    Folders that already exist are left as they are (a user's own ``--out`` folder, their
    home): only what this call creates is made private. Returns the path.
    """
    path = Path(path)
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if not parents or p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, DIR_MODE)
        except FileExistsError:
            if not d.is_dir():
                raise
            continue  # made by someone else meanwhile: theirs
        os.chmod(d, DIR_MODE)  # the umask may have taken bits away; 0700 exactly
    if not path.is_dir():
        raise NotADirectoryError(f"{path} exists and is not a folder")
    return path


def _create(path: Path, flags: int) -> int:
    fd = os.open(path, flags | os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0),
                 FILE_MODE)
    # an existing file, or a umask that took the owner's bits: 0600 -- but a regular file
    # only (never /dev/null or a terminal), and not where modes do not exist (FAT, Windows)
    if hasattr(os, "fchmod") and stat.S_ISREG(os.fstat(fd).st_mode):
        with contextlib.suppress(OSError):
            os.fchmod(fd, FILE_MODE)
    return fd


def _replaceable(path: Path) -> bool:
    """True if ``path`` may be replaced by a new file: absent, or a regular file that is
    no symlink (``--out /dev/stdout`` or a symlink is written through, in place)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return True
    return stat.S_ISREG(st.st_mode)


@contextlib.contextmanager
def open_private(path: str | os.PathLike, mode: str = "w", *, atomic: bool = True,
                 encoding: str | None = "utf-8", newline: str | None = None,
                 fsync: bool = True) -> Iterator[IO[Any]]:
    """A file for writing, created 0600, as ``open(path, mode)`` would give it.

    mode: "w" (text) or "wb" (bytes); ``encoding`` and ``newline`` as :func:`open` takes
    them (text only). atomic: write a temporary file beside ``path`` (created 0600 too)
    and rename it over ``path`` when the block ends without an exception; on an
    exception the temporary file is removed and ``path`` is untouched. fsync: flush the
    file to disk before the rename (a power loss then leaves the old or the new file).
    With ``atomic=False`` the target itself is truncated and written; so is a target that
    is not a plain file (a device such as /dev/stdout, a symlink, a FIFO), or one in a
    folder where no temporary file can be made.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"open_private writes with mode 'w' or 'wb', not {mode!r}")
    path = Path(path)
    binary = mode == "wb"
    kw: dict[str, Any] = {} if binary else {"encoding": encoding, "newline": newline}
    atomic = atomic and _replaceable(path)
    if atomic:  # mkstemp: a fresh name, O_EXCL, mode 0600
        try:
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                        dir=path.parent)
            target = Path(name)
        except PermissionError:
            if not path.exists():
                raise
            atomic = False  # a writable file in a folder we may not write: in place
    if not atomic:
        target, fd = path, _create(path, os.O_TRUNC)
    try:
        with os.fdopen(fd, mode, **kw) as f:
            yield f
            if fsync and stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                f.flush()
                os.fsync(f.fileno())
        if atomic:
            os.replace(target, path)
    except BaseException:
        if atomic:
            with contextlib.suppress(OSError):
                os.unlink(target)
        raise


def open_private_stream(path: str | os.PathLike) -> IO[bytes]:
    """``path`` opened for writing bytes in place ("wb"), created 0600; the caller closes
    it (a capture writer keeps its file open for the whole session)."""
    return os.fdopen(_create(Path(path), os.O_TRUNC), "wb")


def write_private_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> Path:
    """``text`` into ``path``, atomically, 0600."""
    with open_private(path, "w", encoding=encoding) as f:
        f.write(text)
    return Path(path)


def write_private_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """``data`` into ``path``, atomically, 0600."""
    with open_private(path, "wb") as f:
        f.write(data)
    return Path(path)


def copy_private(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """The bytes of ``src`` into ``dst``, atomically, 0600 (the source's mode is not
    copied: a capture another account could read becomes private in the library)."""
    with open(src, "rb") as fin, open_private(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
    return Path(dst)


def make_private(path: str | os.PathLike) -> None:
    """Give an existing file 0600 or folder 0700 (a library written before these modes)."""
    p = Path(path)
    os.chmod(p, DIR_MODE if p.is_dir() else FILE_MODE)


def is_private(path: str | os.PathLike) -> bool:
    """True if no account but the owner may read, write or enter ``path``."""
    return not stat.S_IMODE(os.stat(path).st_mode) & 0o077
