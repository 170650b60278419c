"""An emulated MPU-6050 / MPU-6500 behind a fake ``machine.I2C`` bus.

Runs under MicroPython (unix port) and CPython. ``FakeMPU`` *is* the bus:
it has the machine.I2C methods the driver uses (readfrom_mem_into,
writeto_mem, readfrom_mem, scan) and one emulated chip at ``addr``.

What is emulated (from the MPU-6000/6050 register map rev 4.2 and the
MPU-6500 register map rev 2.1):

- a 128-byte register file; WHO_AM_I per variant; PWR_MGMT_1 resets to 0x40
  (asleep), so a driver that forgets to wake the chip gets no samples;
  DEVICE_RESET (PWR_MGMT_1 bit 7) restores the defaults.
- the sample clock: 1 kHz / (1 + SMPLRT_DIV) when DLPF_CFG is 1..6, else
  8 kHz / (1 + SMPLRT_DIV); it starts again (phase 0) when the chip is woken.
  Emulated time moves only when a test calls ``advance(seconds)`` or
  ``advance_samples(n)``; each sample period takes one sample from
  ``provider()`` if set, else from the queue filled by ``push_samples()``,
  else repeats the last one (a real chip never stops).
  A sample ``provider()`` returns as None was not delivered (a lost sample of
  the recording: ``lose_sample``): it never reaches the data registers or the
  FIFO, and it counts in ``samples_lost``, not ``samples_taken``. It shows as
  a FIFO overflow, the one way a real chip loses a sample:
  INT_STATUS.FIFO_OFLOW_INT (if INT_ENABLE.FIFO_OFLOW_EN is set), on which the
  firmware resets its FIFO and counts the lost sample periods (a sample_seq gap,
  FLAG_FIFO_OVERFLOW), never a made-up value. The flag is raised once the
  samples queued before the loss have been read (when INT_STATUS is read with
  the FIFO empty), or at once if the next sample comes first (then the reset
  takes the queued ones too, as a real overflow would), so a loss costs the
  lost samples and no more whenever the firmware reads between samples.
  The sample lands in the data registers (0x3B..0x48) and, if USER_CTRL.FIFO_EN
  is set, in the FIFO in register order: accel (FIFO_EN bit 3), temperature
  (bit 7), gyro x/y/z (bits 6/5/4), big-endian.
- the FIFO: a ring buffer of ``fifo_size`` bytes (1024 for the 6050, 512 for
  the 6500 family; the driver assumes the same). When full, each new byte
  overwrites the oldest one (CONFIG.FIFO_MODE 0) and INT_STATUS.FIFO_OFLOW_INT
  is set if INT_ENABLE.FIFO_OFLOW_EN is. USER_CTRL.FIFO_RESET empties it only
  while USER_CTRL.FIFO_EN is 0 in the same write (the 6050 datasheet's rule).
- FIFO_COUNTH/L give the byte count; reads of FIFO_R_W pop bytes, and a burst
  read starting there keeps popping (the address does not advance), as on the
  chip. Reading an empty FIFO returns the last byte read and counts in
  ``underruns`` (a driver should never do it). INT_STATUS clears on read.
- other bursts auto-increment the register address.

Faults: ``fail(k, reg=None, err=EIO, popped=0, after=0)`` lets ``after``
transactions pass, then makes the next ``k`` (only those addressing ``reg``
if given; k < 0: all until ``heal()``) raise OSError(err); ``popped`` bytes
are taken from the FIFO first when a failing transaction reads FIFO_R_W (a
transfer that broke off half way).
``present = False`` makes every transaction raise OSError(ENODEV) and empties
``scan()``, like a missing or unpowered chip.

Field faults (``sacrum simulate --fault``), in emulated time:

- ``power_glitch()``: the chip resets to its power-on state (asleep, FIFO
  off, registers cleared) -- ``imu-reset``.
- ``unpower(seconds)``: no supply for that long (every transaction NACKs,
  ENODEV), then the power-on state -- ``brownout`` as the IMU sees it.
- ``hold_sda(seconds)``: the chip holds SDA low (a byte interrupted half
  way): every transaction times out (OSError(ETIMEDOUT), after
  ``on_timeout(timeout_us)`` lets the emulated I2C timeout pass) until the
  time is up *and* the master has clocked SCL (``scl_pin()``/``sda_pin()``
  are the two lines as ``machine.Pin`` look-alikes) -- ``bus-stuck``.
"""

