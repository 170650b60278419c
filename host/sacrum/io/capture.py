"""Capture files: write what arrived, read it back (protocol/SPEC.md section 5).

A capture is append-only: every record is written whole and flushed, so a
recorder that is killed leaves a file whose records all read back but the
partial last one. The reader verifies each record's CRC-32, skips and counts
damaged ones, resynchronises on the next valid record and reports a partial
tail instead of failing.

Reading is chunked (bounded memory) and vectorised: consecutive records of
the same kind, channel and length -- nearly every record of a stream -- come
back as one :class:`RecordRun`, a 2-D ``uint8`` view (one row per record) that
the numpy decoder slices column-wise.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

import sacrum_protocol as sp
from sacrum import __version__
from sacrum.io.private_files import open_private_stream

log = logging.getLogger(__name__)

_REC_OVERHEAD = sp.RECORD_HEADER_SIZE + sp.RECORD_TRAILER_SIZE
_KNOWN_KINDS = (sp.KIND_HEADER, sp.KIND_PACKET, sp.KIND_ANNOTATION, sp.KIND_EVENT, sp.KIND_DEVICE)
_JSON_KINDS = (sp.KIND_HEADER, sp.KIND_ANNOTATION, sp.KIND_EVENT, sp.KIND_DEVICE)
# Rows checked at once when looking for a run of same-shaped records; bounds
# the work wasted when runs are short.
_RUN_BLOCK = 2048
DEFAULT_CHUNK_BYTES = 4 << 20


class CaptureError(ValueError):
    """A capture file that cannot be read at all (wrong magic, newer format)."""


def now_ns() -> int:
    return time.time_ns()


def encode_record(kind: int, channel: int, host_time_ns: int, payload: bytes) -> bytes:
    """One capture record, CRC included (SPEC 5.1)."""
    if len(payload) > sp.RECORD_MAX_PAYLOAD:
        raise ValueError(f"record payload of {len(payload)} bytes exceeds 4096")
    head = struct.pack(
        sp.RECORD_HEADER_FMT, sp.RECORD_SYNC, kind, channel, 0, len(payload), 0, host_time_ns
    )
    body = head + bytes(payload)
    return body + struct.pack("<I", zlib.crc32(memoryview(body)[1:]))


def file_header() -> bytes:
    return struct.pack(
        sp.CAPTURE_FILE_HEADER_FMT, sp.CAPTURE_MAGIC, sp.CAPTURE_FORMAT_MAJOR,
        sp.CAPTURE_FORMAT_MINOR, 0,
    )


def default_header(**fields: Any) -> dict[str, Any]:
    """HEADER record contents (SPEC 5.2) with host facts filled in.

    ``host`` says which software made the capture -- the sacrum version and the operating
    system's name ("Linux", "Darwin", "Windows") -- and nothing that names a person or a
    machine: no host name, user name, home folder or OS build (docs/security.md; captures
    are copied into libraries and mailed). Captures of earlier versions that carry a
    ``hostname`` read as before.
    """
    start_ns = fields.pop("start_time_ns", None)
    start_ns = now_ns() if start_ns is None else start_ns
    header: dict[str, Any] = {
        "format": "sacrum-capture",
        "created_utc": datetime.fromtimestamp(start_ns / 1e9, UTC).isoformat(),
        "start_time_ns": start_ns,
        "host": {
            "platform": platform.system() or "unknown",
            "sacrum_version": __version__,
        },
        "transport": "unknown",
        "device": {},
    }
    header.update(fields)
    return header


class CaptureWriter:
    """Appends records to a capture; each record is flushed as it is written.

    ``fsync_interval_s`` bounds what a power loss (not just a killed process)
    can take: the file is fsync'ed at most that often.
    """

    def __init__(
        self, path: str | os.PathLike, header: dict[str, Any] | None = None,
        *, fsync_interval_s: float = 2.0,
    ) -> None:
        self.path = Path(path)
        self.header = header if header is not None else default_header()
        # 0600: a person's movement data (sacrum.io.private_files); written in place, each
        # record flushed, so a killed recorder loses only its last record
        self._f: BinaryIO = open_private_stream(self.path)
        self._fsync_interval_s = fsync_interval_s
        self._last_sync = time.monotonic()
        self.records = 0
        self.packets = 0
        self.bytes_written = 0
        self._f.write(file_header())
        self.bytes_written += sp.CAPTURE_FILE_HEADER_SIZE
        self._write(sp.KIND_HEADER, 0, self.header["start_time_ns"], _json(self.header))

    def _write(self, kind: int, channel: int, host_time_ns: int, payload: bytes) -> None:
        rec = encode_record(kind, channel, host_time_ns, payload)
        self._f.write(rec)
        self._f.flush()
        self.records += 1
        self.bytes_written += len(rec)
        if time.monotonic() - self._last_sync > self._fsync_interval_s:
            os.fsync(self._f.fileno())
            self._last_sync = time.monotonic()

    def write_packet(self, channel: int, data: bytes, host_time_ns: int | None = None) -> None:
        """Record bytes exactly as they arrived on ``channel`` (SPEC 5.3)."""
        self._write(sp.KIND_PACKET, channel, now_ns() if host_time_ns is None else host_time_ns,
                    data)
        self.packets += 1

    def annotate(self, annotation: dict[str, Any], host_time_ns: int | None = None) -> None:
        kind = annotation.get("type")
        if kind not in ("task_start", "task_stop", "mark", "mounting"):
            raise ValueError(f"annotation type {kind!r} is not task_start, task_stop, mark "
                             "or mounting")
        if kind == "mounting":
            q = annotation.get("q_sensor_to_body")
            if (not isinstance(q, list | tuple) or len(q) != 4
                    or not all(isinstance(v, int | float) and math.isfinite(v) for v in q)
                    or abs(math.hypot(*q) - 1.0) > 1e-3):
                raise ValueError(f"mounting q_sensor_to_body {q!r} is not a unit quaternion "
                                 "[w, x, y, z]")
        elif kind != "mark" and annotation.get("task") not in sp.TASKS:
            raise ValueError(f"unknown task {annotation.get('task')!r}; one of {sp.TASKS}")
        self._write(sp.KIND_ANNOTATION, 0, now_ns() if host_time_ns is None else host_time_ns,
                    _json(annotation))

    def task_start(self, task: str, host_time_ns: int | None = None) -> None:
        self.annotate({"type": "task_start", "task": task}, host_time_ns)

    def task_stop(self, task: str, host_time_ns: int | None = None) -> None:
        self.annotate({"type": "task_stop", "task": task}, host_time_ns)

    def mark(self, note: str, host_time_ns: int | None = None) -> None:
        self.annotate({"type": "mark", "note": note}, host_time_ns)

    def mounting(self, spec: str | None, q_sensor_to_body, source: str,
                 host_time_ns: int | None = None) -> None:
        """The mounting the session used from now on (SPEC §5.2): its ``parse_mount`` text
        (or None), the quaternion (w, x, y, z) and where it came from (``"given"``,
        ``"default"``, ...)."""
        self.annotate({"type": "mounting", "spec": spec,
                       "q_sensor_to_body": [float(v) for v in q_sensor_to_body],
                       "source": source}, host_time_ns)

    def event(self, event_type: str, host_time_ns: int | None = None, **fields: Any) -> None:
        self._write(sp.KIND_EVENT, 0, now_ns() if host_time_ns is None else host_time_ns,
                    _json({"type": event_type, **fields}))

    def device_info(self, info: dict[str, Any], host_time_ns: int | None = None) -> None:
        self._write(sp.KIND_DEVICE, 0, now_ns() if host_time_ns is None else host_time_ns,
                    _json(info))

    def close(self) -> None:
        if not self._f.closed:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --- reading ----------------------------------------------------------------
@dataclass(frozen=True)
class Record:
    """One record read back. ``offset`` is its byte offset in the file."""

    kind: int
    channel: int
    host_time_ns: int
    payload: bytes
    offset: int

    def json(self) -> dict[str, Any]:
        return json.loads(self.payload.decode("utf-8"))


@dataclass
class RecordRun:
    """``count`` consecutive valid records with the same kind, channel and length.

    ``rows`` is a (count, record_length) uint8 array, one whole record per row;
    it may view the reader's chunk buffer, so copy what must outlive the
    iteration step.
    """

    kind: int
    channel: int
    payload_len: int
    offset: int
    rows: np.ndarray

    @property
    def count(self) -> int:
        return self.rows.shape[0]

    @property
    def host_time_ns(self) -> np.ndarray:
        return self.rows[:, 8:16].copy().view("<i8").ravel()

    @property
    def payloads(self) -> np.ndarray:
        return self.rows[:, sp.RECORD_HEADER_SIZE:sp.RECORD_HEADER_SIZE + self.payload_len]

    def records(self) -> Iterator[Record]:
        times = self.host_time_ns
        pay = self.payloads
        reclen = self.rows.shape[1]
        for i in range(self.count):
            yield Record(self.kind, self.channel, int(times[i]), pay[i].tobytes(),
                         self.offset + i * reclen)


@dataclass
class ReadStats:
    """What the reader skipped, so nothing is dropped silently."""

    records: int = 0
    corrupt_records: int = 0  # damaged regions skipped (each resync counts once)
    skipped_bytes: int = 0
    unknown_kinds: int = 0  # records of a newer minor format version, skipped
    truncated_tail_offset: int | None = None  # file ends inside the record starting here
    truncated_tail_bytes: int = 0
    warnings: list[str] = field(default_factory=list)


class CaptureReader:
    """Reads a capture file chunk by chunk.

    ``header`` is the HEADER record's JSON; ``runs()`` yields RecordRun and
    Record objects in file order; ``records()`` yields only Records.
    """

    def __init__(self, path: str | os.PathLike, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES):
        self.path = Path(path)
        self.chunk_bytes = max(chunk_bytes, 2 * (sp.RECORD_MAX_PAYLOAD + _REC_OVERHEAD))
        self.stats = ReadStats()
        try:
            self.size = self.path.stat().st_size
        except OSError as e:
            raise CaptureError(f"cannot open capture {self.path}: {e.strerror}") from e
        with open(self.path, "rb") as f:
            head = f.read(sp.CAPTURE_FILE_HEADER_SIZE + sp.RECORD_HEADER_SIZE)
        if head[:8] == sp.CAPTURE_MAGIC and len(head) < sp.CAPTURE_FILE_HEADER_SIZE:
            raise CaptureError(
                f"{self.path} ends inside the capture file header ({len(head)} of "
                f"{sp.CAPTURE_FILE_HEADER_SIZE} bytes): nothing was recorded"
            )
        if len(head) < sp.CAPTURE_FILE_HEADER_SIZE or head[:8] != sp.CAPTURE_MAGIC:
            if head[:8] == b"btsnoop\0":
                raise CaptureError(
                    f"{self.path} is a btsnoop HCI log, not a sacrum capture; "
                    "convert it with `sacrum import-btsnoop`"
                )
            raise CaptureError(
                f"{self.path} is not a sacrum capture (it does not start with the "
                "capture magic \\x89SACRUM\\n)"
            )
        _, major, minor, _ = struct.unpack_from(sp.CAPTURE_FILE_HEADER_FMT, head)
        if major != sp.CAPTURE_FORMAT_MAJOR:
            raise CaptureError(
                f"{self.path} is capture format {major}.{minor}; this sacrum reads format "
                f"{sp.CAPTURE_FORMAT_MAJOR}.x -- use a sacrum release that reads {major}.x"
            )
        self.format_version = (major, minor)
        self.header: dict[str, Any] = {}
        self.device: dict[str, Any] = {}
        first = next(self._scan(limit_records=1), None)
        if isinstance(first, RecordRun):
            first = next(first.records())
        if first is None or first.kind != sp.KIND_HEADER:
            self.stats.warnings.append("the capture has no header record")
            log.warning("%s: no header record; using defaults", self.path)
        else:
            try:
                self.header = first.json()
            except (UnicodeError, ValueError):
                self.stats.warnings.append("the header record is not valid JSON")
        self.device = dict(self.header.get("device") or {})
        # What is wrong with the header stays reported however often the file is read.
        self._header_warnings = self.stats.warnings
        self.stats = ReadStats(warnings=list(self._header_warnings))

    @property
    def start_time_ns(self) -> int | None:
        t = self.header.get("start_time_ns")
        return int(t) if isinstance(t, int) else None

    def runs(self) -> Iterator[RecordRun | Record]:
        """Every valid record, in file order, grouped into runs where possible."""
        self.stats = ReadStats(warnings=list(self._header_warnings))
        for item in self._scan():
            if isinstance(item, Record) and item.kind == sp.KIND_DEVICE:
                try:
                    self.device.update(item.json())
                except (UnicodeError, ValueError):
                    self.stats.warnings.append(f"DEVICE record at {item.offset} is not JSON")
            yield item

    def records(self) -> Iterator[Record]:
        for item in self.runs():
            if isinstance(item, RecordRun):
                yield from item.records()
            else:
                yield item

    def annotations(self) -> list[Record]:
        return [r for r in self.records() if r.kind == sp.KIND_ANNOTATION]

    # The scanner: chunks of the file, records found by sync byte + length +
    # CRC, runs of same-shaped records checked column-wise.
    def _scan(self, limit_records: int | None = None) -> Iterator[RecordRun | Record]:
        st = self.stats
        emitted = 0
        with open(self.path, "rb") as f:
            f.seek(sp.CAPTURE_FILE_HEADER_SIZE)
            base = sp.CAPTURE_FILE_HEADER_SIZE  # file offset of buf[0]
            buf = b""
            eof = False
            while True:
                if not eof:
                    chunk = f.read(self.chunk_bytes)
                    eof = len(chunk) < self.chunk_bytes
                    buf = buf + chunk if buf else chunk
                p = 0
                n = len(buf)
                arr = np.frombuffer(buf, dtype=np.uint8)
                while p + sp.RECORD_HEADER_SIZE <= n:
                    sync, kind, ch, r0, length, r1, _t = struct.unpack_from(
                        sp.RECORD_HEADER_FMT, buf, p)
                    reclen = length + _REC_OVERHEAD
                    if sync != sp.RECORD_SYNC or r0 or r1 or length > sp.RECORD_MAX_PAYLOAD:
                        p = self._resync(buf, p, eof)
                        continue
                    if p + reclen > n:
                        if not eof:
                            break  # need more bytes
                        q = _next_valid(buf, p + 1, eof)
                        if q >= n:
                            break  # the partial tail of a killed recorder
                        p = self._skip(p, q)  # a damaged length field, records follow
                        continue
                    if not _crc_ok(buf, p, reclen):
                        p = self._resync(buf, p, eof)
                        continue
                    # Row 0 is valid; extend over following records of the same shape.
                    k = min((n - p) // reclen, _RUN_BLOCK)
                    rows = arr[p:p + k * reclen].reshape(k, reclen)
                    same = ((rows[:, 0] == sp.RECORD_SYNC) & (rows[:, 1] == kind)
                            & (rows[:, 2] == ch) & (rows[:, 4] == (length & 0xFF))
                            & (rows[:, 5] == (length >> 8)))
                    run = k if same.all() else int(np.argmin(same))
                    run = _crc_prefix(buf, p, reclen, run)
                    rows = rows[:run]
                    st.records += run
                    if kind not in _KNOWN_KINDS:
                        st.unknown_kinds += run
                    elif kind == sp.KIND_PACKET and limit_records is None:
                        yield RecordRun(kind, ch, length, base + p, rows)
                    else:
                        for rec in RecordRun(kind, ch, length, base + p, rows).records():
                            yield rec
                            emitted += 1
                            if limit_records is not None and emitted >= limit_records:
                                return
                    p += run * reclen
                if eof:
                    self._tail(buf, p, base)
                    return
                base += p
                buf = buf[p:]

    def _resync(self, buf: bytes, p: int, eof: bool) -> int:
        """Skip damaged bytes from ``p`` to the next record with a valid CRC."""
        return self._skip(p, _next_valid(buf, p + 1, eof))

    def _skip(self, p: int, q: int) -> int:
        self.stats.corrupt_records += 1
        self.stats.skipped_bytes += q - p
        log.warning("capture: skipped %d damaged bytes", q - p)
        return q

    def _tail(self, buf: bytes, p: int, base: int) -> None:
        if p < len(buf):
            st = self.stats
            st.truncated_tail_offset = base + p
            st.truncated_tail_bytes = len(buf) - p
            st.warnings.append(
                f"the file ends inside a record at byte {base + p} "
                f"({len(buf) - p} bytes ignored); the {st.records} records before it were read"
            )
            log.warning("%s: %s", self.path, st.warnings[-1])


def _next_valid(buf: bytes, q: int, eof: bool) -> int:
    """Offset of the next record with a valid CRC at or after ``q``.

    Returns len(buf) if there is none; before EOF it may return the offset of
    a candidate that runs past the buffer, to be decided with more data.
    """
    n = len(buf)
    while True:
        q = buf.find(b"\xa5", q)
        if q < 0 or q + sp.RECORD_HEADER_SIZE > n:
            return n if (q < 0 or eof) else q
        _, _, _, r0, length, r1, _ = struct.unpack_from(sp.RECORD_HEADER_FMT, buf, q)
        reclen = length + _REC_OVERHEAD
        if not (r0 or r1 or length > sp.RECORD_MAX_PAYLOAD):
            if q + reclen > n:
                if not eof:
                    return q
            elif _crc_ok(buf, q, reclen):
                return q
        q += 1


def _crc_ok(buf: bytes, p: int, reclen: int) -> bool:
    end = p + reclen - sp.RECORD_TRAILER_SIZE
    (stored,) = struct.unpack_from("<I", buf, end)
    return zlib.crc32(memoryview(buf)[p + 1:end]) == stored


def _crc_prefix(buf: bytes, p: int, reclen: int, run: int) -> int:
    """Number of leading records of a run whose CRC is valid."""
    mv = memoryview(buf)
    crc = zlib.crc32
    unpack = struct.unpack_from
    body = reclen - sp.RECORD_TRAILER_SIZE
    for i in range(run):
        o = p + i * reclen
        if crc(mv[o + 1:o + body]) != unpack("<I", buf, o + body)[0]:
            return i
    return run
