"""ICM-42688-P driver (TDK InvenSense): the MPU6050 interface on a current part.

The MPU-6050 is end of life; the ICM-42688-P is in production, has a 2 KiB
FIFO, lower gyro noise, and the same I2C addresses (0x68 / 0x69 by AD0/SDO).
``detect(i2c)`` reads WHO_AM_I (0x75) and returns the driver for the chip that
answers: 0x47 is an ICM-42688-P, anything else goes to the MPU-6050 family's
driver (which reports a missing or unknown chip itself).

Register values (bank 0) from the datasheet DS-000347 rev 1.2 as transcribed
by open-source drivers (e.g. x-io's ``IcmRegisters.h`` by S. Madgwick):

==================  =====  ==============================================
DEVICE_CONFIG       0x11   bit 0 SOFT_RESET_CONFIG
FIFO_CONFIG         0x16   [7:6] FIFO_MODE: 00 bypass, 01 stream-to-FIFO
INT_STATUS          0x2D   bit 1 FIFO_FULL_INT (cleared on read)
FIFO_COUNTH/L       0x2E   bytes in the FIFO, big-endian (INTF_CONFIG0 default)
FIFO_DATA           0x30   a burst read keeps popping the FIFO
SIGNAL_PATH_RESET   0x4B   bit 1 FIFO_FLUSH
PWR_MGMT0           0x4E   [3:2] GYRO_MODE, [1:0] ACCEL_MODE: 11 low noise;
                           0 (both off) after power-on
GYRO_CONFIG0        0x4F   [7:5] FS_SEL (0 = ±2000 °/s), [3:0] ODR
ACCEL_CONFIG0       0x50   [7:5] FS_SEL (1 = ±8 g), [3:0] ODR
TMST_CONFIG         0x54   bit 0 TMST_EN, 2 TMST_DELTA_EN (0: absolute),
                           3 TMST_RES (0: 1 µs, 1: 16 µs), 4 TMST_TO_REGS_EN;
                           power-on 0x23
REG_BANK_SEL        0x76   register bank (bank 1: TMSTVAL0..2 at 0x62..0x64,
                           the counter latched by SIGNAL_PATH_RESET bit 2,
                           TMST_STROBE)
FIFO_CONFIG1        0x5F   bit 0 ACCEL_EN, 1 GYRO_EN, 2 TEMP_EN
WHO_AM_I            0x75   0x47
==================  =====  ==============================================

ODR codes: 0x07 200 Hz, 0x08 100 Hz, 0x09 50 Hz. With accel, gyro and
temperature enabled each FIFO record is "packet 3", 16 bytes: header (0x68:
bit 6 accel, bit 5 gyro, bits 3:2 timestamp; bit 7 set = FIFO empty),
accel x y z, gyro x y z (big-endian int16), temperature (int8), timestamp
(u16: the chip's µs counter at the sample's ODR tick, absolute, 16 µs units with
TMST_RES set, so it wraps after 1.05 s). Sensitivity as the MPU family's:
4096 LSB/g at ±8 g, 16.4 LSB/(°/s) at ±2000 °/s.

Steps of ``read()`` as in mpu6050.py: INT_STATUS and FIFO_COUNT; FIFO full
-> flush and report ``overflow``; the whole records in one burst; a record
whose header is not an accel+gyro packet means the stream lost alignment ->
flush (``overflow``), never a misread sample. A sample the chip did not deliver
(the simulator's lost CSV rows; on a real chip e.g. a sensor glitch) is a step of
two periods or more between consecutive record timestamps: the FIFO is kept, and
``gaps`` / ``gap_at`` / ``gap_len`` say before which records of this read how many
sample periods went by without a sample (``missed`` in all), so the firmware
places the gap exactly (app.Device._read_sensor). The previous read's last
timestamp is kept, so a gap across two reads is seen too. A FIFO flush (start(),
an overflow) latches the timestamp counter (TMST_STROBE, read from TMSTVAL): the
first record after it is the first sample after the flush unless it is a period
or more later, so sample periods lost after a flush are placed too (the firmware
counts those up to the flush from its sample clock). A gap
longer than the timestamp's 1.05-s wrap cannot be told from a shorter one; the
firmware's IMU stall threshold (0.2 s without a sample: re-initialise) comes
first. Bus errors, retries, the stuck
bus (``recover_bus``) and ``reinit`` are the base class's.
"""

from mpu6050 import MPU6050, IMUError

from sacrum_protocol import IMU_ICM42688, IMU_NONE

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_DEVICE_CONFIG = const(0x11)
_FIFO_CONFIG = const(0x16)
_INT_STATUS = const(0x2D)
_FIFO_COUNTH = const(0x2E)
_FIFO_DATA = const(0x30)
_SIGNAL_PATH_RESET = const(0x4B)
_REG_BANK_SEL = const(0x76)
_TMSTVAL0 = const(0x62)  # bank 1
_PWR_MGMT0 = const(0x4E)
_GYRO_CONFIG0 = const(0x4F)
_ACCEL_CONFIG0 = const(0x50)
_TMST_CONFIG = const(0x54)
_FIFO_CONFIG1 = const(0x5F)
_WHO_AM_I = const(0x75)

