"""Firmware in the loop: the real firmware, an emulated IMU and a fake radio.

Runs under the unix MicroPython port (``sacrum simulate`` drives it):

    micropython run.py IN OUT LINK MTU RATE_HZ [CONGESTION] [OPTIONS]

OPTIONS: ``--fault KIND@SECONDS`` (repeatable; KIND imu-reset, bus-stuck,
irq-exception, disconnect, brownout), ``--heap-locked`` (the heap is locked
around every sample step; a MemoryError fails the run), ``--reconnect-mtu N``
(the MTU the central negotiates when it comes back after ``disconnect``),
``--imu-chip CHIP`` (icm42688, the default and the BOM's chip; mpu6050, mpu6500).

IN is a recording resampled to RATE_HZ: header ``<4sII`` (b"SIMI", samples,
rate) then float32 ``ax ay az gx gy gz`` per sample (m/s², rad/s, sensor
frame); a sample with a NaN is one the recording lost, which the emulated chip
does not deliver (fake_icm42688.py: a step in its FIFO record timestamps;
fake_mpu.py: a FIFO overflow at that sample period). The emulated chip (a
register map with a FIFO behind a fake I2C bus) plays it on its own sample
clock; the firmware's ``app.Device`` reads the FIFO, fuses, packs and sends
exactly as on the board. Time is virtual: every main-loop sleep advances it,
plus a pseudo-random "GC pause" now and then, so FIFO batching and
timestamping are exercised for real.

The radio is faked at its lowest boundary: ``FakeBLE`` stands in for
``bluetooth.BLE`` (the GATT server, notifications, IRQ events) and a scripted
central connects, negotiates the MTU and writes commands; with LINK "serial"
the firmware's SerialLink writes frames. OUT receives every value that crossed
the link: ``<BQH`` (channel per SPEC 5.3, virtual time µs, length) + bytes.
CONGESTION > 0 lets the central take only that many notifications per 7.5 ms
connection interval (the stack refuses the rest with ENOMEM, as NimBLE does).

Faults are injected into the emulated hardware and radio at their virtual
time (fake_mpu.py documents the IMU and bus ones); ``irq-exception`` makes
the next BLE event raise inside the firmware's handler -- and FakeBLE then
does what MicroPython does with a handler that lets an exception escape: it
disables it for good -- and ``disconnect`` drops the central in the middle
of a notification (the disconnect event runs before the notify returns, as a
scheduled IRQ can); the central comes back after ``_RECONNECT_S``. The
scripted central asks GET_STATUS ``_STATUS_AFTER_S`` after each fault. The
last stdout line is ``stats <json>``: the device's counters, for the tests.
"""

import json
import struct
import sys

from fake_mpu import WHO_MPU6500, FakeMPU

import micropython
import sacrum_protocol as sp

_IRQ_CENTRAL_CONNECT = 1
_IRQ_CENTRAL_DISCONNECT = 2
_IRQ_GATTS_WRITE = 3
_IRQ_MTU_EXCHANGED = 21
_CONN = 64
_TICKS_MASK = (1 << 30) - 1  # MicroPython's ticks wrap at 2^30 on the ESP32
_CONN_INTERVAL_US = 7500
_ENOTCONN = 107
_RECONNECT_S = 1.0  # the central is back this long after a disconnect
_STATUS_AFTER_S = 1.5  # GET_STATUS this long after each fault
_STUCK_S = 0.5  # bus-stuck: SDA held low this long
_BROWNOUT_S = 0.1  # brownout: the IMU's supply is gone this long
_WDT_TIMEOUT_MS = 2000  # main.py's machine.WDT timeout
FAULT_KINDS = ("imu-reset", "bus-stuck", "irq-exception", "disconnect", "brownout")


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


