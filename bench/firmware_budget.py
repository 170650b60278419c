"""CPU budget of the firmware's sample path, estimated for an ESP32 and an ESP32-S3.

One MicroPython (unix port) process runs, in this order:

1. the real sample path -- ``app.Device.sample_step()``: FIFO read and decode
   (firmware/icm42688.py, the BOM's ICM-42688-P, or ``--imu mpu6050``
   firmware/mpu6050.py), sample clock, fixed-point fusion, packetizer, BLE
   notify -- over a stub I2C bus that hands over pre-filled FIFO records at
   no Python cost (on the board that is C code plus bus time, added below)
   and a BLE stub whose notify does nothing; and, for the break-down, each
   stage alone;
2. two MicroPython perf_bench kernels, written here after
   micropython/tests/perf_bench (bm_float.py: points with sin/cos/sqrt,
   normalised, maximised -- pyperformance's "float"; misc_pystone.py:
   Pystone 1.2, Weicker's Dhrystone in Python by G. van Rossum), with the
   parameters perf_bench picks for N=100 M=100 and its score, 1e6 x work /
   µs (bm_float: 250 points once; pystone: 300 loops, i.e. pystones/s).

The ratio of this machine's score to a board's published score is the
board's slowdown; the sample path's µs here times that slowdown is its cost
there. Published scores (higher is faster):

- ESP32 at 160 MHz, the esp32 port's default clock: bm_float 3368.39,
  misc_pystone 1166.32 (v1.13-180, MicroPython pinned to core 0 as today's
  port is; v1.13 unpinned: 4085.76 / 1731.94), D. George, micropython issue
  #6565 (2020-11-18). At 240 MHz (main.py sets it) the scores are scaled by
  240/160: the interpreter runs from cache, so time scales with the clock
  (an assumption; flash cache misses do not scale).
- ESP32-S3 at 240 MHz: no perf_bench score published that we found; the one
  MicroPython benchmark run on both chips (S. Russell, "Parallel MicroPython
  Benchmarking", scruss.com, 2025: ESP32-S3 @ 240 MHz 8.9 s, ESP32 @ 160 MHz
  15.4 s) gives S3@240 = 1.73 x ESP32@160, applied to the scores above.

Bus time is added as it blocks the loop: 16 FIFO bytes per sample (the ICM-42688-P's
record, with its timestamp; the MPU-6050's 12) and two short register reads per step at
400 kHz I2C (9 bits per byte with ACK).
Not counted, because it cannot be known without a board: the BLE stack's own
time per notification (NimBLE runs on the other core of an ESP32), GC pauses
(the sample path allocates nothing, so they come from the service step), and
interrupts.

Run: .venv/bin/python bench/firmware_budget.py [--seconds S] [--imu icm42688|mpu6050]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))

from sacrum.testing.simulate import micropython_binary  # noqa: E402

BOARDS = {  # name: (bm_float score, pystone score), see the module docstring
    "ESP32 @ 160 MHz (#6565)": (3368.39, 1166.32),
    "ESP32 @ 240 MHz": (3368.39 * 1.5, 1166.32 * 1.5),
    "ESP32-S3 @ 240 MHz": (3368.39 * 1.73, 1166.32 * 1.73),
}
RATES_HZ = (50, 100, 200)
TARGET_PCT = 35.0
I2C_HZ = 400_000
STEP_MS = 10

RUNNER = r'''
import sys
import time
from array import array

import app
import sacrum_protocol as sp
from ble import BleLink

RATE = int(sys.argv[1])
SECONDS = float(sys.argv[2])
REPEAT = int(sys.argv[3])
ICM = sys.argv[4] == "icm42688"
# WHO_AM_I, FIFO_COUNTH, FIFO_DATA, record bytes, records the driver's buffer holds
WHO, COUNT_REG, DATA_REG, RECORD, RECORDS = (
    (0x47, 0x2E, 0x30, 16, 64) if ICM else (0x68, 0x72, 0x74, 12, 85))


class StubBus:
    """machine.I2C stand-in: the IMU's registers read at no Python cost; the FIFO
    always holds exactly the samples due this step (pre-filled records). An ICM-42688-P
    record (header 0x68, accel, gyro, temperature, timestamp) carries one timestamp in
    all: every record reads as the next sample, no gap (the driver's arithmetic for it
    runs in full either way)."""

    def __init__(self):
        self.per_step = 0
        self.rec = bytearray(RECORD * RECORDS)
        o = 1 if ICM else 0
        for i in range(RECORDS):  # a sensor turning slowly, z up, with noise in the LSBs
            v = (100 + i % 7, -50 + i % 5, 4096 + i % 3, 33 + i % 11, -20 + i % 13, 5 + i % 4)
            if ICM:
                self.rec[RECORD * i] = 0x68
            for k in range(6):
                x = v[k] & 0xFFFF
                self.rec[RECORD * i + o + 2 * k] = x >> 8
                self.rec[RECORD * i + o + 2 * k + 1] = x & 0xFF

    def readfrom_mem_into(self, addr, reg, buf):
        if reg == 0x75:
            buf[0] = WHO
        elif reg == COUNT_REG:
            n = RECORD * self.per_step
            buf[0] = n >> 8
            buf[1] = n & 0xFF
        elif reg == DATA_REG:
            pass  # the records are already in the driver's buffer (copied once below)
        else:
            for i in range(len(buf)):
                buf[i] = 0

    def writeto_mem(self, addr, reg, buf):
        pass

    def readfrom_mem(self, addr, reg, n):
        b = bytearray(n)
        self.readfrom_mem_into(addr, reg, b)
        return bytes(b)

    def scan(self):
        return [0x68]


class StubBLE:
    def active(self, *a):
        return True

    def config(self, *a, **k):
        pass

    def irq(self, h):
        self.h = h

    def gatts_register_services(self, s):
        return ((3, 5, 7), (10, 12, 14), (17,))

    def gatts_set_buffer(self, *a):
        pass

    def gatts_write(self, *a):
        pass

    def gap_advertise(self, *a, **k):
        pass

    def gattc_exchange_mtu(self, c):
        pass

    def gatts_notify(self, c, h, d):
        self.sent += 1

    sent = 0


class Clock:
    def __init__(self):
        self.us = 0

    def ticks_us(self):
        return self.us & 0x3FFFFFFF

    def ticks_ms(self):
        return (self.us // 1000) & 0x3FFFFFFF

    def ticks_diff(self, a, b):
        return ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000


class Config:
    def __init__(self):
        from config import DEFAULTS
        self.values = dict(DEFAULTS)
        self.values["rate_hz"] = RATE
        self.reset_reason = None

    def __getitem__(self, k):
        return self.values[k]

    def set(self, k, v):
        self.values[k] = v

    def save(self):
        pass


def run_path():
    """A device from power-on, streaming to a host for SECONDS: µs per sample of
    sample_step() (mean), notifications that reached the stack, samples, the device."""
    bus = StubBus()
    clock = Clock()
    ble = StubBLE()
    link = BleLink(ble, "bench", uuid=lambda x: x)
    dev = app.Device(bus, link, clock, Config())
    dev.imu._buf[:] = bus.rec  # what a FIFO burst would have read
    ble.h(1, (1, 0, b""))
    ble.h(21, (1, 247))
    # a host's HELLO (protocol 1.2: the sample path also checks the gyro bias for BIAS packets)
    dev.handler.handle(sp.encode_command(1, sp.OP_HELLO, bytes((sp.VERSION_MIN, sp.VERSION_MAX))))
    dev.start_stream()
    # the host's START_STREAM on this connection (ble.py sets this when one is written): without
    # it every DATA notify is refused before the stack, and the path measured was the drop path
    link._host_ready = True
    step_us = 10000
    period_us = 1000000 // RATE
    steps = int(SECONDS * 1000000 // step_us)
    acc = 0
    samples = 0
    for s in range(steps):
        due = ((s + 1) * step_us) // period_us - (s * step_us) // period_us
        bus.per_step = due
        clock.us += step_us
        t0 = time.ticks_us()
        dev.sample_step()
        acc += time.ticks_diff(time.ticks_us(), t0)
        samples += due
    return acc / samples, ble.sent, samples, dev, bus


path_us, sent, n_samples, dev, bus = run_path()
print("notified", sent, n_samples)  # DATA (and BIAS) packets that reached the stack
print("imu_type", dev.imu_type, 0)  # the driver detect() chose, from WHO_AM_I

# stages alone (per sample)
from fusion import Fusion
f = Fusion(1.0 / RATE)
n = 20000
t0 = time.ticks_us()
for i in range(n):
    f.update(34000 + (i & 7), -21000 + (i & 3), 5000, 6000 + (i & 15), -3000, 642000 + (i & 31))
print("fusion", time.ticks_diff(time.ticks_us(), t0) / n, n)
raw = array("h", [0] * 240)
bus.per_step = 40
t0 = time.ticks_us()
for i in range(500):
    dev.imu.read(raw, 40)
print("fifo_decode", time.ticks_diff(time.ticks_us(), t0) / (500 * 40), 20000)
pk = dev.pk
t0 = time.ticks_us()
for i in range(n):
    pk.add(i, 5000, 0, 16000, 100, -100, 50, 2500, -30, 20, 5, -7, 9)
print("packetizer", time.ticks_diff(time.ticks_us(), t0) / n, n)


# --- perf_bench kernels (see the bench's docstring) ---------------------------
from math import cos, sin, sqrt


class Point:
    __slots__ = ("x", "y", "z")

    def __init__(self, i):
        self.x = x = sin(i)
        self.y = cos(i) * 3
        self.z = (x * x) / 2

    def normalize(self):
        x, y, z = self.x, self.y, self.z
        norm = sqrt(x * x + y * y + z * z)
        self.x /= norm
        self.y /= norm
        self.z /= norm

    def maximize(self, other):
        self.x = self.x if self.x > other.x else other.x
        self.y = self.y if self.y > other.y else other.y
        self.z = self.z if self.z > other.z else other.z
        return self


def float_kernel(n):
    points = [Point(i) for i in range(n)]
    for p in points:
        p.normalize()
    best = points[0]
    for p in points[1:]:
        best = best.maximize(p)
    return best


IDENT1, IDENT2, IDENT3, IDENT4, IDENT5 = 1, 2, 3, 4, 5


class Record:
    def __init__(self, ptr=None, discr=0, enum=0, intc=0, string=0):
        self.PtrComp = ptr
        self.Discr = discr
        self.EnumComp = enum
        self.IntComp = intc
        self.StringComp = string

    def copy(self):
        return Record(self.PtrComp, self.Discr, self.EnumComp, self.IntComp, self.StringComp)


G = {"IntGlob": 0, "BoolGlob": 0, "Char1Glob": "\0", "Char2Glob": "\0"}
Array1Glob = [0] * 51
Array2Glob = [[0] * 51 for _ in range(51)]
PtrGlb = None


def proc0(loops):
    global PtrGlb
    nxt = Record()
    PtrGlb = Record(nxt, IDENT1, IDENT3, 40, "DHRYSTONE PROGRAM, SOME STRING")
    s1 = "DHRYSTONE PROGRAM, 1'ST STRING"
    Array2Glob[8][7] = 10
    for _ in range(loops):
        proc5()
        proc4()
        i1 = 2
        i2 = 3
        s2 = "DHRYSTONE PROGRAM, 2'ND STRING"
        enum = IDENT2
        G["BoolGlob"] = not func2(s1, s2)
        while i1 < i2:
            i3 = 5 * i1 - i2
            i3 = proc7(i1, i2)
            i1 = i1 + 1
        proc8(Array1Glob, Array2Glob, i1, i3)
        PtrGlb = proc1(PtrGlb)
        c = "A"
        while c <= G["Char2Glob"]:
            if enum == func1(c, "C"):
                enum = proc6(IDENT1)
            c = chr(ord(c) + 1)
        i3 = i2 * i1
        i2 = i3 // i1
        i2 = 7 * (i3 - i2) - i1
        i1 = proc2(i1)


def proc1(par):
    par.PtrComp = nxt = PtrGlb.copy()
    par.IntComp = 5
    nxt.IntComp = par.IntComp
    nxt.PtrComp = par.PtrComp
    nxt.PtrComp = proc3(nxt.PtrComp)
    if nxt.Discr == IDENT1:
        nxt.IntComp = 6
        nxt.EnumComp = proc6(par.EnumComp)
        nxt.PtrComp = PtrGlb.PtrComp
        nxt.IntComp = proc7(nxt.IntComp, 10)
    else:
        par = nxt.copy()
    nxt.PtrComp = None
    return par


def proc2(io):
    loc = io + 10
    while True:
        if G["Char1Glob"] == "A":
            loc = loc - 1
            io = loc - G["IntGlob"]
            enum = IDENT1
        if enum == IDENT1:
            break
    return io


def proc3(out):
    if PtrGlb is not None:
        out = PtrGlb.PtrComp
    else:
        G["IntGlob"] = 100
    PtrGlb.IntComp = proc7(10, G["IntGlob"])
    return out


def proc4():
    b = G["Char1Glob"] == "A"
    b = b or G["BoolGlob"]
    G["Char2Glob"] = "B"


def proc5():
    G["Char1Glob"] = "A"
    G["BoolGlob"] = 0


def proc6(e):
    out = e
    if not func3(e):
        out = IDENT4
    if e == IDENT1:
        out = IDENT1
    elif e == IDENT2:
        out = IDENT1 if G["IntGlob"] > 100 else IDENT4
    elif e == IDENT3:
        out = IDENT2
    elif e == IDENT5:
        out = IDENT3
    return out


def proc7(a, b):
    return b + a + 2


def proc8(a1, a2, p1, p2):
    loc = p1 + 5
    a1[loc] = p2
    a1[loc + 1] = a1[loc]
    a1[loc + 30] = loc
    for k in range(loc, loc + 2):
        a2[loc][k] = loc
    a2[loc][loc - 1] = a2[loc][loc - 1] + 1
    a2[loc + 20][loc] = a1[loc]
    G["IntGlob"] = 5


def func1(c1, c2):
    return IDENT1 if c1 != c2 else IDENT2


def func2(s1, s2):
    i = 1
    while i <= 1:
        if func1(s1[i], s2[i + 1]) == IDENT1:
            c = "A"
            i = i + 1
    if "W" <= c <= "Z":
        i = 7
    if c == "X":
        return 1
    if s1 > s2:
        i = i + 7
        return 1
    return 0


def func3(e):
    return e == IDENT3


def score(fn, arg, work, repeat=5):
    best = None
    for _ in range(repeat):
        t0 = time.ticks_us()
        fn(arg)
        dt = time.ticks_diff(time.ticks_us(), t0)
        best = dt if best is None or dt < best else best
    return 1e6 * work / best


# the sample path and the kernels in turn, REPEAT times, best of each: on a machine
# shared with other jobs the best is the one least disturbed, for both alike
bm_float = score(float_kernel, 250, 250, 1)
pystone = score(proc0, 300, 300, 1)
for _ in range(REPEAT - 1):
    us = run_path()[0]
    path_us = us if us < path_us else path_us
    bm_float = max(bm_float, score(float_kernel, 250, 250, 1))
    pystone = max(pystone, score(proc0, 300, 300, 1))
print("path", path_us, n_samples)
print("bm_float", bm_float, 0)
print("pystone", pystone, 0)
'''


def run(rate: int, seconds: float, repeat: int = 5,
        firmware: Path = ROOT / "firmware", imu: str = "icm42688") -> dict[str, float]:
    env = dict(os.environ, MICROPYPATH=os.pathsep.join(
        [str(firmware), str(ROOT / "protocol")]))
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "budget.py"
        script.write_text(RUNNER, encoding="utf-8")
        proc = subprocess.run([micropython_binary(), str(script), str(rate), str(seconds),
                               str(repeat), imu],
                              env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        sys.exit(f"micropython failed:\n{proc.stdout}{proc.stderr}")
    out = {}
    for line in proc.stdout.splitlines():
        name, value, _ = line.split()
        out[name] = float(value)
    return out


def bus_us_per_sample(rate: int, imu: str = "icm42688") -> float:
    """I2C time a sample costs: its FIFO record (16 bytes on the ICM-42688-P, 12 on the
    MPU-6050) + its share of the two register reads (addr, reg, addr, 1-2 bytes) each step."""
    bit_us = 1e6 / I2C_HZ
    fifo = (16 if imu == "icm42688" else 12) * 9 * bit_us
    regs = 2 * 5 * 9 * bit_us  # INT_STATUS (1 byte) and FIFO_COUNT (2 bytes), with addressing
    samples_per_step = rate * STEP_MS / 1000
    return fifo + regs / samples_per_step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="sample-path run, device time")
    ap.add_argument("--repeat", type=int, default=5,
                    help="runs of the sample path and of each kernel, in turn; the best is kept")
    ap.add_argument("--firmware", type=Path, default=ROOT / "firmware",
                    help="firmware tree to measure (e.g. an older commit's, via git worktree)")
    ap.add_argument("--imu", choices=("icm42688", "mpu6050"), default="icm42688",
                    help="the IMU whose FIFO records the sample path decodes (default the BOM's)")
    args = ap.parse_args()
    if args.repeat < 1 or args.seconds <= 0:
        sys.exit("--repeat must be >= 1 and --seconds > 0")
    if not (args.firmware / "app.py").is_file():
        sys.exit(f"{args.firmware}: no firmware (app.py) there")
    rows = {rate: run(rate, args.seconds, args.repeat, args.firmware, args.imu)
            for rate in RATES_HZ}
    m = rows[200]
    want = 4 if args.imu == "icm42688" else 1  # sacrum_protocol IMU_ICM42688 / IMU_MPU6050
    if not all(r["imu_type"] == want for r in rows.values()):
        sys.exit(f"the firmware did not run the {args.imu} driver")
    if not all(r["notified"] > 0 for r in rows.values()):
        sys.exit("the sample path sent no notification: the bench measured the drop path")
    print(f"IMU: {args.imu}. This machine, MicroPython unix port (µs per sample): "
          f"sample path {m['path']:.1f} (fusion {m['fusion']:.1f}, FIFO decode "
          f"{m['fifo_decode']:.1f}, packetizer {m['packetizer']:.1f}); "
          f"perf_bench scores here: bm_float {m['bm_float']:.0f}, pystone {m['pystone']:.0f}")
    print()
    print("| board | slowdown (bm_float / pystone) | rate | path ms/sample (float-based / "
          "pystone-based) | + I2C µs | load % of one core (float / pystone) |")
    print("| --- | --- | --- | --- | --- | --- |")
    worst_240 = 0.0
    for board, (sf, sp) in BOARDS.items():
        for rate in RATES_HZ:
            r = rows[rate]
            kf, kp = r["bm_float"] / sf, r["pystone"] / sp
            bus = bus_us_per_sample(rate, args.imu)
            tf, tp = r["path"] * kf + bus, r["path"] * kp + bus
            lf, lp = tf * rate / 1e4, tp * rate / 1e4
            if board == "ESP32 @ 240 MHz" and rate == 200:
                worst_240 = max(lf, lp)
            print(f"| {board} | {kf:.0f}x / {kp:.0f}x | {rate} Hz | {tf / 1000:.2f} / "
                  f"{tp / 1000:.2f} | {bus:.0f} | {lf:.0f} / {lp:.0f} |")
    print()
    verdict = "met" if worst_240 <= TARGET_PCT else "NOT met"
    print(f"ESP32 @ 240 MHz at 200 Hz: {worst_240:.0f} % of one core (the larger estimate); "
          f"target <= {TARGET_PCT:.0f} %: {verdict}")


if __name__ == "__main__":
    main()
