"""Decode a capture into per-sample arrays, with every lost sample accounted for.

The fast path is vectorised: runs of same-length DATA notifications (nearly
every record of a stream) are decoded column-wise with numpy, using the field
offsets and scales of ``sacrum_protocol``; segmented packets (small MTU),
serial frames and anything unusual go through the shared codec one packet at a
time. Samples are written straight into the output arrays in the order they
arrived; once every packet header is known, sequence numbers are unwrapped
and the rows are moved in place to their place on the sample grid, lost
samples becoming NaN rows. Memory is the output arrays plus one chunk of the
file and the per-packet headers (a few bytes per packet).

BIAS packets (protocol 1.2, SPEC 2.5) give the gyro bias the device took off the
streamed rate from a sample on; each is placed on the sample grid by its
``sample_seq``, read against the DATA packet that arrived next (the device sends it
just before the packet holding that sample), and held until the next:
:attr:`SampleTable.gyr_bias_radps`, so that ``gyr_radps + gyr_bias_radps`` is the
sensor's own rate (:attr:`SampleTable.gyr_sensor_radps`), as an IMU CSV has it.
"""

from __future__ import annotations

import bisect
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import sacrum_protocol as sp
from sacrum.io.capture import CaptureReader, Record, RecordRun
from sacrum.io.timebase import ClockMap, ClockSync

log = logging.getLogger(__name__)

_Q = np.float32(1.0 / sp.Q_SCALE)
_ACC = np.float32(1.0 / sp.ACC_SCALE)
_GYR = np.float32(1.0 / sp.GYR_SCALE)
_H = sp.RECORD_HEADER_SIZE
_MOVE_BLOCK_ROWS = 1 << 16
# Device time running backwards by more than this (s) is a device restart,
# not a reordered packet.
_RESTART_BACKWARDS_S = 2.0
# Device time advancing this much (s) more than host time did is a clock jump.
_AHEAD_OF_HOST_S = 10.0
_MIN_WRAP_S = 32.0


@dataclass
class LossReport:
    """Where every sample and packet went. Counts are exact (SPEC 2.1)."""

    samples_expected: int = 0  # first to last received sample, on the device's count
    samples_received: int = 0
    samples_lost: int = 0
    gaps: int = 0
    longest_gap_samples: int = 0
    longest_gap_s: float = 0.0
    packets_received: int = 0  # valid DATA packets, duplicates included
    packets_lost: int = 0  # sequence-number gaps
    packets_dropped_by_device: int = 0  # of packets_lost: the device could not send them
    packets_lost_in_transit: int = 0  # of packets_lost: sent, never arrived
    duplicate_packets: int = 0
    reordered_packets: int = 0
    corrupt_packets: int = 0  # bad length, bad CRC (serial), malformed
    unsupported_version_packets: int = 0
    unknown_packets: int = 0  # unknown packet type
    incomplete_segments: int = 0  # segmented packets missing a segment
    orphan_segments: int = 0  # segments whose packet's first segment never came
    empty_notifications: int = 0  # zero-length values (a stack or radio fault)
    corrupt_records: int = 0  # capture-file damage (CRC), skipped
    skipped_bytes: int = 0
    truncated_tail_bytes: int = 0
    unknown_records: int = 0
    device_restarts: int = 0
    gap_list: list[tuple[float, float, int]] = field(default_factory=list)  # (t_s, dur_s, n)

    @property
    def loss_fraction(self) -> float:
        return self.samples_lost / self.samples_expected if self.samples_expected else 0.0

    def lines(self) -> list[str]:
        """Human-readable summary, one fact a line."""
        out = [
            f"samples: {self.samples_received:,} received of {self.samples_expected:,} "
            f"({self.samples_lost:,} lost, {100 * self.loss_fraction:.2f} %)",
            f"gaps: {self.gaps:,}, longest {self.longest_gap_samples:,} samples "
            f"({self.longest_gap_s:.3f} s)",
            f"packets: {self.packets_received:,} received, {self.packets_lost:,} lost "
            f"({self.packets_dropped_by_device:,} dropped at the device, "
            f"{self.packets_lost_in_transit:,} in transit)",
        ]
        bad = {
            "duplicate packets": self.duplicate_packets,
            "reordered packets": self.reordered_packets,
            "corrupt packets": self.corrupt_packets,
            "packets of an unsupported version": self.unsupported_version_packets,
            "packets of an unknown type": self.unknown_packets,
            "incomplete segmented packets": self.incomplete_segments,
            "segments without their packet's first": self.orphan_segments,
            "empty notifications": self.empty_notifications,
            "damaged capture records": self.corrupt_records,
            "bytes skipped": self.skipped_bytes,
            "bytes of a truncated final record": self.truncated_tail_bytes,
            "records of an unknown kind": self.unknown_records,
            "device restarts": self.device_restarts,
        }
        skipped = [f"{v:,} {k}" for k, v in bad.items() if v]
        if skipped:
            out.append("skipped/counted: " + ", ".join(skipped))
        return out


