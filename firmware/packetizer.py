"""Samples -> DATA packets (protocol/SPEC.md 2.1), sized to the link.

One packet buffer, allocated once and reused: ``add()`` packs a sample into
it with ``struct.pack_into`` and returns the buffer when the packet is full.
Sequence numbers count every packet and sample the device makes, sent or not,
so the host can count losses from the packets alone.

Small ints only (below 2^30, no heap on the board): the device time comes as
µs modulo 2^30 plus its wrap count (``epoch_of``), and the u32 ``t_us`` is
written as two u16 halves.
"""

import struct

import sacrum_protocol as sp

_T_US_OFFSET = 6  # SPEC 2.1: u32 t_us at bytes 6..9
_HEADER = sp.DATA_HEADER_SIZE  # module globals: one lookup each per sample in slot()
_SAMPLE = sp.SAMPLE_SIZE


class Packetizer:
    def __init__(self, mtu=sp.MIN_MTU, serial=False, time_of=None, epoch_of=None):
        self.time_of = time_of  # sample index -> device time, µs mod 2^30
        self.epoch_of = epoch_of  # that time -> times the device clock wrapped (mod 4)
        self.first = 0  # sample index of the packet's first sample
        self.buf = bytearray(sp.data_packet_size(sp.MAX_SAMPLES))
        # a view per packet length, made once: a short packet allocates nothing
        self._views = [memoryview(self.buf)[:sp.data_packet_size(k)]
                       for k in range(sp.MAX_SAMPLES + 1)]
        self.seq = 0  # next packet's sequence number
        self.sample_seq = 0  # sequence number of the next sample
        self.dropped = 0  # packets formed but not sent (link congested), mod 2^16
        self.dropped_total = 0
        self.flags = 0  # status bits of the packet being filled (OR over its samples)
        self.count = 0  # samples in the packet being filled
        self.t_us = 0
        self.period_us = 10000
        self.serial = serial
        self.set_mtu(mtu)

    def set_mtu(self, mtu):
        """Samples per packet for this link (re-derived on every (re)connect): the
        serial link always takes 11. A partial packet is finished as it is
        (fewer samples) and returned, so no sample is lost; else None."""
        packet = self._finish(self.count) if self.count else None
        self.mtu = mtu
        self.n = sp.MAX_SAMPLES if self.serial else sp.samples_per_packet(mtu)
        self.size = sp.data_packet_size(self.n)
        self.view = memoryview(self.buf)[:self.size]
        self.count = 0
        return packet

    def set_link(self, serial, mtu=sp.MIN_MTU):
        self.serial = serial
        self.count = 0
        self.set_mtu(mtu)

    def add(self, index, period_us, flags, qw, qx, qy, qz, ax, ay, az, gx, gy, gz):
        """Add sample number ``index`` (raw i16 values, SPEC 1.2).

        Returns the packet (a memoryview of the reused buffer) when it is full,
        else None. The packet's time is ``time_of(index of its first sample)``.
        """
        i = self.count
        if i == 0:
            self.first = index
            self.period_us = period_us
            self.flags = 0
        sp.pack_sample_into(self.buf, i, qw, qx, qy, qz, ax, ay, az, gx, gy, gz)
        self.flags |= flags
        self.count = i + 1
        if self.count < self.n:
            return None
        self.count = 0
        return self._finish(self.n)

    def _finish(self, n):
        """Header for the ``n`` samples in the buffer; the packet as a memoryview."""
        t = self.time_of(self.first) if self.time_of else self.first * self.period_us
        self.t_us = t
        sp.pack_data_header_into(self.buf, self.seq, self.sample_seq, 0,
                                 self.period_us, self.dropped, self.flags, n)
        hi = (t >> 16) | ((self.epoch_of(t) << 14) if self.epoch_of else 0)
        struct.pack_into("<HH", self.buf, _T_US_OFFSET, t & 0xFFFF, hi & 0xFFFF)
        self.seq = (self.seq + 1) & 0xFFFF
        self.sample_seq = (self.sample_seq + n) & 0xFFFF
        return self.view if n == self.n else self._views[n]

    def slot(self, index, period_us, flags):
        """The fast path of add(): reserve the next sample's 20 bytes and return
        their offset in ``buf``; the caller writes them, then ``commit()``."""
        i = self.count
        if i == 0:
            self.first = index
            self.period_us = period_us
            self.flags = 0
        self.flags |= flags
        return _HEADER + _SAMPLE * i

    def commit(self):
        """The reserved sample is written: the packet (as add()) when full, else None."""
        i = self.count + 1
        if i < self.n:
            self.count = i
            return None
        self.count = 0
        return self._finish(self.n)

    def skip(self, samples):
        """Samples the sensor lost (FIFO overflow): the partial packet is finished as it
        is (fewer samples, all read before the loss) and returned for sending (None
        without one), then the sample counter advances over the lost ones, so the host
        sees an exact gap -- of the lost samples only, however often the sensor loses
        some (a packet abandoned at each overflow lost up to a packet more each time)."""
        packet = self._finish(self.count) if self.count else None
        self.count = 0
        self.sample_seq = (self.sample_seq + samples) & 0xFFFF
        return packet

    def not_sent(self):
        """The last packet returned by add() could not be sent."""
        self.dropped = (self.dropped + 1) & 0xFFFF
        self.dropped_total += 1

    def reset_samples(self):
        """Streaming stopped or the rate changed: abandon the partial packet.

        Its samples were never counted (``sample_seq`` advances per finished
        packet), so the host sees no gap -- only time passing.
        """
        self.count = 0
