"""sacrum.io.capture: capture files are written whole, read back exactly and survive damage.

Each test states one rule of protocol/SPEC.md section 5. Fixtures are made
here and nowhere else: small captures written record by record with
``CaptureWriter`` (or packed with ``encode_record`` where a test needs bytes the
writer would never produce), and synthetic walking sessions from
``sacrum.testing.generator.make_capture``, which streams ``synthetic_walk`` motion the
way a device would over BLE (MTU 247, or MTU 23 with every packet split into
SEGMENTs) or a serial link. The killed-recorder test kills a real recorder
process with SIGKILL.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import sacrum_protocol as sp
from sacrum.io.capture import (
    CaptureError,
    CaptureReader,
    CaptureWriter,
    Record,
    default_header,
    encode_record,
    file_header,
)
from sacrum.io.decode import decode_capture
from sacrum.testing.generator import LinkModel, make_capture, synthetic_walk

T0_NS = 1_790_000_000_000_000_000  # an arbitrary session start (2026-09-22, UTC)
FILE_HEADER_SIZE = 16
RECORD_OVERHEAD = 20  # 16-byte record header + CRC-32
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def record_size(rec: Record) -> int:
    return len(rec.payload) + RECORD_OVERHEAD


def read_all(path: Path, **kw) -> tuple[list[Record], CaptureReader]:
    reader = CaptureReader(path, **kw)
    return list(reader.records()), reader


def capture_bytes(records: list[tuple[int, int, int, bytes]], *, minor: int = 0) -> bytes:
    """A capture packed by hand: file header (format 1.minor) then the records."""
    head = struct.pack("<8sHHI", sp.CAPTURE_MAGIC, 1, minor, 0)
    return head + b"".join(encode_record(*r) for r in records)


def header_record(**fields) -> tuple[int, int, int, bytes]:
    header = default_header(start_time_ns=T0_NS, transport="generator", **fields)
    return (sp.KIND_HEADER, 0, T0_NS, json.dumps(header).encode())


def accounted_bytes(records: list[Record], reader: CaptureReader) -> int:
    """File header + records read + bytes skipped as damage + the partial tail."""
    st_ = reader.stats
    return (FILE_HEADER_SIZE + sum(record_size(r) for r in records) + st_.skipped_bytes
            + st_.truncated_tail_bytes)


# --- 1. round trip ----------------------------------------------------------------------
def test_everything_written_reads_back_in_order_with_exact_bytes_and_times(tmp_path):
    path = tmp_path / "session.sacrum"
    header = default_header(
        start_time_ns=T0_NS, transport="ble", mtu=247, note="left pelvis, größe 3",
        device={"name": "sacrum-7", "address": "AA:BB:CC:DD:EE:FF"},
        source={"kind": "test fixture", "licence": "MIT"},
    )
    rng = random.Random(1)
    expected: list[tuple[int, int, int, object]] = [(sp.KIND_HEADER, 0, T0_NS, header)]
    with CaptureWriter(path, header) as w:
        w.event("connected", T0_NS + 1, address="AA:BB:CC:DD:EE:FF")
        expected.append((sp.KIND_EVENT, 0, T0_NS + 1,
                         {"type": "connected", "address": "AA:BB:CC:DD:EE:FF"}))
        w.device_info({"firmware": "1.0.0", "imu": "MPU-6500", "battery": 87}, T0_NS + 2)
        expected.append((sp.KIND_DEVICE, 0, T0_NS + 2,
                         {"firmware": "1.0.0", "imu": "MPU-6500", "battery": 87}))
        w.task_start("stairs-up", T0_NS + 3)
        expected.append((sp.KIND_ANNOTATION, 0, T0_NS + 3,
                         {"type": "task_start", "task": "stairs-up"}))
        for i in range(40):
            channel = (sp.CH_BLE_DATA, sp.CH_BLE_RESPONSE, sp.CH_BLE_CONTROL,
                       sp.CH_SERIAL_RX, sp.CH_SERIAL_TX)[i % 5]
            data = bytes(rng.randrange(256) for _ in range(rng.choice((0, 1, 20, 226, 244))))
            t_ns = T0_NS + 1_000_000 * i + rng.randrange(1000)
            w.write_packet(channel, data, t_ns)
            expected.append((sp.KIND_PACKET, channel, t_ns, data))
            if i == 20:
                w.mark("stumbled, \"quoted\" ✓", T0_NS + 30_000_000)
                expected.append((sp.KIND_ANNOTATION, 0, T0_NS + 30_000_000,
                                 {"type": "mark", "note": "stumbled, \"quoted\" ✓"}))
        largest = bytes(range(256)) * 16  # 4096 bytes, the most a record holds
        w.write_packet(sp.CH_BLE_RESPONSE, largest, T0_NS + 50_000_000)
        expected.append((sp.KIND_PACKET, sp.CH_BLE_RESPONSE, T0_NS + 50_000_000, largest))
        w.task_stop("stairs-up", T0_NS + 60_000_000)
        expected.append((sp.KIND_ANNOTATION, 0, T0_NS + 60_000_000,
                         {"type": "task_stop", "task": "stairs-up"}))
        w.device_info({"battery": 86}, T0_NS + 61_000_000)
        expected.append((sp.KIND_DEVICE, 0, T0_NS + 61_000_000, {"battery": 86}))
        w.event("mtu", T0_NS + 62_000_000, mtu=247)
        expected.append((sp.KIND_EVENT, 0, T0_NS + 62_000_000, {"type": "mtu", "mtu": 247}))
    assert (w.records, w.packets) == (len(expected), 41)
    assert w.bytes_written == path.stat().st_size

    reader = CaptureReader(path)
    assert reader.header == header
    assert reader.start_time_ns == T0_NS
    assert reader.format_version == (1, 0)
    assert reader.device == {"name": "sacrum-7", "address": "AA:BB:CC:DD:EE:FF"}
    records = list(reader.records())
    got = [(r.kind, r.channel, r.host_time_ns, r.payload if r.kind == sp.KIND_PACKET
            else r.json()) for r in records]
    assert got == expected
    # records tile the file: each starts where the previous one ended
    ends = [r.offset + record_size(r) for r in records]
    assert [r.offset for r in records] == [FILE_HEADER_SIZE, *ends[:-1]]
    assert ends[-1] == path.stat().st_size
    assert reader.stats.records == len(expected)
    assert (reader.stats.corrupt_records, reader.stats.skipped_bytes,
            reader.stats.unknown_kinds, reader.stats.truncated_tail_bytes) == (0, 0, 0, 0)
    assert reader.stats.truncated_tail_offset is None
    # DEVICE records are merged into the header's device, later facts winning
    assert reader.device == {"name": "sacrum-7", "address": "AA:BB:CC:DD:EE:FF",
                             "firmware": "1.0.0", "imu": "MPU-6500", "battery": 86}
    assert [a.json()["type"] for a in reader.annotations()] == ["task_start", "mark",
                                                                "task_stop"]


def test_the_default_header_says_what_made_the_capture(tmp_path):
    path = tmp_path / "default.sacrum"
    CaptureWriter(path).close()
    header = CaptureReader(path).header
    assert header["format"] == "sacrum-capture"
    assert set(header["host"]) == {"platform", "sacrum_version"}  # no host name (privacy)
    assert isinstance(header["start_time_ns"], int)
    assert header["created_utc"].endswith("+00:00")


def test_an_explicit_host_time_is_kept_exactly_even_when_it_is_zero(tmp_path):
    path = tmp_path / "zero.sacrum"
    with CaptureWriter(path, default_header(start_time_ns=T0_NS)) as w:
        w.write_packet(sp.CH_BLE_DATA, b"\x01", 0)
        w.mark("at the epoch", host_time_ns=0)
        w.event("connected", host_time_ns=0)
        w.device_info({"battery": 50}, host_time_ns=0)
        w.mark("now")
    records, _ = read_all(path)
    assert [r.host_time_ns for r in records[1:5]] == [0, 0, 0, 0]
    assert records[5].host_time_ns > 10**18  # no time given: a clock reading, after 2001


@pytest.mark.parametrize(
    "annotation",
    [
        {"type": "task_start", "task": "jog"},
        {"type": "task_stop", "task": "Walk"},
        {"type": "task_start"},
        {"type": "note", "note": "not a known annotation type"},
        {"note": "no type"},
    ],
)
def test_an_invalid_annotation_is_refused_and_nothing_is_written(tmp_path, annotation):
    path = tmp_path / "bad-annotation.sacrum"
    with CaptureWriter(path, default_header(start_time_ns=T0_NS)) as w:
        size = w.bytes_written
        with pytest.raises(ValueError, match=r"task|annotation type"):
            w.annotate(annotation, T0_NS + 1)
        assert (w.records, w.bytes_written) == (1, size)
    assert path.stat().st_size == size


def test_a_packet_larger_than_a_record_holds_is_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "big.sacrum"
    with CaptureWriter(path, default_header(start_time_ns=T0_NS)) as w:
        size = w.bytes_written
        with pytest.raises(ValueError, match="4096"):
            w.write_packet(sp.CH_BLE_DATA, bytes(4097), T0_NS)
    assert path.stat().st_size == size
    assert len(read_all(path)[0]) == 1


# --- 2. a killed recorder ---------------------------------------------------------------
# Runs as `python -c RECORDER path every`: records DATA packets until killed,
# printing how many it has written (each one flushed) after every `every` and
# then pausing briefly, as a recorder waiting on its link would. A writer that
# did not flush every record would lose some that were already reported. The
# test execs the same source to know what packet i must be.
RECORDER = '''
import sys
import time

import sacrum_protocol as sp

N = 4  # samples per packet, as at MTU 23


def packet(i):
    """DATA packet i, every byte derived from i: 4 samples at 200 Hz."""
    buf = bytearray(sp.data_packet_size(N))
    sp.pack_data_header_into(buf, i, i * N, 1000 + i * N * 5000, 5000, 0, 0, N)
    for k in range(N):
        s = i * N + k
        sp.pack_sample_into(buf, k, 16384, 0, 0, 0, s % 256, -(s % 97), 2511, s % 7, i % 3, -1)
    return bytes(buf)


def host_time_ns(i):
    return 1_790_000_000_000_000_000 + 500_000_000 + i * 20_000_000


if __name__ == "__main__":
    from sacrum.io.capture import CaptureWriter, default_header

    path, every = sys.argv[1], int(sys.argv[2])
    w = CaptureWriter(path, default_header(start_time_ns=1_790_000_000_000_000_000))
    i = 0
    while True:
        w.write_packet(sp.CH_BLE_DATA, packet(i), host_time_ns(i))
        i += 1
        if i % every == 0:
            print(i, flush=True)
            time.sleep(0.01)  # waiting for the link, as a recorder does: a likely kill point
'''


def test_a_recorder_killed_mid_session_leaves_every_reported_record_readable(tmp_path):
    path = tmp_path / "killed.sacrum"
    spec: dict = {"__name__": "recorder"}
    exec(compile(RECORDER, "recorder", "exec"), spec)
    with open(tmp_path / "recorder.err", "w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", RECORDER, str(path), "250"],
                                stdout=subprocess.PIPE, stderr=err, text=True)
        watchdog = threading.Timer(30.0, proc.kill)  # never hang the suite
        watchdog.start()
        reported = 0
        try:
            while reported < 2000:
                line = proc.stdout.readline()
                if not line:
                    err.seek(0)
                    pytest.fail(f"recorder stopped (exit {proc.wait()}): {err.read()}")
                reported = int(line)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            # it went on writing until the kill landed: the last count it printed counts
            reported = max([reported, *map(int, proc.stdout.read().split())])
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    records, reader = read_all(path)
    packets = [r for r in records if r.kind == sp.KIND_PACKET]
    assert records[0].kind == sp.KIND_HEADER
    assert len(packets) >= reported
    for i, rec in enumerate(packets):
        assert (rec.channel, rec.host_time_ns, rec.payload) == (
            sp.CH_BLE_DATA, spec["host_time_ns"](i), spec["packet"](i)), f"packet {i}"
    assert (reader.stats.corrupt_records, reader.stats.skipped_bytes) == (0, 0)
    assert reader.stats.truncated_tail_bytes < record_size(packets[0])
    assert accounted_bytes(records, reader) == path.stat().st_size

    table = decode_capture(path)
    assert table.loss.packets_received == len(packets)
    assert (len(table), table.loss.samples_lost) == (4 * len(packets), 0)
    assert table.loss.truncated_tail_bytes == reader.stats.truncated_tail_bytes


@pytest.fixture(scope="module")
def mixed_capture(tmp_path_factory) -> tuple[bytes, list[Record]]:
    """40 records of every kind and many sizes, ending packet, annotation, packet."""
    path = tmp_path_factory.mktemp("mixed") / "mixed.sacrum"
    rng = random.Random(7)
    with CaptureWriter(path, default_header(start_time_ns=T0_NS, transport="generator")) as w:
        w.task_start("walk", T0_NS + 1)
        for i in range(34):
            w.write_packet(1 + i % 5, rng.randbytes(rng.randrange(0, 300)), T0_NS + 10 * i)
            if i % 10 == 9:
                w.event("reconnected", T0_NS + 10 * i + 5)
        w.device_info({"battery": 80}, T0_NS + 500)
        w.write_packet(sp.CH_BLE_DATA, rng.randbytes(244), T0_NS + 600)
        w.task_stop("walk", T0_NS + 700)
        w.write_packet(sp.CH_SERIAL_RX, rng.randbytes(57), T0_NS + 800)
    data = path.read_bytes()
    records, _ = read_all(path)
    assert [r.kind for r in records[-3:]] == [sp.KIND_PACKET, sp.KIND_ANNOTATION,
                                              sp.KIND_PACKET]
    return data, records


def test_a_file_cut_at_any_byte_reads_back_every_record_before_the_cut(tmp_path,
                                                                        mixed_capture):
    data, clean = mixed_capture
    path = tmp_path / "cut.sacrum"
    rng = random.Random(3)
    cuts = [*range(clean[-3].offset, len(data) + 1),
            *(rng.randrange(FILE_HEADER_SIZE, len(data)) for _ in range(40)),
            FILE_HEADER_SIZE, FILE_HEADER_SIZE + 1, clean[1].offset - 1, clean[1].offset]
    for cut in cuts:
        path.write_bytes(data[:cut])
        records, reader = read_all(path)
        whole = [r for r in clean if r.offset + record_size(r) <= cut]
        assert records == whole, f"cut at {cut}"
        st_ = reader.stats
        inside = [r for r in clean if r.offset < cut < r.offset + record_size(r)]
        if inside:
            (partial,) = inside
            assert (st_.truncated_tail_offset, st_.truncated_tail_bytes) == (
                partial.offset, cut - partial.offset), f"cut at {cut}"
            assert any(f"byte {partial.offset}" in w for w in st_.warnings)
        else:
            assert (st_.truncated_tail_offset, st_.truncated_tail_bytes) == (None, 0)
        assert (st_.corrupt_records, st_.skipped_bytes) == (0, 0), f"cut at {cut}"
        assert reader.header == (json.loads(clean[0].payload) if whole else {})
        table = decode_capture(path)
        assert table.loss.truncated_tail_bytes == st_.truncated_tail_bytes
        assert table.loss.corrupt_records == 0
        assert [a for _, a in table.annotations] == [
            r.json() for r in whole if r.kind == sp.KIND_ANNOTATION]


# --- 3. files that are not (readable) captures ----------------------------------------
def test_a_file_without_the_capture_magic_is_refused_with_a_clear_message(tmp_path,
                                                                           mixed_capture):
    path = tmp_path / "notes.sacrum"
    path.write_bytes(b"\x89SACRUX\n" + mixed_capture[0][8:])
    with pytest.raises(CaptureError, match=r"is not a sacrum capture .*magic"):
        CaptureReader(path)
    path.write_bytes(b"t_s,acc_x,acc_y,acc_z\n0.000,0.1,0.2,9.8\n")
    with pytest.raises(CaptureError, match="not a sacrum capture"):
        CaptureReader(path)


def test_a_btsnoop_log_is_refused_with_a_pointer_to_import_btsnoop(tmp_path):
    path = tmp_path / "btsnoop_hci.log"
    path.write_bytes(b"btsnoop\0" + struct.pack(">II", 1, 1002) + bytes(40))
    with pytest.raises(CaptureError, match="import-btsnoop"):
        CaptureReader(path)


def test_a_newer_major_format_is_refused_naming_both_versions(tmp_path):
    path = tmp_path / "future.sacrum"
    path.write_bytes(struct.pack("<8sHHI", sp.CAPTURE_MAGIC, 2, 3, 0)
                     + encode_record(*header_record()))
    with pytest.raises(CaptureError) as err:
        CaptureReader(path)
    assert "2.3" in str(err.value) and "1.x" in str(err.value)


def test_any_minor_format_of_the_same_major_is_read(tmp_path):
    path = tmp_path / "minor.sacrum"
    packet = (sp.KIND_PACKET, sp.CH_BLE_DATA, T0_NS + 5, b"\x01\x10")
    path.write_bytes(capture_bytes([header_record(), packet], minor=9))
    records, reader = read_all(path)
    assert reader.format_version == (1, 9)
    assert [(r.kind, r.channel, r.host_time_ns, r.payload) for r in records[1:]] == [packet]


@pytest.mark.parametrize("content, message", [
    (b"", "not a sacrum capture"),
    (sp.CAPTURE_MAGIC, "ends inside the capture file header"),
    (file_header()[:15], "ends inside the capture file header"),
], ids=["empty", "magic-only", "cut-file-header"])
def test_a_file_too_short_for_its_file_header_is_refused(tmp_path, content, message):
    path = tmp_path / "short.sacrum"
    path.write_bytes(content)
    with pytest.raises(CaptureError, match=message):
        CaptureReader(path)


def test_a_missing_file_is_a_capture_error_naming_it(tmp_path):
    with pytest.raises(CaptureError, match=r"missing\.sacrum"):
        CaptureReader(tmp_path / "missing.sacrum")


def test_a_file_of_only_the_file_header_reads_as_empty_and_warns(tmp_path, caplog):
    path = tmp_path / "header-only.sacrum"
    path.write_bytes(file_header())
    with caplog.at_level(logging.WARNING, logger="sacrum.io.capture"):
        records, reader = read_all(path)
    assert records == []
    assert (reader.header, reader.device, reader.start_time_ns) == ({}, {}, None)
    assert any("no header record" in w for w in reader.stats.warnings)
    assert "no header record" in caplog.text
    assert (reader.stats.corrupt_records, reader.stats.truncated_tail_bytes) == (0, 0)
    table = decode_capture(path)
    assert len(table) == 0 and table.loss.samples_expected == 0


# --- 4. record kinds of a newer minor version ------------------------------------------
def test_records_of_an_unknown_kind_are_skipped_counted_and_do_not_disturb_the_rest(
        tmp_path):
    path = tmp_path / "minor-1.sacrum"
    data_packet = sp.encode_data(0, 0, 1000, 5000, 0, 0, [[16384, 0, 0, 0, 0, 0, 2511, 0, 0, 0]])
    known_before = [header_record(), (sp.KIND_PACKET, sp.CH_BLE_DATA, T0_NS + 1, data_packet)]
    future = [(0x7E, 0, T0_NS + 2, b'{"type": "heart-rate", "bpm": 92}'),
              (0x7E, 3, T0_NS + 3, b"\x00" * 12),
              (0x7F, 0, T0_NS + 4, b"")]
    later_packet = sp.encode_data(1, 1, 6000, 5000, 0, 0, [[16384, 0, 0, 0, 0, 0, 2511, 0, 0, 0]])
    known_after = [(sp.KIND_ANNOTATION, 0, T0_NS + 5, b'{"type":"mark","note":"after"}'),
                   (sp.KIND_PACKET, sp.CH_BLE_DATA, T0_NS + 6, later_packet)]
    path.write_bytes(capture_bytes(known_before + future + known_after, minor=1))
    records, reader = read_all(path)
    assert [(r.kind, r.channel, r.host_time_ns, r.payload) for r in records] == (
        known_before + known_after)
    assert reader.stats.unknown_kinds == 3
    assert (reader.stats.corrupt_records, reader.stats.skipped_bytes) == (0, 0)
    table = decode_capture(path)
    assert table.loss.unknown_records == 3
    assert (table.loss.packets_received, len(table), table.loss.corrupt_records) == (2, 2, 0)
    assert [a for _, a in table.annotations] == [{"type": "mark", "note": "after"}]


# --- 5. damage anywhere after the file header ------------------------------------------
def _walk_capture(path: Path, link: LinkModel, seconds: float) -> None:
    q, acc, gyr = synthetic_walk(seconds, 200, seed=4)
    make_capture(path, q, acc, gyr, 200, link=link, seed=5, annotations=[
        (0.2, {"type": "task_start", "task": "walk"}),
        (1.0, {"type": "mark", "note": "half-way"}),
        (seconds - 0.5, {"type": "task_stop", "task": "walk"}),
    ])


@pytest.fixture(scope="module")
def walks(tmp_path_factory) -> dict[str, tuple[bytes, list[Record], int]]:
    """3 s walks over the three links: (file bytes, its records, samples decoded)."""
    out = {}
    for name, link in [("ble-247", LinkModel()), ("ble-23", LinkModel(mtu=23)),
                       ("serial", LinkModel(serial=True))]:
        path = tmp_path_factory.mktemp(name) / f"{name}.sacrum"
        _walk_capture(path, link, 3.0)
        records, reader = read_all(path)
        assert reader.stats.records == len(records)
        out[name] = (path.read_bytes(), records, len(decode_capture(path)))
    return out


def test_a_damaged_header_record_costs_only_the_header(tmp_path, walks, caplog):
    clean, clean_records, clean_samples = walks["ble-247"]
    data = bytearray(clean)
    data[clean_records[0].offset + 40] ^= 0x20  # inside the HEADER JSON
    path = tmp_path / "no-header.sacrum"
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="sacrum.io.capture"):
        records, reader = read_all(path)
    assert records == clean_records[1:]
    assert reader.header == {} and reader.start_time_ns is None
    assert any("no header record" in w for w in reader.stats.warnings)
    assert (reader.stats.corrupt_records, reader.stats.skipped_bytes) == (
        1, record_size(clean_records[0]))
    table = decode_capture(path)  # times then count from the first packet's arrival
    assert len(table) == clean_samples and table.loss.corrupt_records == 1


@dataclasses.dataclass
class Damage:
    """What was done to a clean file, to know which of its records must survive."""

    data: bytes
    changed: set[int]  # offsets in the clean file whose byte changed (flip, overwrite)
    inserted_at: int | None = None  # one byte inserted before this clean offset
    deleted_at: int | None = None  # the clean byte at this offset removed

    def touches(self, rec: Record) -> bool:
        end = rec.offset + record_size(rec)
        if self.inserted_at is not None:
            return rec.offset < self.inserted_at < end
        if self.deleted_at is not None:
            return rec.offset <= self.deleted_at < end
        return any(rec.offset <= i < end for i in self.changed)

    def moved(self, rec: Record) -> Record:
        if self.inserted_at is not None and rec.offset >= self.inserted_at:
            return dataclasses.replace(rec, offset=rec.offset + 1)
        if self.deleted_at is not None and rec.offset > self.deleted_at:
            return dataclasses.replace(rec, offset=rec.offset - 1)
        return rec

    @property
    def extra_bytes(self) -> bool:
        """Bytes that belong to no record: an insertion between records."""
        return self.inserted_at is not None


@st.composite
def damage(draw, clean: bytes) -> Damage:
    lo, size = FILE_HEADER_SIZE, len(clean)
    how = draw(st.sampled_from(["flip", "overwrite", "insert", "delete"]))
    if how == "flip":
        where = draw(st.lists(st.integers(lo, size - 1), min_size=1, max_size=5, unique=True))
        data = bytearray(clean)
        for i in where:
            data[i] ^= draw(st.integers(1, 255))
        return Damage(bytes(data), set(where))
    if how == "overwrite":
        start = draw(st.integers(lo, size - 1))
        junk = draw(st.binary(min_size=1, max_size=min(64, size - start)))
        data = clean[:start] + junk + clean[start + len(junk):]
        return Damage(data, {start + k for k, b in enumerate(junk) if clean[start + k] != b})
    if how == "insert":
        i = draw(st.integers(lo, size))
        return Damage(clean[:i] + bytes([draw(st.integers(0, 255))]) + clean[i:], set(),
                      inserted_at=i)
    i = draw(st.integers(lo, size - 1))
    return Damage(clean[:i] + clean[i + 1:], set(), deleted_at=i)


@FUZZ
@given(data=st.data())
def test_damage_costs_only_the_records_it_touches(walks, tmp_path_factory, data):
    name = data.draw(st.sampled_from(sorted(walks)), label="link")
    clean, clean_records, clean_samples = walks[name]
    dmg = data.draw(damage(clean))
    path = tmp_path_factory.getbasetemp() / "damaged.sacrum"
    path.write_bytes(dmg.data)

    records, reader = read_all(path)
    touched = [r for r in clean_records if dmg.touches(r)]
    assert records == [dmg.moved(r) for r in clean_records if not dmg.touches(r)]
    st_ = reader.stats
    assert accounted_bytes(records, reader) == len(dmg.data)  # every byte accounted for
    if touched or dmg.extra_bytes:
        assert st_.corrupt_records + (st_.truncated_tail_bytes > 0) >= 1
    if any(r is not clean_records[-1] for r in touched):
        assert st_.corrupt_records >= 1
    # the same records come back however the file is cut into chunks
    chunked, small = read_all(path, chunk_bytes=1)
    assert chunked == records
    assert accounted_bytes(chunked, small) == len(dmg.data)

    table = decode_capture(path)
    assert table.loss.corrupt_records == st_.corrupt_records
    assert table.loss.truncated_tail_bytes == st_.truncated_tail_bytes
    assert table.loss.samples_received <= clean_samples


# --- 6. chunked reading -------------------------------------------------------------------
@pytest.fixture(scope="module")
def long_walk_mtu23(tmp_path_factory) -> Path:
    """30 s over MTU 23 (6 SEGMENT records a packet), 2 % lost, a mark every 0.45 s."""
    path = tmp_path_factory.mktemp("long") / "walk-mtu23.sacrum"
    q, acc, gyr = synthetic_walk(30.0, 200, seed=2)
    marks = [(0.45 * k, {"type": "mark", "note": f"m{k}"}) for k in range(66)]
    make_capture(path, q, acc, gyr, 200, link=LinkModel(mtu=23, p_transit_loss=0.02),
                 seed=3, annotations=[(0.1, {"type": "task_start", "task": "walk"}), *marks])
    assert path.stat().st_size > 30 * 9000
    return path


@pytest.fixture(scope="module")
def many_sizes(tmp_path_factory) -> Path:
    """Records of 0 to 4096 payload bytes, so some straddle every chunk boundary."""
    path = tmp_path_factory.mktemp("sizes") / "sizes.sacrum"
    rng = random.Random(11)
    with CaptureWriter(path, default_header(start_time_ns=T0_NS)) as w:
        for i in range(300):
            size = rng.choice([0, 1, 20, 240, 4095, 4096, rng.randrange(4097)])
            w.write_packet(1 + i % 5, rng.randbytes(size), T0_NS + i)
            if i % 7 == 0:
                w.mark(f"record {i}", T0_NS + i)
    return path


@pytest.mark.parametrize("chunk_bytes", [1, 8232, 8233, 9000, 12345, 65536])
@pytest.mark.parametrize("capture", ["long_walk_mtu23", "many_sizes"])
def test_reading_in_small_chunks_gives_exactly_the_records_of_one_big_chunk(
        request, capture, chunk_bytes):
    path = request.getfixturevalue(capture)
    whole, whole_reader = read_all(path)
    chunked, chunked_reader = read_all(path, chunk_bytes=chunk_bytes)
    assert chunked == whole
    assert chunked_reader.stats == whole_reader.stats
    assert chunked_reader.device == whole_reader.device
    assert accounted_bytes(chunked, chunked_reader) == path.stat().st_size


def test_decoding_in_small_chunks_gives_identical_samples_and_loss_report(long_walk_mtu23):
    whole = decode_capture(long_walk_mtu23)
    chunked = decode_capture(long_walk_mtu23, chunk_bytes=9000)
    assert whole.loss.packets_lost > 0 and len(whole) == 6000  # the fixture did lose some
    for name in ("t_s", "q", "acc_mps2", "gyr_radps", "flags"):
        assert np.array_equal(getattr(chunked, name), getattr(whole, name), equal_nan=True), name
    assert chunked.loss == whole.loss
    assert chunked.annotations == whole.annotations
    assert chunked.clock == whole.clock


# --- 7. garbage after a valid start -------------------------------------------------------
@FUZZ
@given(pieces=st.lists(st.one_of(st.binary(max_size=400), st.integers(0, 10**6)), max_size=12))
@example(pieces=[b"\xa5", 0, b"\xa5\xa5", 1])  # stray sync bytes right before records
@example(pieces=[b"\xa5\x02\x01\x00\xff\x0f", 2, 3])  # a header claiming 4095 bytes
def test_garbage_after_the_header_never_stops_the_reader_or_the_decoder(
        walks, tmp_path_factory, pieces):
    """Random bytes, with whole valid records (integers pick them) between them."""
    clean, clean_records, _ = walks["ble-247"]
    start = clean[:clean_records[1].offset]  # file header + HEADER record
    body, valid = b"", []
    for piece in pieces:
        if isinstance(piece, int):
            rec = clean_records[1 + piece % (len(clean_records) - 1)]
            body += clean[rec.offset:rec.offset + record_size(rec)]
            valid.append(rec.payload)
        else:
            body += piece
    path = tmp_path_factory.getbasetemp() / "garbage.sacrum"
    path.write_bytes(start + body)

    records, reader = read_all(path)
    assert records[0] == clean_records[0]
    assert [r.payload for r in records[1:]] == valid
    assert accounted_bytes(records, reader) == len(start + body)
    table = decode_capture(path)
    assert table.loss.corrupt_records == reader.stats.corrupt_records
    assert table.header == reader.header