class FakeWDT:
    """machine.WDT in virtual time: ``expired`` counts the resets it would have made."""

    def __init__(self, clock, timeout_ms=_WDT_TIMEOUT_MS):
        self.clock = clock
        self.timeout_us = timeout_ms * 1000
        self.fed_us = 0
        self.expired = 0

    def feed(self):
        self.check()
        self.fed_us = self.clock.now_us

    def check(self):
        if self.clock.now_us - self.fed_us > self.timeout_us:
            self.expired += 1
            self.fed_us = self.clock.now_us


class _Raising:
    """Event data whose first access raises: the next IRQ fails inside the handler."""

    def __getitem__(self, i):
        raise RuntimeError("injected fault inside the BLE IRQ handler")


class FakeBLE:
    """The ``bluetooth.BLE`` surface BleLink uses, writing what it sends to OUT."""

    def __init__(self, out, clock, congestion):
        self.out = out
        self.clock = clock
        self.congestion = congestion
        self.handler = None
        self.handler_disabled = False
        self.raise_next = False  # irq-exception armed
        self.drop_at_us = -1  # disconnect armed: the next notify at/after this drops the link
        self.conn = None
        self.battery = None
        self.battery_notifies = 0
        self.gap_name = None
        self.values = {}
        self.notify_handles = {}
        self.advertising = 0
        self.mtu_requests = 0
        self._interval = -1
        self._sent = 0

    def active(self, on=None):
        return True

    def config(self, *args, **kw):
        if "gap_name" in kw:
            self.gap_name = kw["gap_name"]

    def irq(self, handler):
        self.handler = handler

    def deliver(self, event, data):
        """An IRQ event, delivered as MicroPython does (extmod/modbluetooth.c): an
        exception escaping the handler is printed and the handler set to None."""
        if self.handler is None:
            return
        if self.raise_next:
            self.raise_next = False
            data = _Raising()
        try:
            self.handler(event, data)
        except Exception as e:
            sys.stderr.write("BLE IRQ handler raised %r: disabled\n" % (e,))
            self.handler = None
            self.handler_disabled = True

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

    def gatts_write(self, handle, data, send_update=False):
        self.values[handle] = bytes(data)
        if send_update and self.conn is not None:
            self.battery_notifies += 1

    def gatts_read(self, handle):
        return self.values.get(handle, b"")

    def gattc_exchange_mtu(self, conn):
        self.mtu_requests += 1

    def gap_advertise(self, interval_us, adv_data=None, resp_data=None):
        self.advertising += 1

    def connect(self, mtu):
        self.conn = _CONN
        self.deliver(_IRQ_CENTRAL_CONNECT, (_CONN, 0, b"\0" * 6))
        self.deliver(_IRQ_MTU_EXCHANGED, (_CONN, mtu))

    def drop(self):
        self.conn = None
        self.deliver(_IRQ_CENTRAL_DISCONNECT, (_CONN, 0, b"\0" * 6))

    def gatts_notify(self, conn, handle, data):
        if 0 <= self.drop_at_us <= self.clock.now_us and self.conn is not None:
            self.drop_at_us = -1
            self.drop()  # the event runs while the notify is in flight
        if conn is None or self.conn is None or conn != self.conn:
            raise OSError(_ENOTCONN)
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
        self.deliver(_IRQ_GATTS_WRITE, (_CONN, self.control))


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


def make_chip(name):
    """The emulated IMU behind the fake bus, by ``--imu-chip`` name."""
    if name == "mpu6050":
        return FakeMPU()
    if name == "mpu6500":
        return FakeMPU(who_am_i=WHO_MPU6500)
    if name == "icm42688":
        from fake_icm42688 import FakeICM42688

        return FakeICM42688()
    raise ValueError("unknown IMU chip %r" % name)


