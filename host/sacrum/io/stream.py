"""Packet-by-packet decoding for live links (the offline decoder is decode.py).

:class:`StreamDecoder` turns the packets of a Transport into sample chunks as
they arrive and keeps running loss counts by the same rules (SPEC 2.1) as the
offline decoder, whose results it must match on the same packets (tested).

The chunks carry the wire's angular rate, bias-corrected by the device (SPEC 1.2), which
the live view uses as it is; a 1.2 device's BIAS packets (SPEC 2.5) are decoded, not
counted as unknown, and the latest is kept (:attr:`StreamDecoder.gyr_bias_radps`: add it
for the sensor's own rate, as the offline decoder's ``gyr_sensor_radps`` does).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

import sacrum_protocol as sp
from sacrum.io.decode import LossReport
from sacrum.io.transports import Packet

_SCALE = np.array([1 / sp.Q_SCALE] * 4 + [1 / sp.ACC_SCALE] * 3 + [1 / sp.GYR_SCALE] * 3,
                  np.float32)


@dataclass
class SampleChunk:
    """Samples of one DATA packet.

    index0: position of the first sample on the device's sample grid (sample 0
    is the first sample of the session). t_device_s: device time of each
    sample, s since the first packet. lost_before: samples missing between the
    previous chunk and this one (a gap to draw as such).
    """

    index0: int
    t_device_s: np.ndarray
    q: np.ndarray
    acc_mps2: np.ndarray
    gyr_radps: np.ndarray
    flags: int
    host_time_ns: int
    lost_before: int


class StreamDecoder:
    """Incremental decoder: ``update(packet)`` returns a SampleChunk or None."""

    def __init__(self) -> None:
        self.loss = LossReport()
        self._reasm: dict[int, sp.Reassembler] = {}
        #: The device's latest gyro bias (rad/s, sensor frame, (3,)) from a BIAS packet
        #: (protocol 1.2), None before one came; ``bias_sample_seq`` the sample it is from.
        self.gyr_bias_radps: np.ndarray | None = None
        self.bias_sample_seq: int | None = None
        self.bias_packets = 0
        self.reset()

    def reset(self) -> None:
        self._last: tuple[int, int, int, int, int, int] | None = None  # seq, sseq, t_us, n, ...
        self._index_end = 0
        self._t_us = 0
        self._gaps: deque[tuple[int, int]] = deque(maxlen=256)  # recent [start, end) gaps

    def update(self, packet: Packet) -> SampleChunk | None:
        data = packet.data
        ch = packet.channel
        try:
            if ch == sp.CH_SERIAL_RX:
                data = sp.decode_frame(data)
            elif ch in (sp.CH_BLE_DATA, sp.CH_BLE_RESPONSE):
                if not data:
                    self.loss.empty_notifications += 1
                    return None
                data = self._reasm.setdefault(ch, sp.Reassembler()).push(data)
                if data is None:
                    return None
            else:
                return None
            if data and data[0] == sp.PTYPE_BIAS:
                self.bias_sample_seq, b = sp.decode_bias(data)
                self.gyr_bias_radps = np.asarray(b, np.float64) / sp.BIAS_SCALE
                self.bias_packets += 1
                return None
            if not data or data[0] != sp.PTYPE_DATA:
                if data and data[0] not in (sp.PTYPE_RESPONSE,):
                    self.loss.unknown_packets += 1
                return None
            (seq, sseq, t_us, period, dropped, flags, n), raw = sp.decode_data(data)
        except sp.ProtocolError as e:
            if e.result == sp.RESULT_UNSUPPORTED_VERSION:
                self.loss.unsupported_version_packets += 1
            else:
                self.loss.corrupt_packets += 1
            return None
        finally:
            self.loss.incomplete_segments = sum(r.incomplete for r in self._reasm.values())
            self.loss.orphan_segments = sum(r.orphans for r in self._reasm.values())
        lost = 0
        if self._last is None:
            index0, t_dev_us = 0, 0
        else:
            lseq, lsseq, lt_us, _ln, lperiod, ldropped = self._last
            dt = (t_us - lt_us + (1 << 31)) % (1 << 32) - (1 << 31)
            ds = sp.seq_diff(lsseq, sseq)
            ds += round((dt / lperiod - ds) / sp.SEQ_MOD) * sp.SEQ_MOD
            index0 = self._last_index0 + ds
            t_dev_us = self._t_us + dt
            if index0 < self._index_end:
                # Behind the live edge: a late packet fills a gap counted as lost
                # (the live view has moved on; the offline decoder places it), any
                # other is a duplicate.
                if any(a <= index0 < b for a, b in self._gaps):
                    self.loss.reordered_packets += 1
                else:
                    self.loss.duplicate_packets += 1
                return None
            lost = index0 - self._index_end
            dq = (seq - lseq - 1) % sp.SEQ_MOD
            dd = (dropped - ldropped) % sp.SEQ_MOD
            self.loss.packets_lost += dq
            self.loss.packets_dropped_by_device += min(dd, dq)
            self.loss.packets_lost_in_transit += dq - min(dd, dq)
            if lost:
                self._gaps.append((self._index_end, index0))
                self.loss.gaps += 1
                self.loss.samples_lost += lost
                if lost > self.loss.longest_gap_samples:
                    self.loss.longest_gap_samples = lost
                    self.loss.longest_gap_s = lost * lperiod * 1e-6
        self._last = (seq, sseq, t_us, n, period, dropped)
        self._last_index0 = index0
        self._t_us = t_dev_us
        self._index_end = index0 + n
        self.loss.packets_received += 1
        self.loss.samples_received += n
        self.loss.samples_expected = self.loss.samples_received + self.loss.samples_lost
        a = np.asarray(raw, np.int16) * _SCALE
        return SampleChunk(
            index0=index0, t_device_s=(t_dev_us + period * np.arange(n)) * 1e-6,
            q=a[:, 0:4], acc_mps2=a[:, 4:7], gyr_radps=a[:, 7:10], flags=flags,
            host_time_ns=packet.host_time_ns, lost_before=lost,
        )