import errno

WHO_MPU6050 = 0x68
WHO_MPU6500 = 0x70
WHO_MPU9250 = 0x71
WHO_MPU9255 = 0x73

SMPLRT_DIV = 0x19
CONFIG = 0x1A
GYRO_CONFIG = 0x1B
ACCEL_CONFIG = 0x1C
ACCEL_CONFIG2 = 0x1D
FIFO_EN = 0x23
INT_ENABLE = 0x38
INT_STATUS = 0x3A
ACCEL_XOUT_H = 0x3B
USER_CTRL = 0x6A
PWR_MGMT_1 = 0x6B
PWR_MGMT_2 = 0x6C
FIFO_COUNTH = 0x72
FIFO_COUNTL = 0x73
FIFO_R_W = 0x74
WHO_AM_I = 0x75

FIFO_OFLOW = 0x10
USER_FIFO_EN = 0x40
USER_FIFO_RESET = 0x04
PWR_DEVICE_RESET = 0x80
PWR_SLEEP = 0x40


class FakeMPU:
    FIFO_REG = FIFO_R_W  # the register a burst read keeps popping (no address increment)

    def __init__(self, who_am_i=WHO_MPU6050, addr=0x68, fifo_size=None):
        self.who_am_i = who_am_i
        self.addr = addr
        if fifo_size is None:
            fifo_size = 1024 if who_am_i == WHO_MPU6050 else 512
        self.fifo_size = fifo_size
        self.regs = bytearray(128)
        self._fifo = bytearray(fifo_size)
        self._head = 0  # index of the oldest byte
        self.fifo_count = 0
        self._last_popped = 0
        self.underruns = 0
        self.provider = None  # callable() -> 6 ints (ax ay az gx gy gz), or None
        self.queue = []  # samples waiting for their sample period (push_samples)
        self.last = (0, 0, 0, 0, 0, 0)
        self.temp_lsb = 0
        self.samples_taken = 0
        self.samples_lost = 0  # sample periods the provider had no sample for
        self._loss_pending = False  # a lost sample the overflow flag has not shown yet
        self._us = 0  # emulated time since the last sample, microseconds
        self.present = True
        self._fail_k = 0
        self._fail_reg = None
        self._fail_err = errno.EIO
        self._fail_popped = 0
        self._fail_after = 0
        self.transactions = 0
        self.time_us = 0  # emulated time since power-on
        self.sample_time_us = 0  # emulated time of the last sample taken
        self._stuck_until = -1  # SDA held low until this time and then a clock pulse
        self._unpowered_until = -1
        self.timeout_us = 10000  # machine.I2C(timeout=...) of the firmware
        self.on_timeout = None  # callable(us): the emulated time a timed-out transfer takes
        self.scl_pulses = 0
        self._scl = 1
        self._power_on()

    def _power_on(self):
        regs = self.regs
        for i in range(len(regs)):
            regs[i] = 0
        regs[PWR_MGMT_1] = PWR_SLEEP
        regs[WHO_AM_I] = self.who_am_i
        self._head = 0
        self.fifo_count = 0
        self._loss_pending = False

    # --- test controls -----------------------------------------------------------
    def fail(self, k=1, reg=None, err=errno.EIO, popped=0, after=0):
        self._fail_after = after
        self._fail_k = k
        self._fail_reg = reg
        self._fail_err = err
        self._fail_popped = popped

    def heal(self):
        self._fail_k = 0

    def power_glitch(self):
        """The chip wakes from a supply glitch: asleep, FIFO off, defaults."""
        self._power_on()

    def unpower(self, seconds):
        self._unpowered_until = self.time_us + int(seconds * 1000000)

    def hold_sda(self, seconds):
        self._stuck_until = self.time_us + int(seconds * 1000000)

    @property
    def sda_stuck(self):
        return self._stuck_until >= 0

    def scl_pin(self):
        return _Pin(self, True)

    def sda_pin(self):
        return _Pin(self, False)

    def _scl_edge(self, level):
        if level and not self._scl:  # a rising edge: the slave clocks out a bit
            self.scl_pulses += 1
            if 0 <= self._stuck_until <= self.time_us:
                self._stuck_until = -1  # the byte is complete: SDA released
        self._scl = level

    def push_samples(self, acc_lsb_list, gyr_lsb_list):
        """Queue recorded samples: lists of (x, y, z) in sensor LSB, one per period."""
        if len(acc_lsb_list) != len(gyr_lsb_list):
            raise ValueError("push_samples needs as many gyro samples as accel samples")
        for i in range(len(acc_lsb_list)):
            a = acc_lsb_list[i]
            g = gyr_lsb_list[i]
            self.queue.append((a[0], a[1], a[2], g[0], g[1], g[2]))

    def sample_rate_hz(self):
        dlpf = self.regs[CONFIG] & 7
        base = 1000 if 1 <= dlpf <= 6 else 8000
        return base / (1 + self.regs[SMPLRT_DIV])

    def sample_period_us(self):
        dlpf = self.regs[CONFIG] & 7
        return (1000 if 1 <= dlpf <= 6 else 125) * (1 + self.regs[SMPLRT_DIV])

    def advance(self, seconds):
        """Let ``seconds`` of emulated time pass; the chip samples on its clock."""
        us = int(seconds * 1000000 + 0.5)
        self._us += us
        self.time_us += us
        if 0 <= self._unpowered_until <= self.time_us:
            self._unpowered_until = -1
            self._power_on()  # the supply is back: power-on reset
        period = self.sample_period_us()
        while self._us >= period:
            self._us -= period
            self.sample_time_us = self.time_us - self._us
            self._take_sample()

    def advance_samples(self, n):
        """Let exactly ``n`` sample periods pass."""
        for _ in range(n):
            self._take_sample()

    def write_fifo(self, data):
        """Put raw bytes in the FIFO (e.g. half a record, as if being written now)."""
        for b in data:
            self._fifo_push(b)

    # --- the chip ------------------------------------------------------------------
    def _take_sample(self):
        if self.regs[PWR_MGMT_1] & PWR_SLEEP or self._unpowered_until >= 0:
            return
        if self.provider is not None:
            s = self.provider()
        elif self.queue:
            s = self.queue.pop(0)
        else:
            s = self.last
        if s is None:
            self.lose_sample()
            return
        self._loss_shown()
        self.last = s
        self.samples_taken += 1
        regs = self.regs
        values = (s[0], s[1], s[2], self.temp_lsb, s[3], s[4], s[5])
        for i in range(7):
            v = values[i] & 0xFFFF
            regs[ACCEL_XOUT_H + 2 * i] = v >> 8
            regs[ACCEL_XOUT_H + 2 * i + 1] = v & 0xFF
        if not regs[USER_CTRL] & USER_FIFO_EN:
            return
        en = regs[FIFO_EN]
        if en & 0x08:
            self._fifo_push_regs(0, 3)
        if en & 0x80:
            self._fifo_push_regs(3, 1)
        for axis in range(3):
            if en & (0x40 >> axis):
                self._fifo_push_regs(4 + axis, 1)

    def lose_sample(self):
        """This sample period's sample is not delivered: a FIFO overflow (module doc)."""
        self.samples_lost += 1
        self._loss_pending = True
        if self.fifo_count == 0:
            self._loss_shown()

    def _loss_shown(self):
        """Raise the overflow flag for a pending lost sample."""
        if self._loss_pending:
            self._loss_pending = False
            self._set_overflow()

    def _set_overflow(self):
        if self.regs[INT_ENABLE] & FIFO_OFLOW:
            self.regs[INT_STATUS] |= FIFO_OFLOW

    def _fifo_push_regs(self, first, count):
        for i in range(2 * count):
            self._fifo_push(self.regs[ACCEL_XOUT_H + 2 * first + i])

    def _fifo_push(self, byte):
        size = self.fifo_size
        if self.fifo_count == size:  # full: the oldest byte is overwritten
            self._head = (self._head + 1) % size
            self.fifo_count -= 1
            if self.regs[INT_ENABLE] & FIFO_OFLOW:
                self.regs[INT_STATUS] |= FIFO_OFLOW
        self._fifo[(self._head + self.fifo_count) % size] = byte
        self.fifo_count += 1

    def _fifo_pop(self):
        if self.fifo_count == 0:
            self.underruns += 1
            return self._last_popped
        b = self._fifo[self._head]
        self._head = (self._head + 1) % self.fifo_size
        self.fifo_count -= 1
        self._last_popped = b
        return b

    def _read_reg(self, reg):
        if reg == FIFO_R_W:
            return self._fifo_pop()
        if reg == FIFO_COUNTH:
            return self.fifo_count >> 8
        if reg == FIFO_COUNTL:
            return self.fifo_count & 0xFF
        if reg == INT_STATUS and self.fifo_count == 0:
            self._loss_shown()
        value = self.regs[reg & 0x7F]
        if reg == INT_STATUS:
            self.regs[INT_STATUS] = 0
        return value

    def _write_reg(self, reg, value):
        if reg == FIFO_R_W:
            self._fifo_push(value)
        elif reg in (WHO_AM_I, INT_STATUS, FIFO_COUNTH, FIFO_COUNTL):
            pass  # read-only
        elif reg == PWR_MGMT_1 and value & PWR_DEVICE_RESET:
            self._power_on()
        elif reg == PWR_MGMT_1 and self.regs[PWR_MGMT_1] & PWR_SLEEP and not value & PWR_SLEEP:
            self.regs[PWR_MGMT_1] = value
            self._us = 0  # woken: the sample clock starts again, first sample a period on
        elif reg == USER_CTRL:
            if value & USER_FIFO_RESET and not value & USER_FIFO_EN:
                self._head = 0
                self.fifo_count = 0
            self.regs[USER_CTRL] = value & ~USER_FIFO_RESET
        else:
            self.regs[reg & 0x7F] = value

    # --- the bus (machine.I2C) -----------------------------------------------------
    def _begin(self, addr, reg):
        """Start a transaction; raise OSError like machine.I2C when it fails."""
        self.transactions += 1
        if self._stuck_until >= 0:
            if self.on_timeout is not None:
                self.on_timeout(self.timeout_us)
            raise OSError(errno.ETIMEDOUT)
        if not self.present or addr != self.addr or self._unpowered_until >= 0:
            raise OSError(errno.ENODEV)
        if self._fail_after > 0:
            self._fail_after -= 1
        elif self._fail_k != 0 and (self._fail_reg is None or self._fail_reg == reg):
            if self._fail_k > 0:
                self._fail_k -= 1
            if reg == self.FIFO_REG:
                for _ in range(self._fail_popped):
                    self._fifo_pop()
            raise OSError(self._fail_err)

    def readfrom_mem_into(self, addr, reg, buf):
        self._begin(addr, reg)
        for i in range(len(buf)):
            buf[i] = self._read_reg(reg)
            if reg != self.FIFO_REG:
                reg += 1

    def readfrom_mem(self, addr, reg, n):
        buf = bytearray(n)
        self.readfrom_mem_into(addr, reg, buf)
        return bytes(buf)

    def writeto_mem(self, addr, reg, buf):
        self._begin(addr, reg)
        for b in buf:
            self._write_reg(reg, b)
            if reg != self.FIFO_REG:
                reg += 1

    def scan(self):
        if self._stuck_until >= 0:
            raise OSError(errno.ETIMEDOUT)
        return [self.addr] if self.present and self._unpowered_until < 0 else []


class _Pin:
    """SCL or SDA of the fake bus, as firmware/i2cbus.py drives a machine.Pin."""

    def __init__(self, chip, is_scl):
        self.chip = chip
        self.is_scl = is_scl
        self._level = 1

    def init(self, *args, **kw):
        if "value" in kw:
            self.value(kw["value"])

    def value(self, v=None):
        chip = self.chip
        if v is None:
            if self.is_scl:
                return self._level
            return 0 if chip.sda_stuck else self._level
        self._level = 1 if v else 0
        if self.is_scl:
            chip._scl_edge(self._level)
        return None
