"""Firmware in the loop: the real firmware, an emulated IMU and a fake radio.

Runs under the unix MicroPython port (``sacrum simulate`` drives it):

    micropython run.py IN OUT LINK MTU RATE_HZ [CONGESTION]

IN is a recording resampled to RATE_HZ: header ``<4sII`` (b"SIMI", samples,
rate) then float32 ``ax ay az gx gy gz`` per sample (m/s², rad/s, sensor
frame). The emulated MPU-6050 (fake_mpu.py: a register map with a FIFO behind
a fake I2C bus) plays it on its own sample clock; the firmware's ``app.Device``
reads the FIFO, fuses, packs and sends exactly as on the board. Time is
virtual: every main-loop sleep advances it, plus a pseudo-random "GC pause"
now and then, so FIFO batching and timestamping are exercised for real.

The radio is faked at its lowest boundary: ``FakeBLE`` stands in for
``bluetooth.BLE`` (the GATT server, notifications, IRQ events) and a scripted
central connects, negotiates the MTU and writes commands; with LINK "serial"
the firmware's SerialLink writes frames. OUT receives every value that crossed
the link: ``<BQH`` (channel per SPEC 5.3, virtual time µs, length) + bytes.
CONGESTION > 0 lets the central take only that many notifications per 7.5 ms
connection interval (the stack refuses the rest with ENOMEM, as NimBLE does).
"""

import struct
import sys

from fake_mpu import FakeMPU

import sacrum_protocol as sp

_IRQ_CENTRAL_CONNECT = 1
_IRQ_CENTRAL_DISCONNECT = 2
_IRQ_GATTS_WRITE = 3
_IRQ_MTU_EXCHANGED = 21
_CONN = 64
_TICKS_MASK = (1 << 30) - 1  # MicroPython's ticks wrap at 2^30 on the ESP32
_CONN_INTERVAL_US = 7500