WHO_ICM42688 = const(0x47)
_FIFO_FULL = const(0x02)
_FIFO_FLUSH = const(0x02)
_TMST_STROBE = const(0x04)
_STREAM = const(0x40)
_FIFO_ACCEL_GYRO_TEMP = const(0x07)
_LOW_NOISE = const(0x0F)
_TMST_16US = const(0x3B)  # TMST_EN, TMST_FSYNC_EN (power-on), absolute, 16 µs, to regs
_TMST_UNIT_US = const(16)

_HEADER_MASK = const(0xE0)  # empty, accel, gyro
_HEADER_AG = const(0x60)
_RECORD = const(16)
_FIFO_BYTES = const(2048)
_MAX_RECORDS = const(64)  # per burst (the app reads at most 40)

_ODR = {50: 0x09, 100: 0x08, 200: 0x07}
_ACCEL_FS = {16: 0, 8: 1, 4: 2, 2: 3}
_GYRO_FS = {2000: (0, 16.4), 1000: (1, 32.8), 500: (2, 65.5), 250: (3, 131.0)}
_G_MPS2 = 9.80665
_RAD_PER_DEG = 0.017453292519943295


def detect(i2c, addr=0x68, recovery=None):
    """The driver for the IMU at ``addr``, chosen by its WHO_AM_I."""
    b = bytearray(1)
    try:
        i2c.readfrom_mem_into(addr, _WHO_AM_I, b)
    except OSError:
        b[0] = 0
    cls = ICM42688 if b[0] == WHO_ICM42688 else MPU6050
    return cls(i2c, addr, recovery)


