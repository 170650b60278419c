"""The same packets over USB serial, in protocol/SPEC.md section 4 frames.

``write`` sends bytes to the host, ``read`` returns whatever bytes have
arrived (b"" when none, never blocking). On the board these are the USB-CDC
stdout/stdin with Ctrl-C disabled (see main.py); in the simulator, files.

The way back to the REPL without the BOOT button: Ctrl-C pressed five times
in a row (``ESCAPE_RUN`` bytes 0x03 in a row, the bytes a terminal or
``mpremote`` sends) sets ``escape``; the main loop then ends and main.py
reboots once into the REPL with the watchdog off. COBS frames from the sacrum
host never hold five 0x03 bytes in a row (that would need a command packet
containing 03 03 00 03 03, which no valid command argument is).

Frames are built in one buffer allocated at start-up (COBS and CRC in place,
``encode_into``), so sending a DATA packet allocates nothing; the write gets
a memoryview of it.
"""

import sacrum_protocol as sp
from micropython import const

ESCAPE_RUN = const(5)
_MAX_PACKET = const(240)  # the largest DATA packet (236) and any RESPONSE


class SerialLink:
    serial = True
    mtu = 0  # not a BLE link: packets are never segmented
    connected = True  # a serial host cannot be seen; the frames go out regardless
    irq_errors = 0  # no radio, no IRQ handler
    disconnects = 0

    def __init__(self, write, read):
        self._write = write
        self._read = read
        self._splitter = sp.FrameSplitter()
        self._out = []
        self.corrupt_frames = 0
        self.write_failures = 0
        self.escape = False  # the user asked for the REPL (ESCAPE_RUN Ctrl-C)
        self._frame = bytearray(_MAX_PACKET + 2 + _MAX_PACKET // 254 + 3)
        self._frame_mv = memoryview(self._frame)
        # frame length -> view; a DATA packet of n samples (16 + 20 n + 2 < 254
        # bytes), and a BIAS packet (1.2), always makes a frame 2 bytes longer: made
        # now, not per sample
        self._views = {}
        for size in [sp.data_packet_size(n) + 4 for n in range(1, sp.MAX_SAMPLES + 1)] + [
                sp.BIAS_SIZE + 4]:
            self._views[size] = self._frame_mv[:size]
        self._run = 0  # 0x03 bytes in a row so far

    def set_name(self, name):
        pass

    def set_battery(self, percent):
        pass  # the host reads it with GET_STATUS

    def encode_into(self, packet):
        """SPEC 4 frame of ``packet`` in the reused buffer: COBS(packet + CRC-16
        LE) + 0x00, the same bytes as sacrum_protocol.encode_frame; its length."""
        n = len(packet)
        if n > _MAX_PACKET:
            raise ValueError("packet of %d bytes is too long for a frame" % n)
        crc = sp.crc16(packet)
        out = self._frame
        code_at = 0
        j = 1
        code = 1
        for i in range(n + 2):
            b = packet[i] if i < n else (crc & 0xFF if i == n else crc >> 8)
            if b == 0:
                out[code_at] = code
                code_at = j
                j += 1
                code = 1
            else:
                out[j] = b
                j += 1
                code += 1
                if code == 0xFF:
                    out[code_at] = code
                    code_at = j
                    j += 1
                    code = 1
        out[code_at] = code
        out[j] = 0
        return j + 1

    def _send(self, packet):
        try:
            n = self.encode_into(packet)
            v = self._views.get(n)
            if v is None:
                v = self._views[n] = self._frame_mv[:n]
            self._write(v)
            return True
        except OSError:
            self.write_failures += 1
            return False

    def send_data(self, packet):
        return self._send(packet)

    def send_response(self, packet):
        return self._send(packet)

    def poll(self):
        out = self._out
        del out[:]
        data = self._read()
        if data:
            run = self._run
            for b in data:
                run = run + 1 if b == 0x03 else 0
                if run >= ESCAPE_RUN:
                    self.escape = True
            self._run = run
            for frame in self._splitter.feed(data):
                try:
                    out.append(sp.decode_frame(frame))
                except sp.ProtocolError:
                    self.corrupt_frames += 1  # one bad frame, the next 0x00 resyncs
        return out