class VirtualClock:
    """time-module stand-in whose sleeps advance emulated time."""

    def __init__(self, mpu):
        self.now_us = 0
        self.mpu = mpu
        self._rng = 12345
        self.on_advance = None

    def ticks_us(self):
        return self.now_us & _TICKS_MASK

    def ticks_ms(self):
        return (self.now_us // 1000) & _TICKS_MASK

    def ticks_diff(self, a, b):
        half = (_TICKS_MASK + 1) // 2
        return ((a - b + half) & _TICKS_MASK) - half

    def sleep_ms(self, ms):
        # a GC pause or a slow radio call now and then: 2 % of steps, 5-60 ms
        self._rng = (self._rng * 1103515245 + 12345) & 0x7FFFFFFF
        if self._rng % 50 == 0:
            ms += 5 + self._rng % 56
        self.advance_us(ms * 1000)

    def advance_us(self, us):
        self.now_us += us
        self.mpu.advance(us / 1e6)
        if self.on_advance is not None:
            self.on_advance(self.now_us)


class UUID:
    def __init__(self, value):
        self.value = value


class FakeBLE:
    """The ``bluetooth.BLE`` surface BleLink uses, writing what it sends to OUT."""

    def __init__(self, out, clock, congestion):
        self.out = out
        self.clock = clock
        self.congestion = congestion
        self.handler = None
        self.values = {}
        self.notify_handles = {}
        self.advertising = 0
        self.mtu_requests = 0
        self._interval = -1
        self._sent = 0

    def active(self, on=None):
        return True

    def config(self, **kw):
        pass

    def irq(self, handler):
        self.handler = handler

    def gatts_register_services(self, services):
        handles = []
        h = 1
        for _, chars in services:
            hs = []
            for _c in chars:
                h += 2
                hs.append(h)
            handles.append(tuple(hs))
            h += 1
        data, control, response = handles[0]
        self.notify_handles = {data: sp.CH_BLE_DATA, response: sp.CH_BLE_RESPONSE}
        self.control = control
        return tuple(handles)

    def gatts_set_buffer(self, handle, size, append=False):
        pass

    def gatts_write(self, handle, data):
        self.values[handle] = bytes(data)

    def gatts_read(self, handle):
        return self.values.get(handle, b"")

    def gattc_exchange_mtu(self, conn):
        self.mtu_requests += 1

    def gap_advertise(self, interval_us, adv_data=None, resp_data=None):
        self.advertising += 1

    def gatts_notify(self, conn, handle, data):
        if self.congestion:
            interval = self.clock.now_us // _CONN_INTERVAL_US
            if interval != self._interval:
                self._interval = interval
                self._sent = 0
            if self._sent >= self.congestion:
                raise OSError(12)  # ENOMEM: the stack's buffers are full
            self._sent += 1
        record(self.out, self.notify_handles[handle], self.clock.now_us, data)

    # the scripted central
    def central_write(self, value):
        record(self.out, sp.CH_BLE_CONTROL, self.clock.now_us, value)
        self.values[self.control] = bytes(value)
        self.handler(_IRQ_GATTS_WRITE, (_CONN, self.control))


def record(out, channel, t_us, data):
    out.write(struct.pack("<BQH", channel, t_us, len(data)))
    out.write(data)


class MemoryConfig:
    """config.Config without the flash: the defaults, for the simulator and tests."""

    def __init__(self, rate_hz=100, name="sacrum-sim"):
        from config import DEFAULTS

        self.values = dict(DEFAULTS)
        self.values["rate_hz"] = rate_hz
        self.values["name"] = name
        self.reset_reason = None

    def __getitem__(self, key):
        return self.values[key]

    def set(self, key, value):
        self.values[key] = value

    def save(self):
        pass


def main():
    path_in, path_out, link_kind, mtu, rate = sys.argv[1:6]
    mtu = int(mtu)
    rate = int(rate)
    congestion = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    with open(path_in, "rb") as f:
        magic, count, in_rate = struct.unpack("<4sII", f.read(12))
        if magic != b"SIMI" or in_rate != rate:
            raise ValueError("bad input file (magic or rate)")
        samples = f.read(24 * count)
    mpu = FakeMPU()
    clock = VirtualClock(mpu)
    out = open(path_out, "wb")
    state = {"i": 0, "acc_k": 1.0, "gyr_k": 1.0}

    def provider():
        i = state["i"]
        if i >= count:
            i = count - 1
        state["i"] = i + 1
        v = struct.unpack_from("<6f", samples, 24 * i)
        a, g = state["acc_k"], state["gyr_k"]
        return tuple(max(-32768, min(32767, int(round(x / (a if k < 3 else g)))))
                     for k, x in enumerate(v))

    mpu.provider = provider
    import app

    ble = None
    commands = []
    if link_kind == "ble":
        from ble import BleLink

        ble = FakeBLE(out, clock, congestion)
        link = BleLink(ble, "sacrum-sim", uuid=UUID)
    else:
        from seriallink import SerialLink

        def write(frame):
            record(out, sp.CH_SERIAL_RX, clock.now_us, frame[:-1])

        def read():
            if commands:
                frame = sp.encode_frame(commands.pop(0))
                record(out, sp.CH_SERIAL_TX, clock.now_us, frame[:-1])
                return frame
            return b""

        link = SerialLink(write, read)
    device = app.Device(mpu, link, clock, MemoryConfig(rate))
    state["acc_k"] = device.imu.acc_mps2_per_lsb
    state["gyr_k"] = device.imu.gyr_radps_per_lsb

    # the central's script: connect, MTU, HELLO, START_STREAM; STOP at the end
    script = [sp.encode_command(1, sp.OP_HELLO, bytes((sp.VERSION_MIN, sp.VERSION_MAX))),
              sp.encode_command(2, sp.OP_GET_STATUS),
              sp.encode_command(3, sp.OP_START_STREAM)]
    if ble is not None:
        ble.handler(_IRQ_CENTRAL_CONNECT, (_CONN, 0, b"\0" * 6))
        ble.handler(_IRQ_MTU_EXCHANGED, (_CONN, mtu))
        for c in script:
            ble.central_write(c)
    else:
        commands.extend(script)
    # run until the recording has played out, then stop the stream
    end_us = count * 1_000_000 // rate
    while clock.now_us < end_us:
        device.step()
        clock.sleep_ms(app.STEP_MS)
    stop = sp.encode_command(4, sp.OP_STOP_STREAM)
    if ble is not None:
        ble.central_write(stop)
    else:
        commands.append(stop)
    device.step()
    device.step()
    out.close()
    print("simulated %d samples, %d packets dropped at the device" %
          (count, device.pk.dropped_total))


if __name__ == "__main__":
    main()