@dataclass
class SampleTable:
    """Per-sample arrays of a session, SI units.

    ``t_s`` is seconds since the session start (the capture header's
    ``start_time_ns``), from the device clock mapped onto host time. ``q`` is
    ``q_sensor_to_earth`` (w, x, y, z); ``acc_mps2`` and ``gyr_radps`` are in
    the sensor frame. Lost samples are rows of NaN (flags 0) at their place.
    """

    t_s: np.ndarray  # (N,) float64
    q: np.ndarray  # (N, 4) float32
    acc_mps2: np.ndarray  # (N, 3) float32
    gyr_radps: np.ndarray  # (N, 3) float32
    flags: np.ndarray  # (N,) uint8, SPEC 2.1 status bits of the sample's packet
    period_s: float
    clock: ClockMap
    loss: LossReport
    header: dict[str, Any]
    device: dict[str, Any]
    annotations: list[tuple[float, dict[str, Any]]]  # (t_s, annotation JSON)
    events: list[tuple[float, dict[str, Any]]]
    responses: int = 0
    commands: int = 0
    #: (N, 3) float32, sensor frame: the gyro bias (rad/s) the device took off
    #: ``gyr_radps`` at each sample (protocol 1.2 BIAS packets, SPEC 2.5; held from one to
    #: the next, the first also before it); None when the capture has none (an older
    #: device, or one that streams the sensor's rate).
    gyr_bias_radps: np.ndarray | None = None
    bias_packets: int = 0  # BIAS packets decoded

    def __len__(self) -> int:
        return self.t_s.shape[0]

    @property
    def gyr_sensor_radps(self) -> np.ndarray:
        """The sensor's angular rate (rad/s, sensor frame): ``gyr_radps`` (the wire's,
        bias-corrected by the device, SPEC 1.2) plus ``gyr_bias_radps`` where the capture
        says the bias; ``gyr_radps`` itself when it does not."""
        if self.gyr_bias_radps is None:
            return self.gyr_radps
        return self.gyr_radps + self.gyr_bias_radps

    @property
    def received(self) -> np.ndarray:
        return ~np.isnan(self.q[:, 0])

    @property
    def rate_hz(self) -> float:
        return 1.0 / self.period_s if self.period_s else 0.0

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) + self.period_s if len(self) else 0.0

    def tasks(self) -> list[tuple[str, float, float | None]]:
        """(task, start_s, stop_s or None) from the task annotations."""
        out: list[tuple[str, float, float | None]] = []
        open_: dict[str, int] = {}
        for t, a in self.annotations:
            if a.get("type") == "task_start":
                open_[a.get("task", "?")] = len(out)
                out.append((a.get("task", "?"), t, None))
            elif a.get("type") == "task_stop" and a.get("task") in open_:
                i = open_.pop(a["task"])
                out[i] = (out[i][0], out[i][1], t)
        return out


