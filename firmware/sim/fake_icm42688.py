"""An emulated ICM-42688-P behind the fake ``machine.I2C`` bus of fake_mpu.py.

Runs under MicroPython (unix port) and CPython. The bus, the faults
(``fail``, ``present``, ``power_glitch``, ``unpower``, ``hold_sda``) and the
sample clock's bookkeeping are FakeMPU's; this replaces the register map
with the ICM-42688-P's (bank 0, datasheet DS-000347; the values are listed in
firmware/icm42688.py):

- WHO_AM_I 0x47; power-on: PWR_MGMT0 0 (sensors off: no samples, as after a
  supply glitch), FIFO in bypass; DEVICE_CONFIG bit 0 is a soft reset.
- the sample clock: the gyro ODR code of GYRO_CONFIG0 (0x06 1 kHz, 0x07 200 Hz,
  0x08 100 Hz, 0x09 50 Hz; else 1 kHz); it starts again when PWR_MGMT0 turns
  the sensors on; a sample is taken only with both in low-noise mode (0x0F).
- the FIFO: 2048 bytes; with FIFO_CONFIG stream mode and FIFO_CONFIG1
  accel + gyro each sample is a 16-byte packet 3 (header 0x68, accel, gyro
  big-endian, temperature, timestamp). When full, the oldest bytes go and
  INT_STATUS.FIFO_FULL (bit 1) is set (cleared on read).
- the record's timestamp (datasheet section 6.3 "FIFO packet", TMST_CONFIG 0x54,
  power-on 0x23: TMST_EN, absolute, TMST_RES 0 = 1 µs): the chip's free-running
  µs counter (here emulated time) at the sample's ODR tick, in 1 µs or (TMST_RES
  set, bit 3) 16 µs units, its low 16 bits. It runs on through every sample period,
  delivered or not, so a sample missing from the stream is a timestamp step of two
  periods or more. SIGNAL_PATH_RESET bit 2 (TMST_STROBE) latches the counter now
  into bank 1's TMSTVAL0..2 (0x62..0x64, 20 bits, little-endian) when TMST_CONFIG
  bit 4 (TMST_TO_REGS_EN) is set; REG_BANK_SEL (0x76) selects bank 0 or 1 (only
  those two banks are emulated). FIFO_COUNTH/L give
  the bytes queued, big-endian; FIFO_DATA pops (an empty FIFO reads 0xFF
  and counts in ``underruns``); SIGNAL_PATH_RESET bit 1 flushes it.
- a sample the provider returns as None is not delivered (not queued,
  ``samples_lost``), as a real chip would show a sample missing from its stream:
  the next record's timestamp is a period or more later, and no flag is raised
  (FIFO_FULL means a full FIFO, nothing else). Unlike FakeMPU, whose records
  carry no time, the firmware sees where the loss was without resetting the FIFO.
"""

from fake_mpu import FakeMPU

WHO_ICM42688 = 0x47
DEVICE_CONFIG = 0x11
FIFO_CONFIG = 0x16
INT_STATUS = 0x2D
FIFO_COUNTH = 0x2E
FIFO_COUNTL = 0x2F
FIFO_DATA = 0x30
SIGNAL_PATH_RESET = 0x4B
PWR_MGMT0 = 0x4E
GYRO_CONFIG0 = 0x4F
ACCEL_CONFIG0 = 0x50
TMST_CONFIG = 0x54
TMST_RES_16US = 0x08
TMST_TO_REGS = 0x10
TMST_STROBE = 0x04
REG_BANK_SEL = 0x76
TMSTVAL0 = 0x62
FIFO_CONFIG1 = 0x5F
WHO_AM_I = 0x75
FIFO_FULL = 0x02
_ODR_US = {0x06: 1000, 0x07: 5000, 0x08: 10000, 0x09: 20000}


