"""The same packets over USB serial, in protocol/SPEC.md section 4 frames.

``write`` sends bytes to the host, ``read`` returns whatever bytes have
arrived (b"" when none, never blocking). On the board these are the USB-CDC
stdout/stdin with Ctrl-C disabled (see main.py); in the simulator, files.
"""

import sacrum_protocol as sp


class SerialLink:
    serial = True
    mtu = 0  # not a BLE link: packets are never segmented
    connected = True  # a serial host cannot be seen; the frames go out regardless

    def __init__(self, write, read):
        self._write = write
        self._read = read
        self._splitter = sp.FrameSplitter()
        self._out = []
        self.corrupt_frames = 0
        self.write_failures = 0

    def set_name(self, name):
        pass

    def _send(self, packet):
        try:
            self._write(sp.encode_frame(packet))
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
            for frame in self._splitter.feed(data):
                try:
                    out.append(sp.decode_frame(frame))
                except sp.ProtocolError:
                    self.corrupt_frames += 1  # one bad frame, the next 0x00 resyncs
        return out