class _Packets:
    """Growable per-packet header columns, in arrival order."""

    NAMES = ("seq", "sseq", "t_us", "period", "dropped", "flags", "n", "host_ns", "row")

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in self.NAMES}

    # stored in their wire widths (a few bytes a packet), widened when assembled
    DTYPES = (np.uint16, np.uint16, np.uint32, np.uint16, np.uint16, np.uint8, np.uint8,
              np.int64, np.int64)

    def add(self, **cols: np.ndarray) -> None:
        for k, dt in zip(self.NAMES, self.DTYPES, strict=True):
            self.parts[k].append(np.array(cols[k], dtype=dt).ravel())

    def columns(self) -> dict[str, np.ndarray]:
        return {k: (np.concatenate(v).astype(np.int64) if v else np.zeros(0, np.int64))
                for k, v in self.parts.items()}


def _data_dtype(n: int) -> np.dtype:
    """Structured dtype of a capture record holding a DATA packet of n samples."""
    o = _H
    return np.dtype({
        "names": ["host_ns", "ptype", "version", "seq", "sseq", "t_us", "period", "dropped",
                  "flags", "n", "samples"],
        "formats": ["<i8", "u1", "u1", "<u2", "<u2", "<u4", "<u2", "<u2", "u1", "u1",
                    ("<i2", (n, 10))],
        "offsets": [8, o + sp.OFF_PTYPE, o + sp.OFF_VERSION, o + sp.OFF_SEQ,
                    o + sp.OFF_SAMPLE_SEQ, o + sp.OFF_T_US, o + sp.OFF_PERIOD_US,
                    o + sp.OFF_DROPPED, o + sp.OFF_FLAGS, o + sp.OFF_N,
                    o + sp.DATA_HEADER_SIZE],
        "itemsize": _H + sp.data_packet_size(n) + sp.RECORD_TRAILER_SIZE,
    })


_DATA_DTYPES = {n: _data_dtype(n) for n in range(sp.MIN_SAMPLES, sp.MAX_SAMPLES + 1)}
_DATA_SIZES = {sp.data_packet_size(n): n for n in _DATA_DTYPES}


