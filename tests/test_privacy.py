"""Privacy at rest (issue 15 item 4; docs/security.md): files holding a person's data are
0600 and their folders 0700 whatever the umask; the sessions library knows people by
pseudonym only and keeps no file name that might name them; names live in the
clinician's separate name map and reach a report only on request; capture headers name
no host; a library of the earlier format is refused until migrated, and migrates.

Every test runs under umask 022 (a usual account's), the one under which a file made with
plain ``open`` would be readable by every other account. Fixtures: phantom walks
(tests/phantoms.py), saved under file names that hold a person's name.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import stat
from pathlib import Path

import pytest

import sacrum_protocol as sp
from cli_contract import run
from phantoms import phantom_capture
from sacrum.apps.names import NameMap
from sacrum.apps.sessions import Library, SessionError, migrate_library
from sacrum.io.capture import CaptureReader, CaptureWriter, default_header
from sacrum.io.private_files import (
    make_private_dir,
    open_private,
    open_private_stream,
    write_private_text,
)

NAME = "Anna Berg"
STEM = "anna_berg_walk"  # a capture's file name that names the person


@pytest.fixture(scope="module", autouse=True)
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def assert_private_tree(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        assert mode(p) == (0o700 if p.is_dir() else 0o600), (p, oct(mode(p)))


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    d = tmp_path_factory.mktemp("caps")
    first = phantom_capture(d / f"{STEM}.sacrum", n_steps=40)
    later = phantom_capture(d / f"{STEM}_2.sacrum", drop_deg=(4.0, 6.0), n_steps=40, seed=3,
                            start_time_ns=1_795_000_000_000_000_000)
    return first, later


@pytest.fixture(scope="module")
def library(tmp_path_factory, captures):
    root = tmp_path_factory.mktemp("clinic") / "library"
    lib = Library(root)
    for cap in captures:
        lib.add(cap, "P017", mount="recommended")
    NameMap(root.with_name("library.names.json")).set("P017", NAME)
    return lib


# ---- the helper ---------------------------------------------------------------------------


def test_private_files_and_folders_ignore_a_permissive_umask(tmp_path):
    made = make_private_dir(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == mode(made) == 0o700
    before = mode(tmp_path)  # an existing folder is the user's: left alone
    make_private_dir(tmp_path)
    assert mode(tmp_path) == before
    write_private_text(made / "x.json", "{}")
    assert mode(made / "x.json") == 0o600
    # a file that existed readable by all ends up private, in place and atomically
    for atomic in (True, False):
        p = tmp_path / f"old-{atomic}.csv"
        p.write_text("old")
        os.chmod(p, 0o644)
        with open_private(p, "w", atomic=atomic) as f:
            f.write("new")
        assert p.read_text() == "new" and mode(p) == 0o600
    p = tmp_path / "stream.bin"
    p.write_bytes(b"old")
    os.chmod(p, 0o666)
    with open_private_stream(p) as f:
        f.write(b"new")
    assert p.read_bytes() == b"new" and mode(p) == 0o600


def test_an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    p = tmp_path / "report.html"
    p.write_text("the old report")
    with pytest.raises(RuntimeError), open_private(p, "w") as f:
        f.write("half a new one")
        raise RuntimeError("the renderer failed")
    assert p.read_text() == "the old report"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["report.html"]


def test_a_device_or_a_symlink_is_written_through_never_replaced_or_chmodded(tmp_path):
    null = Path(os.devnull)
    before = os.stat(null)
    with open_private(null, "w") as f:
        f.write("discarded")
    with open_private_stream(null) as f:
        f.write(b"discarded")
    after = os.stat(null)
    assert null.is_char_device() and (after.st_ino, after.st_mode) == (before.st_ino,
                                                                       before.st_mode)
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_private_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new" and mode(real) == 0o600


# ---- captures -----------------------------------------------------------------------------


def test_a_capture_is_private_and_its_header_names_no_host_or_user(tmp_path):
    path = tmp_path / f"{STEM}.sacrum"
    CaptureWriter(path).close()
    assert mode(path) == 0o600
    header = CaptureReader(path).header
    assert "hostname" not in header["host"]
    text = json.dumps(header)
    for who in {socket.gethostname(), getpass.getuser()}:
        if len(who) >= 4:  # a short name like "pi" could occur by chance in a version
            assert who not in text


def test_a_capture_with_a_host_name_from_an_earlier_version_still_reads(tmp_path, capsys):
    path = tmp_path / "old.sacrum"
    header = default_header(start_time_ns=1_790_000_000_000_000_000)
    header["host"] = {"hostname": "clinic-pc-7", "platform": "Linux-6.1-x86_64",
                      "sacrum_version": "0.1.0"}
    phantom = phantom_capture(tmp_path / "p.sacrum", n_steps=20)
    with CaptureWriter(path, header) as w:
        for rec in CaptureReader(phantom).records():
            if rec.kind == sp.KIND_PACKET:
                w.write_packet(rec.channel, rec.payload, rec.host_time_ns)
            elif rec.kind == sp.KIND_ANNOTATION:
                w.annotate(rec.json(), rec.host_time_ns)
    assert CaptureReader(path).header["host"]["hostname"] == "clinic-pc-7"
    code, out, _ = run(capsys, "info", path)
    assert code == 0 and "clinic-pc-7" not in out


# ---- the library and the name map --------------------------------------------------------


def test_the_library_is_private_and_holds_no_name(library, captures):
    lib = library
    assert_private_tree(lib.root)
    folders = [s.folder.name for s in lib.sessions("P017")]
    assert len(folders) == 2 and all(f.split("_")[1].isdigit() for f in folders)
    for p in lib.root.rglob("*"):
        assert STEM not in p.name and "anna" not in p.name.lower()
        if p.is_file():
            data = p.read_bytes()
            assert STEM.encode() not in data and NAME.encode() not in data, p
            assert str(captures[0].parent).encode() not in data, p  # no folder of the source
    meta = json.loads((lib.sessions("P017")[0].folder / "session.json").read_text())
    assert "original_name" not in meta


def test_the_name_map_lives_beside_the_library_and_is_private(library):
    names = library.root.with_name("library.names.json")
    assert names.is_file() and mode(names) == 0o600
    assert not any(p.name.endswith(".names.json") for p in library.root.rglob("*"))
    assert NameMap(names).get("P017") == NAME


def test_a_name_is_not_a_pseudonym(library, captures, capsys):
    lib = library
    for person in ("Anna", "anna.berg", "Anna Berg"):
        with pytest.raises(SessionError):
            lib.add(captures[0], person)
    # a name the map knows is refused even when it would pass as a code
    NameMap(lib.root.with_name("library.names.json")).set("P018", "Berg2")
    code, _, _ = run(capsys, "sessions", "add", captures[0], "--person", "berg2",
                     "--library", lib.root)
    assert code == 1
    assert lib.persons() == ["P017"]


def test_names_are_set_listed_and_removed_from_the_command_line(tmp_path, capsys):
    lib = tmp_path / "lib"
    run(capsys, "sessions", "names", "set", "P031", "Jo Smith", "--library", lib)
    assert mode(tmp_path / "lib.names.json") == 0o600
    _, out, _ = run(capsys, "sessions", "names", "--library", lib)
    assert "P031" in out and "Jo Smith" in out
    run(capsys, "sessions", "names", "remove", "P031", "--library", lib)
    assert NameMap(tmp_path / "lib.names.json").get("P031") is None
    code, _, _ = run(capsys, "sessions", "names", "remove", "P031", "--library", lib)
    assert code == 1


# ---- the report ---------------------------------------------------------------------------


def test_the_report_shows_the_pseudonym_only_unless_asked(library, tmp_path, capsys):
    root = library.root
    plain = tmp_path / "plain.html"
    run(capsys, "report", "--library", root, "--person", "P017", "--out", plain,
        "--pdf", tmp_path / "plain.pdf")
    assert mode(plain) == mode(tmp_path / "plain.pdf") == 0o600
    text = plain.read_text()
    assert "P017" in text and NAME not in text
    device = library.sessions("P017")[-1].device["name"]
    assert device not in text  # the sensor's name is opt-in
    named = tmp_path / "named.html"
    run(capsys, "report", "--library", root, "--person", "P017", "--out", named,
        "--show-name", "--show-device")
    text = named.read_text()
    assert NAME in text and device in text and "P017" in text


def test_a_report_of_a_capture_names_its_file_only_when_asked(captures, tmp_path, capsys):
    bands = tmp_path / "clinic-of-dr-jones" / "bands.toml"
    bands.parent.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "host" / "sacrum" / "data" / "bands.toml",
                bands)
    out = tmp_path / "r.html"
    run(capsys, "report", captures[0], "--person", "P017", "--mount", "recommended",
        "--bands", bands, "--out", out)
    text = out.read_text()
    assert STEM not in text and "clinic-of-dr-jones" not in text and "bands.toml" in text
    run(capsys, "report", captures[0], "--person", "P017", "--mount", "recommended",
        "--out", out, "--show-file")
    assert STEM in out.read_text()


def test_a_library_analysis_given_alone_still_finds_its_capture(library):
    from sacrum.apps.sessions import session_from_json

    stored = library.sessions("P017")[0]
    alone = session_from_json(stored.folder / "analysis.json", "P017")
    assert alone.device == stored.device and alone.device
    assert alone.date == stored.date


def test_show_name_without_a_name_is_one_line(library, tmp_path, capsys):
    code, _, _ = run(capsys, "report", "--library", library.root, "--person", "P017",
                     "--names", tmp_path / "empty.names.json", "--show-name",
                     "--out", tmp_path / "r.html")
    assert code == 1 and not (tmp_path / "r.html").exists()


# ---- other outputs ------------------------------------------------------------------------


def test_exports_and_json_are_private(captures, tmp_path, capsys):
    cap = captures[0]
    run(capsys, "analyze", cap, "--mount", "recommended", "--json", tmp_path / "a.json")
    run(capsys, "export", cap, "--csv", tmp_path / "samples.csv")
    run(capsys, "export-tables", cap, "--mount", "recommended", "--samples",
        tmp_path / "t.csv", "--sto", tmp_path / "o.sto")
    for name in ("a.json", "samples.csv", "t.csv", "o.sto"):
        assert mode(tmp_path / name) == 0o600, name


def test_recordings_batch_tables_and_headless_figures_are_private(captures, tmp_path, capsys):
    cap = captures[0]
    run(capsys, "record", "--replay", cap, "--speed", "0", "--out", tmp_path / "rec.sacrum")
    assert mode(tmp_path / "rec.sacrum") == 0o600
    figures = tmp_path / "figures" / "P017"
    run(capsys, "live", "--replay", cap, "--speed", "0", "--headless", "--out-dir", figures,
        "--record", tmp_path / "live.sacrum", "--json", tmp_path / "live.json")
    assert_private_tree(tmp_path / "figures")
    assert any(figures.glob("*.png"))
    assert mode(tmp_path / "live.sacrum") == mode(tmp_path / "live.json") == 0o600
    folder = tmp_path / "batch-in"
    folder.mkdir()
    shutil.copy(cap, folder / "a.sacrum")
    run(capsys, "batch", folder, "--out", tmp_path / "results.csv", "--mount", "recommended",
        "-q")
    assert mode(tmp_path / "results.csv") == 0o600
    assert_private_tree(tmp_path / "results.parts")


# ---- migration from the earlier library format --------------------------------------------


def _old_library(library: Library, root: Path, person: str = "P017") -> Path:
    """The library as sacrum wrote it before format 2: folders named after the capture,
    the original file name in session.json, the capture's absolute path in analysis.json,
    files 0644 and folders 0755, no library.json."""
    for i, s in enumerate(library.sessions("P017")):
        folder = root / person / (f"{s.date}_{STEM}" + ("" if i == 0 else "-2"))
        shutil.copytree(s.folder, folder)
        meta = json.loads((folder / "session.json").read_text())
        meta["original_name"] = f"{STEM}.sacrum"
        meta["person_id"] = person
        (folder / "session.json").write_text(json.dumps(meta))
        doc = json.loads((folder / "analysis.json").read_text())
        doc["input"]["path"] = f"/home/anna/recordings/{STEM}.sacrum"
        (folder / "analysis.json").write_text(json.dumps(doc))
    for p in [root, *root.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return root


def test_an_old_library_is_refused_until_migrated_then_migrates(library, tmp_path, capsys):
    root = _old_library(library, tmp_path / "old")
    code, _, err = run(capsys, "sessions", "--library", root)
    assert code == 1 and "sessions migrate" in err
    code, _, err = run(capsys, "report", "--library", root, "--person", "P017",
                       "--out", tmp_path / "r.html")
    assert code == 1 and "sessions migrate" in err
    names = tmp_path / "names.json"
    code, out, _ = run(capsys, "sessions", "migrate", "--library", root, "--names", names)
    assert code == 0 and "migrated" in out
    assert_private_tree(root)
    for p in root.rglob("*"):
        assert STEM not in p.name
        if p.is_file():
            assert STEM.encode() not in p.read_bytes() and b"/home/anna" not in p.read_bytes()
    moved = json.loads(names.read_text())["original_files"]
    assert sorted(moved.values()) == [f"{STEM}.sacrum"] * 2
    assert mode(names) == 0o600
    lib = Library(root)
    sessions = lib.sessions("P017")
    assert len(sessions) == 2 and all(lib.reanalyze(s) == [] for s in sessions)
    _, out, _ = run(capsys, "sessions", "migrate", "--library", root, "--names", names)
    assert "nothing to do" in out


def test_a_person_folder_named_by_a_name_migrates_only_with_a_new_code(library, tmp_path,
                                                                        capsys):
    root = _old_library(library, tmp_path / "old", person="anna")
    names = tmp_path / "names.json"
    code, _, err = run(capsys, "sessions", "migrate", "--library", root, "--names", names)
    assert code == 1 and "--rename" in err
    assert (root / "anna").is_dir() and not (root / "library.json").exists()  # untouched
    with pytest.raises(SessionError):
        migrate_library(root, None)  # names would be dropped: refused
    run(capsys, "sessions", "migrate", "--library", root, "--names", names,
        "--rename", "anna=P018")
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["P018"]
    assert NameMap(names).get("P018") == "anna"
    assert [s.person_id for s in Library(root).sessions()] == ["P018", "P018"]
