"""The device: IMU -> fusion -> packets -> link, and commands back.

``Device.step()`` is one pass of the main loop (every ~10 ms): read the IMU's
hardware FIFO, fuse and pack every new sample, send finished packets, answer
commands, drive the LED. Everything it touches is injected -- the I2C bus, the
link (BLE or USB serial), the clock -- so the same code runs on the board and,
under the unix MicroPython port, in the firmware-in-the-loop simulator.
"""

import gc
import math
import struct
from array import array

from commands import CommandHandler
from fusion import BIAS_Q, Fusion, scale_of
from icm42688 import detect
from mpu6050 import IMUError
from packetizer import Packetizer
from sampleclock import MASK, SampleClock, diff

import micropython
import sacrum_protocol as sp
from micropython import const

FW_VERSION = (1, 0, 0)
MAX_BATCH = const(40)  # samples per FIFO read: 480 bytes, 200 ms at 200 Hz
STEP_MS = const(10)
_REST_GYRO_Q14 = const(819)  # 0.05 rad/s: calibration refuses if an axis spreads more
_CALIB_CLAMP = const(1 << 16)  # 4 rad/s in Q14: sums of 13107 samples stay small ints
_DISCONNECTED_STOP_MS = const(300_000)  # stop streaming after 5 min without a host
_BATTERY_EVERY_MS = const(10_000)
_BONDS_RETRY_MS = const(5_000)  # a failing flash write is retried this often, not every step
_STALL_PERIODS = const(20)  # no sample for this many periods: re-probe and re-init the IMU
_RETRY_MS = const(100)  # between two recovery attempts of a failing IMU or bus
_LOAD_WINDOW_MS = const(4000)  # loop load is measured over this window
_ENODEV = const(19)  # errno: the IMU does not acknowledge (no power)
_BIAS_STEP_Q24 = const(4096)  # 2^-12 rad/s (0.014 °/s, half the wire LSB): a change sent
_BIAS_EVERY_S = const(1)  # and the bias at least this often (a lost BIAS costs at most this)


def _i16(v):
    return 32767 if v > 32767 else -32768 if v < -32768 else v


@micropython.viper
def _scale(raw, j: int, k, s):
    """s[0:6] = raw[j:j+6] (sensor LSB, int16) scaled to m/s² Q16 and rad/s Q20:
    v * k + mul(v, m, sh) with k = (acc k, m, sh, gyr k, m, sh) (fusion.scale_of);
    every product below 2^30."""
    r = ptr16(raw)  # noqa: F821 -- viper's pointer casts
    c = ptr32(k)  # noqa: F821 -- viper's pointer casts
    o = ptr32(s)  # noqa: F821 -- viper's pointer casts
    for i in range(6):
        v = r[j + i]
        v = v - ((v >> 15) << 16)  # int16 load, sign-extended
        b = 0 if i < 3 else 3
        kk = c[b]
        m = c[b + 1]
        sh = c[b + 2]
        hi = (v >> 15) * m
        lo = (v & 0x7FFF) * m
        if sh >= 15:
            rr = 0
            if sh > 15:
                rr = 1 << (sh - 16)
            x = (hi + ((lo + 16384) >> 15) + rr) >> (sh - 15)
        else:
            x = (hi << (15 - sh)) + ((lo + ((1 << sh) >> 1)) >> sh)
        o[i] = v * kk + x


@micropython.viper
def _bias_moved(b, sent, step: int) -> int:
    """1 if the bias b (Q32) moved more than ``step`` (Q24) from ``sent`` (Q24) on an axis."""
    bb = ptr32(b)  # noqa: F821 -- viper's pointer casts
    ss = ptr32(sent)  # noqa: F821 -- viper's pointer casts
    for i in range(3):
        v = bb[i]
        v = (v - ((((v >> 31) & 1) << 31) << 1)) >> 8
        w = ss[i]
        w = w - ((((w >> 31) & 1) << 31) << 1)
        d = v - w
        if d > step or d < 0 - step:
            return 1
    return 0