def parse_options(argv):
    """--fault KIND@SECONDS (repeatable), --heap-locked, --reconnect-mtu N, --imu-chip CHIP."""
    opts = {"faults": [], "heap_locked": False, "reconnect_mtu": 0, "imu_chip": "icm42688"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--heap-locked":
            opts["heap_locked"] = True
        elif a in ("--fault", "--reconnect-mtu", "--imu-chip") and i + 1 < len(argv):
            i += 1
            if a == "--imu-chip":
                opts["imu_chip"] = argv[i]
            elif a == "--reconnect-mtu":
                opts["reconnect_mtu"] = int(argv[i])
            else:
                kind, _, at = argv[i].partition("@")
                if kind not in FAULT_KINDS:
                    raise ValueError("unknown fault %r (one of %s)"
                                     % (kind, ", ".join(FAULT_KINDS)))
                opts["faults"].append((float(at), kind))
        else:
            raise ValueError("unknown option %r" % a)
        i += 1
    opts["faults"].sort()
    return opts


class Locked:
    """--heap-locked: the firmware's sample step runs with the heap locked; the
    emulated hardware and radio around it (Python stand-ins for C drivers) run
    unlocked, so what is measured is the firmware's own allocation."""

    def __init__(self, on):
        self.on = on
        self.locked = False  # inside a locked sample step (heap_unlock at depth 0 would lock)

    def wrap_bus(self, mpu):
        if not self.on:
            return
        for name in ("readfrom_mem_into", "writeto_mem"):
            setattr(mpu, name, self._unlocked3(getattr(mpu, name)))

    def wrap_ble(self, ble):
        if self.on:
            ble.gatts_notify = self._unlocked3(ble.gatts_notify)

    def wrap1(self, fn):
        if not self.on:
            return fn

        def call(a):
            if not self.locked:
                return fn(a)
            micropython.heap_unlock()
            try:
                return fn(a)
            finally:
                micropython.heap_lock()

        return call

    def _unlocked3(self, fn):
        def call(a, b, c):
            if not self.locked:
                return fn(a, b, c)
            micropython.heap_unlock()
            try:
                return fn(a, b, c)
            finally:
                micropython.heap_lock()

        return call

    def step(self, device):
        if not self.on:
            device.step()
            return
        self.locked = True
        micropython.heap_lock()
        try:
            device.sample_step()
        finally:
            micropython.heap_unlock()
            self.locked = False
        device.service_step()


def main():
    path_in, path_out, link_kind, mtu, rate = sys.argv[1:6]
    mtu = int(mtu)
    rate = int(rate)
    congestion = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    opts = parse_options(sys.argv[7:])
    with open(path_in, "rb") as f:
        magic, count, in_rate = struct.unpack("<4sII", f.read(12))
        if magic != b"SIMI" or in_rate != rate:
            raise ValueError("bad input file (magic or rate)")
        samples = f.read(24 * count)
    mpu = make_chip(opts["imu_chip"])
    clock = VirtualClock(mpu)
    mpu.on_timeout = clock.advance_us
    out = open(path_out, "wb")
    state = {"acc_k": 1.0, "gyr_k": 1.0}
    period_us = 1000000 // rate

    def provider():
        # the recording plays on in real time, whether the chip samples or not:
        # sample i is the one due at the chip's sample time
        i = (mpu.sample_time_us + period_us // 2) // period_us
        if i >= count:
            i = count - 1
        v = struct.unpack_from("<6f", samples, 24 * i)
        for x in v:
            if x != x:  # NaN: the recording lost this sample; the chip does not deliver it
                return None
        a, g = state["acc_k"], state["gyr_k"]
        return tuple(max(-32768, min(32767, int(round(x / (a if k < 3 else g)))))
                     for k, x in enumerate(v))

    mpu.provider = provider
    import app
    from i2cbus import BusRecovery

    locked = Locked(opts["heap_locked"])
    ble = None
    commands = []
    if link_kind == "ble":
        from ble import BleLink

        ble = FakeBLE(out, clock, congestion)
        link = BleLink(ble, "sacrum-sim", uuid=UUID)
        locked.wrap_ble(ble)
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

        link = SerialLink(locked.wrap1(write), read)
    locked.wrap_bus(mpu)
    wdt = FakeWDT(clock)
    recovery = BusRecovery(mpu.scl_pin(), mpu.sda_pin(), lambda: mpu)
    device = app.Device(mpu, link, clock, MemoryConfig(rate), wdt=wdt, recovery=recovery)
    state["acc_k"] = device.imu.acc_mps2_per_lsb
    state["gyr_k"] = device.imu.gyr_radps_per_lsb
    token = [0]

    def command(op, args=b""):
        token[0] = (token[0] + 1) & 0xFF
        c = sp.encode_command(token[0], op, args)
        if ble is not None:
            ble.central_write(c)
        else:
            commands.append(c)

    def hello():
        command(sp.OP_HELLO, bytes((sp.VERSION_MIN, sp.VERSION_MAX)))

    # the central's script: connect, MTU, HELLO, START_STREAM; STOP at the end
    if ble is not None:
        ble.connect(mtu)
    hello()
    command(sp.OP_GET_STATUS)
    command(sp.OP_START_STREAM)
    # what happens when: (time µs, action)
    events = []
    for at_s, kind in opts["faults"]:
        t = int(at_s * 1000000)
        if kind in ("irq-exception", "disconnect") and ble is None:
            raise ValueError("fault %s needs the BLE link" % kind)
        events.append((t, kind))
        if kind == "disconnect":
            events.append((t + int(_RECONNECT_S * 1000000), "reconnect"))
        if kind == "irq-exception":
            events.append((t, "status"))  # this command's write event raises
        events.append((t + int(_STATUS_AFTER_S * 1000000), "status"))
    events.sort()
    ev = 0
    # stop before the recording runs out (the last step may read up to 70 ms on)
    end_us = (count - 1) * period_us - 80_000
    while clock.now_us < end_us:
        while ev < len(events) and events[ev][0] <= clock.now_us:
            kind = events[ev][1]
            ev += 1
            if kind == "imu-reset":
                mpu.power_glitch()
            elif kind == "bus-stuck":
                mpu.hold_sda(_STUCK_S)
            elif kind == "brownout":
                mpu.unpower(_BROWNOUT_S)
            elif kind == "irq-exception":
                ble.raise_next = True
            elif kind == "disconnect":
                ble.drop_at_us = clock.now_us
            elif kind == "reconnect":
                ble.connect(opts["reconnect_mtu"] or mtu)
                hello()
                command(sp.OP_START_STREAM)  # already streaming: OK
            elif kind == "status":
                command(sp.OP_GET_STATUS)
        locked.step(device)
        wdt.check()
        clock.sleep_ms(app.STEP_MS)
    command(sp.OP_STOP_STREAM)
    device.step()
    device.step()
    out.close()
    print("simulated %d samples (%d not delivered by the sensor), %d packets dropped at "
          "the device" % (count, mpu.samples_lost, device.pk.dropped_total))
    stats = {
        "fault": device.fault, "fault_events": device.fault_events,
        "irq_errors": link.irq_errors, "handler_disabled": ble.handler_disabled if ble else False,
        "bus_recoveries": recovery.recoveries, "scl_pulses": recovery.pulses,
        "watchdog_resets": wdt.expired, "gc_runs": device.gc_runs,
        "advertising": ble.advertising if ble else 0, "gap_name": ble.gap_name if ble else None,
        "imu": device.imu_type, "heap_locked": opts["heap_locked"],
        "samples_not_delivered": mpu.samples_lost,
        "fifo_overflows": getattr(device.imu, "overflows", None),
    }
    if opts["faults"]:
        print("%d faults healed (latest: %s); %d watchdog resets"
              % (device.fault_events, sp.FAULT_NAMES.get(device.fault, device.fault), wdt.expired))
    print("stats " + json.dumps(stats))


if __name__ == "__main__":
    main()
