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
FIFO_CONFIG1        0x5F   bit 0 ACCEL_EN, 1 GYRO_EN, 2 TEMP_EN
WHO_AM_I            0x75   0x47
==================  =====  ==============================================

ODR codes: 0x07 200 Hz, 0x08 100 Hz, 0x09 50 Hz. With accel, gyro and
temperature enabled each FIFO record is "packet 3", 16 bytes: header (0x68:
bit 6 accel, bit 5 gyro, bits 3:2 timestamp; bit 7 set = FIFO empty),
accel x y z, gyro x y z (big-endian int16), temperature (int8), timestamp
(u16). Sensitivity as the MPU family's: 4096 LSB/g at ±8 g, 16.4 LSB/(°/s)
at ±2000 °/s.

Steps of ``read()`` as in mpu6050.py: INT_STATUS and FIFO_COUNT; FIFO full
-> flush and report ``overflow``; the whole records in one burst; a record
whose header is not an accel+gyro packet means the stream lost alignment ->
flush (``overflow``), never a misread sample. Bus errors, retries, the stuck
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
_PWR_MGMT0 = const(0x4E)
_GYRO_CONFIG0 = const(0x4F)
_ACCEL_CONFIG0 = const(0x50)
_FIFO_CONFIG1 = const(0x5F)
_WHO_AM_I = const(0x75)

WHO_ICM42688 = const(0x47)
_FIFO_FULL = const(0x02)
_FIFO_FLUSH = const(0x02)
_STREAM = const(0x40)
_FIFO_ACCEL_GYRO_TEMP = const(0x07)
_LOW_NOISE = const(0x0F)
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
        self.stop()
        self._set(_GYRO_CONFIG0, (fs_sel << 5) | odr)
        self._set(_ACCEL_CONFIG0, (afs << 5) | odr)
        self._set(_PWR_MGMT0, _LOW_NOISE)
        self.rate_hz = rate_hz
        self._accel_range_g = accel_range_g
        self._gyro_range_dps = gyro_range_dps
        self.acc_mps2_per_lsb = _G_MPS2 * accel_range_g / 32768
        self.gyr_radps_per_lsb = _RAD_PER_DEG / lsb_per_dps

    def _fifo_reset(self):
        return (self._write(_SIGNAL_PATH_RESET, _FIFO_FLUSH)
                and self._read_into(_INT_STATUS, self._b1))

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
        for i in range(n):
            j = i * _RECORD
            if buf[j] & _HEADER_MASK != _HEADER_AG:
                return self._discard()  # not an accel+gyro record: alignment lost
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
        self.clipped = clipped
        return n