class CaptureDecoder:
    """Decodes one capture file; ``decode()`` returns a :class:`SampleTable`."""

    def __init__(self, path: str | os.PathLike, *, chunk_bytes: int | None = None,
                 clock_sync: ClockSync | None = None) -> None:
        kw = {"chunk_bytes": chunk_bytes} if chunk_bytes else {}
        self.reader = CaptureReader(path, **kw)
        self.clock_sync = clock_sync or ClockSync()
        self.loss = LossReport()
        self._packets = _Packets()
        self._reasm: dict[int, sp.Reassembler] = {}
        self._annotations: list[tuple[int, dict[str, Any]]] = []
        self._events: list[tuple[int, dict[str, Any]]] = []
        self._bias: list[tuple[int, int, int, int, int]] = []  # DATA before it, sseq, x y z
        self.responses = 0
        self.commands = 0
        # A packet of n <= 11 samples costs at least 20n + 16 (DATA header) + 20
        # (record) bytes of the file, so this bounds the rows received.
        most = sp.data_packet_size(sp.MAX_SAMPLES) + sp.RECORD_HEADER_SIZE + 4
        cap = self.reader.size * sp.MAX_SAMPLES // most + sp.MAX_SAMPLES
        self.q = np.empty((cap, 4), np.float32)
        self.acc = np.empty((cap, 3), np.float32)
        self.gyr = np.empty((cap, 3), np.float32)
        self.flags = np.empty(cap, np.uint8)
        self.rows = 0

    # -- pass over the file ----------------------------------------------------
    def decode(self) -> SampleTable:
        for item in self.reader.runs():
            if isinstance(item, RecordRun):
                self._run(item)
            else:
                self._record(item)
        st = self.reader.stats
        self.loss.corrupt_records = st.corrupt_records
        self.loss.skipped_bytes = st.skipped_bytes
        self.loss.truncated_tail_bytes = st.truncated_tail_bytes
        self.loss.unknown_records = st.unknown_kinds
        self.loss.incomplete_segments = sum(r.incomplete for r in self._reasm.values())
        self.loss.orphan_segments = sum(r.orphans for r in self._reasm.values())
        return self._assemble()

    def _run(self, run: RecordRun) -> None:
        n = _DATA_SIZES.get(run.payload_len)
        if run.channel != sp.CH_BLE_DATA or n is None:
            for rec in run.records():
                self._record(rec)
            return
        reasm = self._reasm.get(sp.CH_BLE_DATA)
        if reasm is not None and reasm.parts:
            reasm.reset()
        v = run.rows.view(_DATA_DTYPES[n]).ravel()
        ok = (v["ptype"] == sp.PTYPE_DATA) & ((v["version"] >> 4) == sp.VERSION_MAJOR) & (
            v["n"] == n) & (v["period"] != 0)
        if ok.all():
            self._add_vectorised(v)
            return
        # Keep arrival order: decode good stretches together, others one by one.
        edges = np.flatnonzero(np.diff(ok.astype(np.int8))) + 1
        for a, b in zip(np.r_[0, edges], np.r_[edges, ok.size], strict=True):
            if ok[a]:
                self._add_vectorised(v[a:b])
            else:
                for rec in RecordRun(run.kind, run.channel, run.payload_len, run.offset,
                                     run.rows[a:b]).records():
                    self._record(rec)

    def _add_vectorised(self, v: np.ndarray) -> None:
        k = v.shape[0]
        n = int(v["n"][0])
        m = k * n
        r = self.rows
        self._ensure(r + m)
        s = v["samples"]  # (k, n, 10) int16, strided view into the chunk
        np.multiply(s[..., 0:4], _Q, out=self.q[r:r + m].reshape(k, n, 4))
        np.multiply(s[..., 4:7], _ACC, out=self.acc[r:r + m].reshape(k, n, 3))
        np.multiply(s[..., 7:10], _GYR, out=self.gyr[r:r + m].reshape(k, n, 3))
        self.flags[r:r + m].reshape(k, n)[:] = v["flags"][:, None]
        self._packets.add(seq=v["seq"], sseq=v["sseq"], t_us=v["t_us"], period=v["period"],
                          dropped=v["dropped"], flags=v["flags"], n=v["n"],
                          host_ns=v["host_ns"], row=r + n * np.arange(k))
        self.rows += m
        self.loss.packets_received += k

    def _ensure(self, rows: int) -> None:
        if rows > self.q.shape[0]:  # cannot happen for a consistent file; be safe
            new = max(rows, 2 * self.q.shape[0])
            for a in (self.q, self.acc, self.gyr, self.flags):
                a.resize((new, *a.shape[1:]), refcheck=False)

    def _record(self, rec: Record) -> None:
        kind = rec.kind
        if kind == sp.KIND_PACKET:
            self._packet_record(rec)
        elif kind == sp.KIND_ANNOTATION:
            self._json_into(rec, self._annotations)
        elif kind == sp.KIND_EVENT:
            self._json_into(rec, self._events)

    def _json_into(self, rec: Record, out: list[tuple[int, dict[str, Any]]]) -> None:
        try:
            out.append((rec.host_time_ns, rec.json()))
        except (UnicodeError, ValueError):
            self.loss.corrupt_packets += 1

    def _packet_record(self, rec: Record) -> None:
        ch = rec.channel
        data = rec.payload
        if ch in (sp.CH_BLE_CONTROL, sp.CH_SERIAL_TX):
            self.commands += 1
            return
        if ch == sp.CH_SERIAL_RX:
            try:
                data = sp.decode_frame(data)
            except sp.ProtocolError:
                self.loss.corrupt_packets += 1
                return
        elif ch in (sp.CH_BLE_DATA, sp.CH_BLE_RESPONSE):
            if not data:
                self.loss.empty_notifications += 1
                return
            reasm = self._reasm.setdefault(ch, sp.Reassembler())
            try:
                data = reasm.push(data)
            except sp.ProtocolError as e:
                self._count_bad(e)
                return
            if data is None:
                return
        else:
            self.loss.unknown_packets += 1
            return
        self._packet(data, rec.host_time_ns)

    def _count_bad(self, e: sp.ProtocolError) -> None:
        if e.result == sp.RESULT_UNSUPPORTED_VERSION:
            self.loss.unsupported_version_packets += 1
        else:
            self.loss.corrupt_packets += 1

    def _packet(self, data: bytes, host_ns: int) -> None:
        if not data:
            self.loss.corrupt_packets += 1
            return
        ptype = data[0]
        if ptype == sp.PTYPE_DATA:
            try:
                (seq, sseq, t_us, period, dropped, flags, n), raw = sp.decode_data(data)
            except sp.ProtocolError as e:
                self._count_bad(e)
                return
            r = self.rows
            self._ensure(r + n)
            a = np.array(raw, dtype=np.int16)
            np.multiply(a[:, 0:4], _Q, out=self.q[r:r + n])
            np.multiply(a[:, 4:7], _ACC, out=self.acc[r:r + n])
            np.multiply(a[:, 7:10], _GYR, out=self.gyr[r:r + n])
            self.flags[r:r + n] = flags
            self._packets.add(seq=seq, sseq=sseq, t_us=t_us, period=period, dropped=dropped,
                              flags=flags, n=n, host_ns=host_ns, row=r)
            self.rows += n
            self.loss.packets_received += 1
        elif ptype == sp.PTYPE_RESPONSE:
            try:
                sp.decode_response(data)
                self.responses += 1
            except sp.ProtocolError as e:
                self._count_bad(e)
        elif ptype == sp.PTYPE_BIAS:
            try:
                sseq, (bx, by, bz) = sp.decode_bias(data)
            except sp.ProtocolError as e:
                self._count_bad(e)
                return
            self._bias.append((self.loss.packets_received, sseq, bx, by, bz))
        elif ptype in (sp.PTYPE_COMMAND, sp.PTYPE_SEGMENT):
            self.loss.corrupt_packets += 1  # wrong direction / nested segment
        else:
            self.loss.unknown_packets += 1

    # -- after the pass: place samples on the device's sample grid --------------
    def _assemble(self) -> SampleTable:
        cols = self._packets.columns()
        start_ns = self.reader.start_time_ns
        hn = cols["host_ns"]
        if start_ns is None:
            start_ns = int(hn[0]) if hn.size else 0
        loss = self.loss
        if hn.size == 0:
            return self._table(np.zeros(0), 0, 0.0, ClockMap(0.0, 0.0, 0.0, 0), start_ns)
        n = cols["n"]
        period = cols["period"]
        idx0, t0_us, restart = _unwrap(cols)
        loss.device_restarts = int(restart.sum())
        end = idx0 + n
        in_order = bool(np.all(idx0[1:] >= end[:-1]))
        if in_order:
            keep = np.ones(idx0.size, bool)
            order = np.arange(idx0.size)
        else:
            order = np.argsort(idx0, kind="stable")
            keep = np.ones(idx0.size, bool)
            seen_end = np.maximum.accumulate(end[order])
            keep[order[1:]] = idx0[order[1:]] >= seen_end[:-1]
            loss.duplicate_packets = int((~keep).sum())
            running = np.maximum.accumulate(end)
            late = np.zeros(idx0.size, bool)
            late[1:] = idx0[1:] < running[:-1]
            loss.reordered_packets = int((late & keep).sum())
        ko = order[keep[order]]  # kept packets in sample order
        # Sample order and device time must agree. A packet whose sample_seq and
        # t_us contradict the rest (damaged in a way no check caught) is dropped:
        # keep the longest run of packets whose times increase with their order.
        t_start = t0_us[ko]
        t_end = t_start + (n[ko] - 0.5) * period[ko]  # just after the packet's last sample
        if not np.all(t_start[1:] > t_end[:-1]):
            good = _increasing_subsequence(t_start)
            last_end = -np.inf
            for i in np.flatnonzero(good):  # then each must start after the last ends
                if t_start[i] <= last_end:
                    good[i] = False
                else:
                    last_end = t_end[i]
            bad = ko[~good]
            keep[bad] = False
            loss.corrupt_packets += int(bad.size)
            loss.packets_received -= int(bad.size)
            in_order = False
            ko = order[keep[order]]
        base = int(idx0[ko[0]])
        total = int(end[ko[-1]] - base)
        dest = idx0[ko] - base
        self._place(cols["row"][ko], dest, n[ko], total, in_order)
        # packet accounting along arrival order, skipping duplicates and restarts
        self._count_packets(cols, ko, dest, restart)
        # gaps between consecutive kept packets
        gap = dest[1:] - (dest[:-1] + n[ko][:-1])
        where = np.flatnonzero(gap > 0)
        per = period[ko] * 1e-6
        loss.samples_expected = total
        loss.samples_received = int(n[ko].sum())
        loss.samples_lost = total - loss.samples_received
        loss.gaps = int(where.size)
        # device time of every grid row: t_us + i * period inside a packet, linear
        # across gaps (a pause in streaming is time passing without rows)
        nk = n[ko]
        last = nk > 1
        xs = np.concatenate([dest, (dest + nk - 1)[last]]).astype(np.float64)
        ts = np.concatenate([t0_us[ko], (t0_us[ko] + (nk - 1) * period[ko])[last]]) * 1e-6
        order_x = np.argsort(xs, kind="stable")
        xs, ts = xs[order_x], ts[order_x]
        t_dev = np.empty(total, np.float64)
        for a in range(0, total, _MOVE_BLOCK_ROWS):  # blocks: no full-size temporaries
            b = min(a + _MOVE_BLOCK_ROWS, total)
            t_dev[a:b] = np.interp(np.arange(a, b, dtype=np.float64), xs, ts)
        # clock map from (device time of last sample, host receive time)
        last_dev = (t0_us + (n - 1) * period) * 1e-6
        clock = self.clock_sync.fit(last_dev[keep], (hn[keep] - start_ns) * 1e-9)
        t_dev *= 1.0 + clock.drift
        t_dev += clock.offset_s
        if where.size:
            g = gap[where]
            loss.longest_gap_samples = int(g.max())
            loss.longest_gap_s = float((g * per[where]).max())
            top = where[np.argsort(g)[::-1][:100]]
            loss.gap_list = sorted(
                (float(t_dev[dest[i] + n[ko][i]]), float(gap[i] * per[i]), int(gap[i]))
                for i in top)
        period_s = float(np.median(per))
        bias = self._bias_rows(cols, idx0, base, total)
        return self._table(t_dev, total, period_s, clock, start_ns, bias)

    def _bias_rows(self, cols: dict[str, np.ndarray], idx0: np.ndarray, base: int,
                   total: int) -> np.ndarray | None:
        """The BIAS packets' bias at every grid row (SPEC 2.5): each from the row of its
        ``sample_seq`` (read against the DATA packet that arrived next, else the one
        before) to the next one's; the first also before it."""
        if not self._bias or total == 0:
            return None
        b = np.array(self._bias, dtype=np.int64)
        npk = idx0.size
        ref = np.minimum(b[:, 0], npk - 1)
        rows = idx0[ref] - base + (b[:, 1] - cols["sseq"][ref] + 0x8000) % sp.SEQ_MOD - 0x8000
        order = np.argsort(rows, kind="stable")  # equal rows: the later arrival holds
        rows = np.clip(rows[order], 0, total)
        vals = (b[order, 2:5] / sp.BIAS_SCALE).astype(np.float32)
        rows[0] = 0
        lengths = np.diff(np.r_[rows, total])
        return np.repeat(vals, lengths, axis=0)

    def _place(self, rows: np.ndarray, dest: np.ndarray, n: np.ndarray, total: int,
               in_order: bool) -> None:
        """Move received rows to their grid positions; NaN the lost ones."""
        arrays = (self.q, self.acc, self.gyr, self.flags)
        if in_order and np.array_equal(rows, np.r_[0, np.cumsum(n[:-1])]):
            # rows are compact in sample order: shift each stretch between gaps
            # right, last stretch first, so nothing is overwritten before read.
            if total > self.q.shape[0]:
                for a in arrays:
                    a.resize((total, *a.shape[1:]), refcheck=False)
            shift = dest - rows
            brk = np.flatnonzero(np.diff(shift)) + 1
            starts = np.r_[0, brk]
            stops = np.r_[brk, rows.size]
            for a in arrays:
                for s0, s1 in zip(starts[::-1], stops[::-1], strict=True):
                    src = int(rows[s0])
                    length = int(rows[s1 - 1] + n[s1 - 1]) - src
                    _shift_rows(a, src, src + int(shift[s0]), length)
        else:
            # Out-of-order arrival: gather into fresh arrays (rare; 2x memory).
            src = np.repeat(rows, n) + _ramp(n)
            dst = np.repeat(dest, n) + _ramp(n)
            new = []
            for a in arrays:
                b = np.empty((total, *a.shape[1:]), a.dtype)
                b[dst] = a[src]
                new.append(b)
            self.q, self.acc, self.gyr, self.flags = new
            arrays = tuple(new)
        # kept packets do not overlap, so the lost rows are the gaps between them
        stop = dest + n
        for i in np.flatnonzero(dest[1:] > stop[:-1]):
            a0, a1 = int(stop[i]), int(dest[i + 1])
            for a in arrays[:3]:
                a[a0:a1] = np.nan
            self.flags[a0:a1] = 0
        for a in (self.q, self.acc, self.gyr, self.flags):
            a.resize((total, *a.shape[1:]), refcheck=False)

    def _count_packets(self, cols: dict[str, np.ndarray], ko: np.ndarray, dest: np.ndarray,
                       restart: np.ndarray) -> None:
        """Sequence-number gaps between kept packets in sample order (SPEC 2.1)."""
        seq, dropped, n = cols["seq"][ko], cols["dropped"][ko], cols["n"][ko]
        dq = (np.diff(seq) - 1) % sp.SEQ_MOD
        # whole wraps of the 16-bit packet counter, from the sample gap
        expect = (np.diff(dest) - n[:-1]) / n[:-1]
        dq = dq + np.round((expect - dq) / sp.SEQ_MOD).astype(np.int64) * sp.SEQ_MOD
        dd = np.diff(dropped) % sp.SEQ_MOD
        fwd = ~restart[ko][1:]
        lost = int(dq[fwd].sum())
        drop = int(np.minimum(dd[fwd], dq[fwd]).sum())
        self.loss.packets_lost = lost
        self.loss.packets_dropped_by_device = drop
        self.loss.packets_lost_in_transit = lost - drop

    def _table(self, t_s: np.ndarray, total: int, period_s: float, clock: ClockMap,
               start_ns: int, bias: np.ndarray | None = None) -> SampleTable:
        for a in (self.q, self.acc, self.gyr, self.flags):
            a.resize((total, *a.shape[1:]), refcheck=False)

        def rel(items: list[tuple[int, dict[str, Any]]]) -> list[tuple[float, dict[str, Any]]]:
            return [((t - start_ns) * 1e-9, a) for t, a in items]

        return SampleTable(
            t_s=t_s, q=self.q, acc_mps2=self.acc, gyr_radps=self.gyr, flags=self.flags,
            period_s=period_s, clock=clock, loss=self.loss, header=self.reader.header,
            device=self.reader.device, annotations=rel(self._annotations),
            events=rel(self._events), responses=self.responses, commands=self.commands,
            gyr_bias_radps=bias, bias_packets=len(self._bias),
        )