@micropython.viper
def _wire(buf, q, s, b):
    """The 20 wire bytes of a sample (SPEC 1.2: qw qx qy qz ax ay az gx gy gz, i16
    little endian) at offset s[6] of ``buf``: q (Q14) as it is, acc Q16 -> 1/256
    m/s², bias-corrected gyr Q20 -> 1/1024 rad/s, clamped to int16."""
    out = ptr8(buf)  # noqa: F821 -- viper's pointer casts
    qq = ptr32(q)  # noqa: F821 -- viper's pointer casts
    ss = ptr32(s)  # noqa: F821 -- viper's pointer casts
    bb = ptr32(b)  # noqa: F821 -- viper's pointer casts
    off = ss[6]
    for i in range(10):
        if i < 4:
            v = qq[i]
            v = v - ((((v >> 31) & 1) << 31) << 1)
        elif i < 7:
            v = ss[i - 4]
            v = ((v - ((((v >> 31) & 1) << 31) << 1)) + 128) >> 8
        else:
            v = ss[i - 4]
            v = v - ((((v >> 31) & 1) << 31) << 1)
            w = bb[i - 7]
            w = w - ((((w >> 31) & 1) << 31) << 1)
            v = (v - (w >> 12) + 512) >> 10
        if v > 32767:
            v = 32767
        if v < -32768:
            v = -32768
        out[off + 2 * i] = v & 0xFF
        out[off + 2 * i + 1] = (v >> 8) & 0xFF


