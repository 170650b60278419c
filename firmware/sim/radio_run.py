"""The real firmware on a real BLE stack: ``bluetooth`` relayed to Bumble, wall-clock time.

Runs under the unix MicroPython port, started by ``sacrum.testing.radio``:

    micropython radio_run.py IN RATE_HZ NAME [BONDS] [--imu-chip CHIP]

with ``unix_bluetooth/`` first on MICROPYPATH (the ``bluetooth`` module that
relays to a Bumble peripheral) and SACRUM_RADIO_PORT set. IN is run.py's
input format (``<4sII`` b"SIMI", samples, rate; float32 ax ay az gx gy gz).

Unlike run.py there is no scripted central and no virtual time: the firmware
builds its ``BleLink`` on ``bluetooth.BLE()`` exactly as main.py does on the
board, and a real central (the host's ``BleTransport`` over bleak and
Bumble) finds it, connects and commands it. The emulated IMU (CHIP as run.py's
``--imu-chip``, default the ICM-42688-P of the BOM) samples on the wall clock.
The recording starts playing when the firmware starts streaming (so the
capture holds all of it) and, once it has played, this prints ``done
<sample_seq>`` (the count of samples streamed) and goes on until the Bumble
side closes the radio, then prints ``stats <json>``.

BONDS (optional): the bond store's file; security on (security.py), as on a
new board. The BOOT button is held while the file named by SACRUM_BOOT_FILE
exists (the CPython side creates it to press, removes it to release).
"""

import json
import os
import struct
import sys
import time

import bluetooth
from run import FakeWDT, MemoryConfig, make_chip

_TICKS_MASK = (1 << 30) - 1  # the ESP32's ticks wrap at 2^30


class WallClock:
    """The firmware's ``time``: real time; every reading lets the emulated IMU
    sample up to now."""

    def __init__(self, mpu):
        self.mpu = mpu
        self._t0 = time.ticks_us()
        self._last = 0
        self.now_us = 0

    def _sync(self):
        now = time.ticks_diff(time.ticks_us(), self._t0)
        if now > self._last:
            self.mpu.advance((now - self._last) / 1e6)
            self._last = now
        self.now_us = now
        return now

    def ticks_us(self):
        return self._sync() & _TICKS_MASK

    def ticks_ms(self):
        return (self._sync() // 1000) & _TICKS_MASK

    def ticks_diff(self, a, b):
        half = (_TICKS_MASK + 1) // 2
        return ((a - b + half) & _TICKS_MASK) - half

    def sleep_ms(self, ms):
        time.sleep_ms(ms)  # radio events run meanwhile (scheduled by bluetooth's reader)


def main():
    args = sys.argv[1:]
    chip = "icm42688"
    if "--imu-chip" in args:
        k = args.index("--imu-chip")
        chip = args[k + 1]
        args = args[:k] + args[k + 2:]
    path_in, rate, name = args[0], int(args[1]), args[2]
    f = open(path_in, "rb")  # read as it plays: an hour would not fit the heap
    magic, count, in_rate = struct.unpack("<4sII", f.read(12))
    if magic != b"SIMI" or in_rate != rate:
        raise ValueError("bad input file (magic or rate)")
    record = bytearray(24)
    mpu = make_chip(chip)
    clock = WallClock(mpu)
    mpu.on_timeout = lambda us: None
    period_us = 1000000 // rate
    state = {"acc_k": 1.0, "gyr_k": 1.0, "start": -1}

    def provider():
        # sample i of the recording is the one due i periods after streaming began
        due = (mpu.sample_time_us + period_us // 2) // period_us
        i = due - state["start"] if state["start"] >= 0 else 0
        i = 0 if i < 0 else count - 1 if i >= count else i
        f.seek(12 + 24 * i)
        f.readinto(record)
        v = struct.unpack_from("<6f", record, 0)
        for x in v:
            if x != x:  # NaN: a sample the recording lost is not delivered (fake_mpu.py)
                return None
        a, g = state["acc_k"], state["gyr_k"]
        return tuple(max(-32768, min(32767, int(round(x / (a if k < 3 else g)))))
                     for k, x in enumerate(v))

    mpu.provider = provider
    import app
    from ble import BleLink
    from i2cbus import BusRecovery

    ble = bluetooth.BLE()
    security = button = None
    if len(args) > 3:
        from security import Security

        security = Security(args[3])
        boot_file = os.getenv("SACRUM_BOOT_FILE") or (args[3] + ".boot")

        def button():
            try:
                os.stat(boot_file)
                return True
            except OSError:
                return False

    link = BleLink(ble, name, firmware="%d.%d.%d" % app.FW_VERSION, uuid=bluetooth.UUID,
                   security=security)
    wdt = FakeWDT(clock)
    recovery = BusRecovery(mpu.scl_pin(), mpu.sda_pin(), lambda: mpu)
    device = app.Device(mpu, link, clock, MemoryConfig(rate, name), wdt=wdt, recovery=recovery,
                        security=security, button=button)
    state["acc_k"] = device.imu.acc_mps2_per_lsb
    state["gyr_k"] = device.imu.gyr_radps_per_lsb
    print("ready")
    done = False
    while not ble.closed:
        device.step()
        if state["start"] < 0 and device.streaming:
            state["start"] = (mpu.sample_time_us + period_us // 2) // period_us + 1
        if not done and state["start"] >= 0:
            due = (mpu.sample_time_us + period_us // 2) // period_us
            if due - state["start"] >= count:
                done = True
                print("done %d" % device.sclock.count)
        clock.sleep_ms(app.STEP_MS)
    stats = {
        "fault": device.fault, "fault_events": device.fault_events,
        "irq_errors": link.irq_errors, "disconnects": link.disconnects,
        "notify_failures": link.notify_failures, "dropped": device.pk.dropped_total,
        "watchdog_resets": wdt.expired, "streaming": device.streaming,
        "samples": device.sclock.count, "radio": ble.radio_stats(),
    }
    if security is not None:
        stats["security"] = {
            "refused_commands": security.refused_commands,
            "refused_pairings": security.refused_pairings,
            "bonds_stored": security.bonds_stored, "bonds": len(security.secrets),
        }
    print("stats " + json.dumps(stats))


if __name__ == "__main__":
    main()