def _increasing_subsequence(x: np.ndarray) -> np.ndarray:
    """Mask of a longest strictly increasing subsequence of x (patience sorting)."""
    tails: list[float] = []  # smallest tail value of an increasing run of each length
    tail_idx: list[int] = []
    prev = np.full(x.size, -1)
    for i, v in enumerate(x.tolist()):
        k = bisect.bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_idx.append(i)
        else:
            tails[k] = v
            tail_idx[k] = i
        prev[i] = tail_idx[k - 1] if k else -1
    mask = np.zeros(x.size, bool)
    i = tail_idx[-1] if tail_idx else -1
    while i >= 0:
        mask[i] = True
        i = prev[i]
    return mask


def _ramp(n: np.ndarray) -> np.ndarray:
    """[0..n0-1, 0..n1-1, ...] for sample offsets within packets."""
    total = int(n.sum())
    starts = np.repeat(np.cumsum(n) - n, n)
    return np.arange(total) - starts


def _shift_rows(a: np.ndarray, src: int, dst: int, length: int) -> None:
    """a[dst:dst+length] = a[src:src+length] for dst >= src, in bounded blocks."""
    if dst == src or length <= 0:
        return
    hi = length
    while hi > 0:
        lo = max(0, hi - _MOVE_BLOCK_ROWS)
        a[dst + lo:dst + hi] = a[src + lo:src + hi]
        hi = lo