class Device:
    def __init__(self, i2c, link, clock, config, battery=None, led=None, reset=None, log=None,
                 wdt=None, recovery=None, boot_fault=sp.FAULT_NONE, security=None,
                 button=None):
        self.link = link
        self.security = security  # security.Security: bonds, pairing window (or None)
        self.button = button  # BOOT: a callable, True while pressed
        self.wdt = wdt
        self.clock = clock
        self.config = config
        self.battery = battery
        self.led = led
        self._reset = reset
        self._log = log
        self.imu = detect(i2c, recovery=recovery)  # ICM-42688-P or the MPU-6050 family
        self.fault = boot_fault  # the latest fault code (SPEC 2.2), sticky
        self.fault_events = 1 if boot_fault else 0
        try:
            self.imu_type = self.imu.probe()
        except IMUError as e:
            self.imu_type = sp.IMU_NONE
            self.fault = sp.FAULT_IMU_MISSING
            self.log_error("IMU: %s" % e)
        if self.fault == sp.FAULT_NONE and config.reset_reason in ("corrupt", "invalid"):
            self.fault = sp.FAULT_CONFIG_RESET
        self.raw = array("h", [0] * (6 * MAX_BATCH))
        self.streaming = False
        self.reboot_at_ms = None
        self.handler = CommandHandler(self)
        self._ticks = clock.ticks_us()
        self.now_us = 0  # device time, µs since boot modulo 2^30 (a small int on the board)
        self.epoch = 0  # times now_us wrapped: the wire's u32 t_us is epoch:now_us
        self.now_ms = 0  # ms since boot (2^30 ms: 12 days)
        self._us_rem = 0
        self._last_read_us = 0
        self._battery_ms = -_BATTERY_EVERY_MS  # the first step reads it
        self._bonds_retry_ms = 0  # no bond write before this (after a failed one)
        self._bonds_failures = 0  # failed bond writes in a row (only the first is logged)
        self._calib = None  # [token, samples left, n, sx, sy, sz, min/max per axis...], Q14
        self._calib_done = None  # a finished calibration, answered by the service step
        self._pending_flags = 0
        self._bus_errors = 0
        self._retry_ms = 0  # next IMU / bus recovery attempt
        self._link_lost_ms = -1  # when the host went away while streaming (-1: it is here)
        self._irq_errors = 0
        self._disconnects = 0
        self._battery_pct = -1
        self._save_due = False  # config changed: written after the sample loop
        self._recovered = False
        self._heal_due = False
        self._alloc = 0
        self.gc_runs = 0  # garbage collections seen (the heap shrank between two steps)
        self.load_permille = 0  # loop busy time / wall time over the last window, ‰ of a core
        self.step_max_us = 0  # longest step in the last window
        self._busy_us = 0
        self._win_max_us = 0
        self._win_start_ms = 0
        self._t_start = 0
        self.pk = Packetizer(link.mtu, serial=link.serial, time_of=self._time_of,
                             epoch_of=self._epoch_of)
        b = config["gyro_bias_mradps"]
        self.fusion = Fusion(1.0 / config["rate_hz"])
        self.fusion.set_bias(*(int(v * (1 << BIAS_Q) / 1000) for v in b))
        self._k = array("i", [0] * 6)  # LSB -> m/s² Q16, rad/s Q20 (fusion.scale_of)
        self._s = array("i", [0] * 7)  # one sample, scaled; s[6]: its offset in the packet
        self._bias_packet = bytearray(sp.BIAS_SIZE)  # SPEC 2.5 (1.2), reused
        self._bias_sent = array("i", [0, 0, 0])  # the bias last sent, rad/s Q24
        self._bias_age = 0  # samples streamed since; >= rate_hz: a BIAS is due
        self._apply_rate(config["rate_hz"])

    # -- helpers -----------------------------------------------------------------
    def log_error(self, message):
        if self._log is not None:
            self._log(message)

    def _fault_event(self, code, message):
        """A fault happened (and is being healed): latest code, count, flag, log."""
        self.fault = code
        self.fault_events += 1
        self._recovered = True  # FLAG_RECOVERED on the next packet that goes out
        self.log_error(message)

    def _save_config(self):
        """Flash writes stall the CPU for tens of ms: never inside the sample loop."""
        self._save_due = True

    def _time_of(self, k):
        return self.sclock.time_us(k)

    def _apply_rate(self, rate_hz):
        self.rate_hz = rate_hz
        self.period_us = 1_000_000 // rate_hz
        self.sclock = SampleClock(self.period_us)
        self.fusion.set_period(1.0 / rate_hz)
        if self.imu_type != sp.IMU_NONE:
            try:
                self.imu.configure(rate_hz)
                self.imu.start()
                k = self._k
                k[0], k[1], k[2] = scale_of(self.imu.acc_mps2_per_lsb * 65536)
                k[3], k[4], k[5] = scale_of(self.imu.gyr_radps_per_lsb * 1048576)
            except IMUError as e:
                self.fault = sp.FAULT_IMU_BUS
                self.log_error("IMU configure: %s" % e)
        self.pk.reset_samples()
        self._last_read_us = self.now_us

    def _tick(self):
        t = self.clock.ticks_us()
        dt = self.clock.ticks_diff(t, self._ticks)
        self._ticks = t
        if dt < 0:
            return
        now = self.now_us + dt
        if now > MASK:
            now &= MASK
            self.epoch = (self.epoch + 1) & 3
        self.now_us = now
        rem = self._us_rem + dt
        self.now_ms += rem // 1000
        self._us_rem = rem % 1000

    def _epoch_of(self, t_us):
        """The wrap count of a device time at most 9 min old (for the wire's u32)."""
        return self.epoch if t_us <= self.now_us else (self.epoch - 1) & 3

    # -- main loop -----------------------------------------------------------------
    def step(self):
        self.sample_step()
        self.service_step()

    def sample_step(self):
        """The per-sample path: FIFO -> sample clock -> fusion -> packets -> link.
        Allocates nothing (``sacrum simulate --heap-locked`` runs it with the
        heap locked) except when healing a fault."""
        self._t_start = self.clock.ticks_us()
        self._tick()
        if self.imu_type != sp.IMU_NONE and self._read_sensor() == 0:
            self._heal_due = True  # looked at by the service step (healing allocates)
        if self.wdt is not None:
            self.wdt.feed()

    def service_step(self):
        """Fault healing, commands, the no-host stop, battery, LED, config writes,
        measurements: the rest of the loop, where allocation is allowed."""
        now_ms = self.now_ms
        link = self.link
        self._watch_link(now_ms)
        if self._heal_due:
            self._heal_due = False
            self._watch_imu(now_ms)
        if self._calib_done is not None:
            self._finish_calibration()
        for cmd in link.poll():
            resp = self.handler.handle(cmd)
            if resp is not None:
                self.link.send_response(resp)
        if self.streaming and not link.connected:  # no host: stop after a while (time, not steps)
            if self._link_lost_ms < 0:
                self._link_lost_ms = now_ms
            elif now_ms - self._link_lost_ms > _DISCONNECTED_STOP_MS:
                self.stop_stream()
        else:
            self._link_lost_ms = -1
        if self.battery is not None and now_ms - self._battery_ms >= _BATTERY_EVERY_MS:
            self._battery_ms = now_ms
            self.battery.read()
            pct = self.battery.percent
            if pct != self._battery_pct and pct <= 100:
                self._battery_pct = pct
                link.set_battery(pct)  # Battery Level, notified on change
        sec = self.security
        if sec is not None:
            sec.now_ms = now_ms
            if self.button is not None and sec.button(self.button(), now_ms) == "forgot":
                self.log_error("BOOT held 10 s: bonds forgotten")
            # keys stored by the IRQ: written here, after the sample path; a flash that keeps
            # failing is retried every few seconds and logged once, not every 10 ms step
            if sec.dirty and now_ms - self._bonds_retry_ms >= 0:
                try:
                    sec.save()
                    self._bonds_failures = 0
                except OSError as e:
                    if self._bonds_failures == 0:
                        self.log_error("bonds save: %s" % e)
                    self._bonds_failures += 1
                    self._bonds_retry_ms = now_ms + _BONDS_RETRY_MS
        if self._save_due:
            self._save_due = False
            try:
                self.config.save()
            except OSError as e:
                self.log_error("config save: %s" % e)
        if self.led is not None:
            self.led.set("pairing" if sec is not None and sec.window_open()
                         else "fault" if self.imu_type == sp.IMU_NONE or self.imu.fault
                         else "streaming" if self.streaming
                         else "connected" if self.link.connected else "advertising")
            self.led.step(now_ms)
        if self.reboot_at_ms is not None and now_ms >= self.reboot_at_ms and self._reset:
            self._reset()
        self._measure(now_ms, self._t_start)

    def _measure(self, now_ms, t_start):
        """Loop load and GC count, for GET_STATUS (what a real board tells about itself)."""
        alloc = gc.mem_alloc()
        if alloc < self._alloc:
            self.gc_runs = (self.gc_runs + 1) & 0xFFFF
        self._alloc = alloc
        clock = self.clock
        busy = clock.ticks_diff(clock.ticks_us(), t_start)
        self._busy_us += busy
        if busy > self._win_max_us:
            self._win_max_us = busy
        span = now_ms - self._win_start_ms
        if span >= _LOAD_WINDOW_MS:
            self.load_permille = min(1000, self._busy_us // span)
            self.step_max_us = self._win_max_us
            self._busy_us = 0
            self._win_max_us = 0
            self._win_start_ms = now_ms

    # -- self-healing --------------------------------------------------------------
    def _watch_link(self, now_ms):
        """Count the radio's faults; re-size packets to the (new) link's MTU."""
        link = self.link
        if link.irq_errors != self._irq_errors:
            self._irq_errors = link.irq_errors
            self._fault_event(sp.FAULT_BLE_IRQ, "BLE handler raised (caught)")
        if link.disconnects != self._disconnects:
            self._disconnects = link.disconnects
            if self.streaming:
                self._fault_event(sp.FAULT_LINK_LOST, "host dropped the link while streaming")
        if self.streaming and not link.serial and link.mtu != self.pk.mtu:
            packet = self.pk.set_mtu(link.mtu)  # the partial packet goes out as it is
            if packet is not None and not link.send_data(packet):
                self.pk.not_sent()

    def _watch_imu(self, now_ms):
        """No sample this step. A stuck bus is clocked free; an IMU that gave no
        sample for _STALL_PERIODS periods (asleep after a power glitch, FIFO off)
        is re-probed and re-initialised. The samples it did not take show as an
        exact gap: the sample count jumps to the sample period due now."""
        imu = self.imu
        if now_ms < self._retry_ms:
            return
        if imu.fault:
            if imu.bus_stuck:
                self._retry_ms = now_ms + _RETRY_MS
                if imu.recover_bus():
                    self._fault_event(sp.FAULT_BUS_STUCK, "I2C bus stuck; clocked free")
            return  # the next read tells whether the bus works again
        if diff(self.now_us, self._last_read_us) <= _STALL_PERIODS * self.period_us:
            return
        self._retry_ms = now_ms + _RETRY_MS
        errno_seen = imu.last_errno
        try:
            imu.reinit()
        except IMUError:
            return  # still gone: tried again in _RETRY_MS
        code = sp.FAULT_IMU_POWER if errno_seen == _ENODEV else sp.FAULT_IMU_RESET
        imu.last_errno = 0
        # (an ICM-42688-P whose sensors stayed on keeps its sample clock: icm42688.py)
        self._resume_after_gap(getattr(imu, "clock_restarted", True))
        self._fault_event(code, "IMU stalled; re-initialised")

    def _resume_after_gap(self, restarted=False):
        """The FIFO was restarted (``restarted``: the chip too): skip the sample
        count to the sample due next, so the host sees the gap exactly."""
        clock = self.sclock
        if restarted:
            lost = clock.restarted(self.now_us)
        else:
            lost = clock.due_at(self.now_us) - clock.count
            if hasattr(self.imu, "flush_lost"):  # ICM-42688-P: from its timestamps
                lost = self.imu.flush_lost(lost)
            if lost > 0:
                clock.skipped(lost)
        if lost > 0 and self.streaming:
            packet = self.pk.skip(lost)  # the samples read before the gap, if any
            if packet is not None and not self.link.send_data(packet):
                self.pk.not_sent()
        self._last_read_us = self.now_us

    def _read_sensor(self):
        """Drain the FIFO into packets; returns the number of samples read."""
        imu = self.imu
        n = imu.read(self.raw, MAX_BATCH)
        if imu.overflow:
            # the FIFO was reset: the samples since the last good read are gone,
            # but they were taken, so the sample counter advances over them
            imu.overflow = False
            self._resume_after_gap()
            self._pending_flags |= sp.FLAG_FIFO_OVERFLOW
        if imu.bus_errors != self._bus_errors:
            self._bus_errors = imu.bus_errors
            self._pending_flags |= sp.FLAG_SENSOR_FAULT
        if n == 0:
            return 0
        self._last_read_us = self.now_us
        # sample periods the sensor had no sample for, placed by its record timestamps
        # (ICM-42688-P: icm42688.py; the MPU family's records carry no time: 0)
        missed = getattr(imu, "missed", 0)
        self.sclock.on_read(self.now_us, n + missed)
        first = self.sclock.count - n - missed
        gap = imu.gap_at[0] if missed else n  # the record the next gap comes before
        gi = 0
        k = self._k
        sv = self._s
        fusion = self.fusion
        q = fusion.q
        bias = fusion.bias
        raw = self.raw
        pk = self.pk
        base_flags = self._pending_flags
        if imu.clipped:
            base_flags |= sp.FLAG_CLIPPING
        if self.battery is not None and self.battery.low:
            base_flags |= sp.FLAG_LOW_BATTERY
        if self._recovered:  # until a packet carrying it was sent
            base_flags |= sp.FLAG_RECOVERED
        self._pending_flags = 0
        bias_on = self.handler.version >= sp.VERSION_1_2  # BIAS packets (SPEC 2.5)
        # looked up once per read, not per sample (none changes inside this loop)
        period_us = self.period_us
        rate_hz = self.rate_hz
        bias_sent = self._bias_sent
        buf = pk.buf
        at_rest_flag = sp.FLAG_AT_REST
        for i in range(n):  # integers only: m/s² Q16, rad/s Q20 (fusion.py)
            if i == gap:  # imu.gap_len[gi] sample periods without a sample before this one
                skip = imu.gap_len[gi]
                first += skip
                base_flags |= sp.FLAG_FIFO_OVERFLOW
                if self.streaming:
                    packet = pk.skip(skip)  # the samples before the gap, if any
                    if packet is not None and not self.link.send_data(packet):
                        pk.not_sent()
                gi += 1
                gap = imu.gap_at[gi] if gi < imu.gaps else n
            _scale(raw, 6 * i, k, sv)
            fusion.update(sv[3], sv[4], sv[5], sv[0], sv[1], sv[2])
            if self._calib is not None:
                self._calibrate_sample(sv[3] >> 6, sv[4] >> 6, sv[5] >> 6)
            if not self.streaming:
                continue
            flags = base_flags
            if fusion.at_rest:
                flags |= at_rest_flag
            if self._calib is not None:
                flags |= sp.FLAG_CALIBRATING
            sv[6] = pk.slot(first + i, period_us, flags)
            _wire(buf, q, sv, bias)
            if bias_on:
                age = self._bias_age + 1
                self._bias_age = age
                if age >= rate_hz or _bias_moved(bias, bias_sent, _BIAS_STEP_Q24):
                    self._send_bias((pk.sample_seq + pk.count) & 0xFFFF)
            packet = pk.commit()
            if packet is not None:
                if self.link.send_data(packet):
                    base_flags &= ~sp.FLAG_RECOVERED
                    self._recovered = False
                else:
                    self.pk.not_sent()
        return n

    def _send_bias(self, sample_seq):
        """BIAS (SPEC 2.5): the bias taken off the rate of sample ``sample_seq`` on,
        sent before the DATA packet holding that sample. Not sent (link congested): due
        again at the next sample, with the bias and the sample of then."""
        b = self.fusion.bias
        s = self._bias_sent
        s[0] = b[0] >> 8
        s[1] = b[1] >> 8
        s[2] = b[2] >> 8
        sp.pack_bias_into(self._bias_packet, sample_seq, s[0], s[1], s[2])
        self._bias_age = 0 if self.link.send_data(self._bias_packet) else self.rate_hz

    # -- gyro calibration ---------------------------------------------------------------
    def _calibrate_sample(self, gx, gy, gz):
        """One sample (rad/s Q14) into the calibration sums; no allocation."""
        lim = _CALIB_CLAMP
        gx = lim if gx > lim else -lim if gx < -lim else gx
        gy = lim if gy > lim else -lim if gy < -lim else gy
        gz = lim if gz > lim else -lim if gz < -lim else gz
        c = self._calib
        c[1] -= 1
        c[2] += 1
        c[3] += gx
        c[4] += gy
        c[5] += gz
        if gx < c[6]:
            c[6] = gx
        if gx > c[7]:
            c[7] = gx
        if gy < c[8]:
            c[8] = gy
        if gy > c[9]:
            c[9] = gy
        if gz < c[10]:
            c[10] = gz
        if gz > c[11]:
            c[11] = gz
        if c[1] <= 0:
            self._calib_done = c
            self._calib = None

    def _finish_calibration(self):
        """Answer CALIBRATE_GYRO (from the service step: it allocates)."""
        c = self._calib_done
        self._calib_done = None
        token = c[0]
        k = c[2]
        mean = [(c[3] + (k >> 1)) // k, (c[4] + (k >> 1)) // k, (c[5] + (k >> 1)) // k]  # Q14
        spread = max(c[7] - c[6], c[9] - c[8], c[11] - c[10])
        if spread > 2 * _REST_GYRO_Q14:
            self.link.send_response(sp.encode_response(token, sp.OP_CALIBRATE_GYRO,
                                                       sp.RESULT_NOT_AT_REST))
            return
        self.fusion.set_bias(*(m << (BIAS_Q - 14) for m in mean))
        self.config.set("gyro_bias_mradps", [(m * 1000 + 8192) >> 14 for m in mean])
        self._save_config()
        payload = struct.pack("<hhh", *(_i16((m + 8) >> 4) for m in mean))  # SPEC: ×1024
        self.link.send_response(sp.encode_response(token, sp.OP_CALIBRATE_GYRO, sp.RESULT_OK,
                                                   payload))

    # -- command hooks (commands.CommandHandler calls these) ------------------------
    def start_stream(self):
        if self.imu_type == sp.IMU_NONE:
            return sp.RESULT_FAILED
        if not self.streaming:
            self.pk.set_link(self.link.serial, self.link.mtu)
            self.streaming = True
            self._disconnects = self.link.disconnects
        self._bias_age = self.rate_hz  # a (new) host gets the bias with the next sample
        return sp.RESULT_OK

    def stop_stream(self):
        self.streaming = False
        self.pk.reset_samples()
        return sp.RESULT_OK

    def set_rate(self, rate_hz):
        if self.streaming:
            return sp.RESULT_BUSY
        self.config.set("rate_hz", rate_hz)
        self._save_config()
        self._apply_rate(rate_hz)
        return sp.RESULT_OK

    def calibrate_gyro(self, token, ms):
        if self.imu_type == sp.IMU_NONE:
            return sp.RESULT_FAILED
        if self._calib is not None:
            return sp.RESULT_BUSY
        n = max(1, ms * self.rate_hz // 1000)
        big = 1 << 29
        self._calib = [token, n, 0, 0, 0, 0, big, -big, big, -big, big, -big]
        return None  # answered when the samples are in

    def set_mounting(self, q_raw):
        if q_raw is None:  # zero pose: the current inclination, heading removed
            if not self.fusion.at_rest:
                return sp.RESULT_NOT_AT_REST, None
            w, x, y, z = (v / 16384 for v in self.fusion.q)
            yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
            c, s = math.cos(yaw / 2), -math.sin(yaw / 2)
            q = (c * w - s * z, c * x - s * y, c * y + s * x, c * z + s * w)
            q_raw = [sp.to_i16(v, sp.Q_SCALE) for v in q]
        self.config.set("mount", list(q_raw))
        self._save_config()
        return sp.RESULT_OK, tuple(q_raw)

    def identify(self, seconds):
        if self.led is not None:
            self.led.identify(self.now_ms, seconds)
        return sp.RESULT_OK

    def status(self):
        batt = self.battery
        flags = sp.FLAG_LOW_BATTERY if batt is not None and batt.low else 0
        if self.fusion.at_rest:
            flags |= sp.FLAG_AT_REST
        if self._calib is not None:
            flags |= sp.FLAG_CALIBRATING
        if self._recovered:
            flags |= sp.FLAG_RECOVERED
        values = (
            FW_VERSION[0], FW_VERSION[1], FW_VERSION[2], self.handler.version, self.imu_type,
            self.fault, flags, 1 if self.streaming else 0, self.rate_hz,
            batt.mv if batt is not None else 0, batt.percent if batt is not None else 255,
            1 if self.link.serial else 0, self.now_ms // 1000, self.pk.dropped_total,
            # 1.1 health block: what this board measures of itself
            self.fault_events, self.load_permille, self.step_max_us // 1000, self.gc_runs,
            gc.mem_free() // 1024, self.link.irq_errors,
        )
        return values, self.config["name"]

    def set_name(self, name):
        self.config.set("name", name)
        self._save_config()
        self.link.set_name(name)
        return sp.RESULT_OK

    def reboot(self):
        self.reboot_at_ms = self.now_ms + 200  # after the response has gone out
        return sp.RESULT_OK

    def set_security(self, action):
        """SECURITY: 2 forgets every bond; 0/1 turn security off/on from the next boot
        (the control characteristic's flags are fixed when the GATT server is built)."""
        if self.security is None:
            return sp.RESULT_FAILED
        if action == sp.SECURITY_FORGET_BONDS:
            self.security.forget()
            return sp.RESULT_OK
        self.config.set("security", action)
        self._save_config()
        if bool(action) != self.security.enabled:
            self.reboot_at_ms = self.now_ms + 200
        return sp.RESULT_OK

    def set_link(self, link):
        self.config.set("link", link)
        self._save_config()
        if link != (1 if self.link.serial else 0):
            self.reboot_at_ms = self.now_ms + 200  # the link is chosen at boot
        return sp.RESULT_OK


def run(device, clock, on_stable=None, stable_after_ms=60_000):
    """The main loop: one step every STEP_MS. ``on_stable`` is called once after
    ``stable_after_ms`` of running (main.py then clears its crash counter).
    Returns when the serial link's REPL escape was typed."""
    while not device.link.escape:
        device.step()
        if on_stable is not None and device.now_ms >= stable_after_ms:
            on_stable()
            on_stable = None
        clock.sleep_ms(STEP_MS)