class ICM42688(MPU6050):
    """One ICM-42688-P on an I2C bus, sampled through its FIFO (MPU6050's interface)."""

    def __init__(self, i2c, addr=0x68, recovery=None):
        super().__init__(i2c, addr, recovery)
        self._buf = bytearray(_MAX_RECORDS * _RECORD)
        mv = memoryview(self._buf)
        self._views = [mv[: n * _RECORD] for n in range(_MAX_RECORDS + 1)]
        self.fifo_size = _FIFO_BYTES
        self.gaps = 0  # gaps in the last read: before record gap_at[i], gap_len[i] periods
        self.gap_at = bytearray(_MAX_RECORDS)  # at most one gap before each record
        self.gap_len = [0] * _MAX_RECORDS
        self.missed = 0  # sample periods without a sample in the last read, in all
        self._tmst = -1  # timestamp of the last record read, or of a flush (-1: none)
        self._flushed = False  # _tmst is the flush's: the next record is due after it
        self.clock_restarted = True  # configure() restarted the sensors' sample clock
        self._last_rec = -1  # timestamp of the last record read (kept through a flush)
        self._since_rec = -1  # from it to the last flush, timestamp units mod 2^16
        self._b3 = bytearray(3)
        self._period_t = 0  # the sample period in timestamp units, x 2 (rounding)

    def probe(self):
        b = self._b1
        if not self._read_into(_WHO_AM_I, b):
            raise IMUError("no IMU answers at I2C address 0x%02x; check the wiring, power "
                           "and the AD0/SDO pin (low: 0x68, high: 0x69)" % self._addr)
        if b[0] != WHO_ICM42688:
            raise IMUError("the device at 0x%02x answers WHO_AM_I with 0x%02x, not an "
                           "ICM-42688-P (0x47)" % (self._addr, b[0]))
        self.who_am_i = b[0]
        self.imu_type = IMU_ICM42688
        self.fifo_size = _FIFO_BYTES
        return IMU_ICM42688

    def configure(self, rate_hz, accel_range_g=8, gyro_range_dps=2000):
        """Sensors on (low noise), rate and ranges; leaves the FIFO stopped."""
        odr = _ODR.get(rate_hz)
        afs = _ACCEL_FS.get(accel_range_g)
        gyro = _GYRO_FS.get(gyro_range_dps)
        if odr is None or afs is None or gyro is None:
            raise ValueError("ICM-42688-P: rate %r Hz, accel %r g or gyro %r deg/s not "
                             "supported" % (rate_hz, accel_range_g, gyro_range_dps))
        if self.imu_type == IMU_NONE:
            self.probe()
        fs_sel, lsb_per_dps = gyro
        # sensors already on at this rate (a re-init after a stall, not after a power
        # glitch, which turns them off): their sample clock runs on at its phase
        b = self._b1
        self.clock_restarted = not (
            self._read_into(_PWR_MGMT0, b) and b[0] & 0x0F == _LOW_NOISE
            and self._read_into(_GYRO_CONFIG0, b) and b[0] == (fs_sel << 5) | odr)
        if self.clock_restarted:
            self._last_rec = -1  # a new timestamp counter phase: nothing to compare with
        self.stop()
        self._set(_GYRO_CONFIG0, (fs_sel << 5) | odr)
        self._set(_ACCEL_CONFIG0, (afs << 5) | odr)
        self._set(_TMST_CONFIG, _TMST_16US)
        self._set(_PWR_MGMT0, _LOW_NOISE)
        self.rate_hz = rate_hz
        self._period_t = 2_000_000 // (rate_hz * _TMST_UNIT_US)
        self._accel_range_g = accel_range_g
        self._gyro_range_dps = gyro_range_dps
        self.acc_mps2_per_lsb = _G_MPS2 * accel_range_g / 32768
        self.gyr_radps_per_lsb = _RAD_PER_DEG / lsb_per_dps

    def _fifo_reset(self):
        """Flush the FIFO and latch the timestamp counter then (the reference for the
        next record); False if the bus failed."""
        self._tmst = -1
        b = self._b3
        ok = (self._write(_REG_BANK_SEL, 0)  # bank 0, also after a failed reset
              and self._write(_SIGNAL_PATH_RESET, _FIFO_FLUSH | _TMST_STROBE)
              and self._read_into(_INT_STATUS, self._b1)
              and self._write(_REG_BANK_SEL, 1))
        if ok:
            got = self._read_into(_TMSTVAL0, b)
            ok = self._write(_REG_BANK_SEL, 0) and got
            if ok:
                t = (b[1] << 8) | b[0]
                self._tmst = t
                self._flushed = True
                self._since_rec = (t - self._last_rec) & 0xFFFF if self._last_rec >= 0 else -1
        return ok

    def flush_lost(self, estimate):
        """Samples the last FIFO flush took: those the chip took after the last record
        read, up to the flush, from the flush's latched timestamp (exact, where a sample
        clock's model may be a period short); the 1.05-s timestamp wrap resolved by
        ``estimate``, the sample clock's count of them. ``estimate`` without a record
        since the sensors started."""
        d = self._since_rec
        half = self._period_t
        if d < 0 or not half:
            return estimate
        m = ((estimate * half >> 1) - d + 32768) >> 16
        if m < 0:
            m = 0
        return ((d + (m << 16)) << 1) // half

    def start(self):
        if self.rate_hz == 0:
            raise IMUError("ICM42688.start() before configure(): the sensors are off")
        self._set(_FIFO_CONFIG1, _FIFO_ACCEL_GYRO_TEMP)
        self._set(_FIFO_CONFIG, _STREAM)
        if not self._fifo_reset():
            self.fault = True
            raise IMUError("I2C error while flushing the IMU FIFO at 0x%02x" % self._addr)
        self._resync = False
        self.overflow = False
        self.clipped = False
        self.fault = False

    def stop(self):
        self._set(_FIFO_CONFIG, 0)  # bypass: nothing is queued

    def read(self, raw, max_samples):
        """As MPU6050.read: whole packet-3 records into ``raw``; never raises."""
        self.overflow = False
        self.clipped = False
        self.gaps = 0
        self.missed = 0
        if self._resync:
            return self._discard()
        b = self._b1
        c = self._count
        if not (self._read_into(_INT_STATUS, b) and self._read_into(_FIFO_COUNTH, c)):
            self.fault = True
            return 0
        count = (c[0] << 8) | c[1]
        if b[0] & _FIFO_FULL or count >= _FIFO_BYTES:
            return self._discard()
        n = count // _RECORD
        if n > max_samples:
            n = max_samples
        if n > len(raw) // 6:
            n = len(raw) // 6
        if n > _MAX_RECORDS:
            n = _MAX_RECORDS
        if n <= 0:
            self.fault = False
            return 0
        try:
            self._i2c.readfrom_mem_into(self._addr, _FIFO_DATA, self._views[n])
        except OSError as e:
            self._failed(e)
            return self._discard()
        self.fault = False
        buf = self._buf
        clipped = False
        k = 0
        last = self._tmst
        half = self._period_t
        flushed = self._flushed
        gaps = 0
        missed = 0
        for i in range(n):
            j = i * _RECORD
            if buf[j] & _HEADER_MASK != _HEADER_AG:
                self.gaps = 0
                self.missed = 0
                return self._discard()  # not an accel+gyro record: alignment lost
            t = (buf[j + 14] << 8) | buf[j + 15]
            if last >= 0 and half:
                if flushed:
                    # the first sample after the flush is due within a period of it
                    # (0, 1]: the periods beyond, rounded up, less that one; less the
                    # unit two truncated timestamps can add (a sample one period after
                    # the flush would read as two)
                    d = (t - last) & 0xFFFF
                    p = ((((d - 1 if d else 0) << 1) + half - 1) // half) - 1
                    flushed = False
                else:
                    # periods since the previous record, to the nearest, less the one
                    p = (((((t - last) & 0xFFFF) << 1) + (half >> 1)) // half) - 1
                if p > 0:
                    missed += p
                    self.gap_at[gaps] = i
                    self.gap_len[gaps] = p
                    gaps += 1
            last = t
            j += 1
            for _ in range(6):
                v = (buf[j] << 8) | buf[j + 1]
                if v >= 0x8000:
                    v -= 0x10000
                if v >= 32767 or v <= -32767:
                    clipped = True
                raw[k] = v
                k += 1
                j += 2
        self._tmst = last
        self._last_rec = last
        self._flushed = flushed
        self.gaps = gaps
        self.missed = missed
        self.clipped = clipped
        return n