def _unwrap(cols: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unwrap t_us and sample_seq in arrival order (SPEC 2.1 loss accounting).

    Returns the first-sample index of every packet on one continuous sample
    grid, its device time in µs (both relative to the first packet), and a
    mask of packets that follow a device restart.
    """
    t_us, sseq, period, n = cols["t_us"], cols["sseq"], cols["period"], cols["n"]
    h_us = (cols["host_ns"] - cols["host_ns"][0]) / 1000.0
    dh = np.diff(h_us)
    dt = (np.diff(t_us) + (1 << 31)) % (1 << 32) - (1 << 31)
    # gaps longer than the 71.6-minute t_us wrap: whole wraps from host time
    dt = dt + np.round((dh - dt) / float(1 << 32)).astype(np.int64) * (1 << 32)
    # A device restart sends its clock backwards; a device clock leaping ahead
    # of the host's (beyond any buffering) is no measurement either: both start
    # a new stretch placed by host time.
    restart = np.r_[False, (dt < -_RESTART_BACKWARDS_S * 1e6)
                    | (dt > dh + _AHEAD_OF_HOST_S * 1e6)]
    ds = (np.diff(sseq) + 0x8000) % sp.SEQ_MOD - 0x8000
    # Whole wraps of the 16-bit sample counter, from device time. No sensor runs
    # above 1 kHz, so a wrap needs >= 32.8 s; shorter gaps trust sample_seq
    # (a bogus period_us cannot then inflate the grid).
    expect = dt / period[:-1]
    wraps = np.round((expect - ds) / sp.SEQ_MOD).astype(np.int64)
    wraps[dt < _MIN_WRAP_S * 1e6] = 0
    ds = ds + wraps * sp.SEQ_MOD
    if restart.any():
        r = restart[1:]
        # placed by host time, but never before the previous packet's samples end
        dt[r] = np.maximum(np.round(dh[r]).astype(np.int64), (n[:-1] * period[:-1])[r])
        ds[r] = np.maximum(np.round(dh[r] / period[:-1][r]).astype(np.int64), n[:-1][r])
    idx0 = np.r_[0, np.cumsum(ds)]
    t0 = np.r_[0, np.cumsum(dt)]
    return idx0.astype(np.int64), t0.astype(np.float64), restart


def decode_capture(path: str | os.PathLike, **kw: Any) -> SampleTable:
    """Decode a whole capture file (see :class:`CaptureDecoder`)."""
    return CaptureDecoder(path, **kw).decode()