class FakeICM42688(FakeMPU):
    FIFO_REG = FIFO_DATA

    def __init__(self, addr=0x68):
        FakeMPU.__init__(self, who_am_i=WHO_ICM42688, addr=addr, fifo_size=2048)
        self.bank1 = bytearray(128)

    def _power_on(self):
        regs = self.regs
        for i in range(len(regs)):
            regs[i] = 0
        regs[WHO_AM_I] = WHO_ICM42688
        regs[TMST_CONFIG] = 0x23
        self.bank = 0
        self._head = 0
        self.fifo_count = 0
        self._loss_pending = False

    def sample_rate_hz(self):
        return 1e6 / self.sample_period_us()

    def sample_period_us(self):
        return _ODR_US.get(self.regs[GYRO_CONFIG0] & 0x0F, 1000)

    def _take_sample(self):
        if self.regs[PWR_MGMT0] & 0x0F != 0x0F or self._unpowered_until >= 0:
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
        self.last = s
        self.samples_taken += 1
        if self.regs[FIFO_CONFIG] & 0xC0 != 0x40 or self.regs[FIFO_CONFIG1] & 0x03 != 0x03:
            return
        tmst = self._timestamp(self.time_us - self._us) & 0xFFFF  # this ODR tick's
        self._fifo_push(0x68)
        for v in s:
            v &= 0xFFFF
            self._fifo_push(v >> 8)
            self._fifo_push(v & 0xFF)
        self._fifo_push(self.temp_lsb & 0xFF)
        self._fifo_push(tmst >> 8)
        self._fifo_push(tmst & 0xFF)

    def _timestamp(self, us):
        """The timestamp counter at emulated time ``us``, in TMST_RES units."""
        return us >> 4 if self.regs[TMST_CONFIG] & TMST_RES_16US else us

    def lose_sample(self):
        """This sample period's sample is not delivered: a gap in the record
        timestamps, no flag (module doc)."""
        self.samples_lost += 1

    def _fifo_push(self, byte):
        size = self.fifo_size
        if self.fifo_count == size:  # full: the oldest byte goes
            self._head = (self._head + 1) % size
            self.fifo_count -= 1
            self.regs[INT_STATUS] |= FIFO_FULL
        self._fifo[(self._head + self.fifo_count) % size] = byte
        self.fifo_count += 1

    def _fifo_pop(self):
        if self.fifo_count == 0:
            self.underruns += 1
            return 0xFF
        b = self._fifo[self._head]
        self._head = (self._head + 1) % self.fifo_size
        self.fifo_count -= 1
        return b

    def _read_reg(self, reg):
        if reg == REG_BANK_SEL:
            return self.bank
        if self.bank:
            return self.bank1[reg & 0x7F] if self.bank == 1 else 0
        if reg == FIFO_DATA:
            return self._fifo_pop()
        if reg == FIFO_COUNTH:
            return self.fifo_count >> 8
        if reg == FIFO_COUNTL:
            return self.fifo_count & 0xFF
        value = self.regs[reg & 0x7F]
        if reg == INT_STATUS:
            self.regs[INT_STATUS] = 0
        return value

    def _write_reg(self, reg, value):
        if reg == REG_BANK_SEL:
            self.bank = value & 0x07
            return
        if self.bank:
            if self.bank == 1 and not TMSTVAL0 <= reg <= TMSTVAL0 + 2:
                self.bank1[reg & 0x7F] = value
            return
        if reg in (WHO_AM_I, INT_STATUS, FIFO_COUNTH, FIFO_COUNTL, FIFO_DATA):
            return  # read-only
        if reg == DEVICE_CONFIG and value & 0x01:
            self._power_on()
        elif reg == SIGNAL_PATH_RESET:
            if value & TMST_STROBE and self.regs[TMST_CONFIG] & TMST_TO_REGS:
                t = self._timestamp(self.time_us) & 0xFFFFF
                self.bank1[TMSTVAL0] = t & 0xFF
                self.bank1[TMSTVAL0 + 1] = (t >> 8) & 0xFF
                self.bank1[TMSTVAL0 + 2] = t >> 16
            if value & 0x02:
                self._head = 0
                self.fifo_count = 0
        elif reg == PWR_MGMT0:
            if self.regs[PWR_MGMT0] & 0x0F != 0x0F and value & 0x0F == 0x0F:
                self._us = 0  # sensors on: the sample clock starts again
            self.regs[PWR_MGMT0] = value
        else:
            self.regs[reg & 0x7F] = value
