"""MPU-6050 / MPU-6500 / MPU-9250 driver: configuration and hardware-FIFO sampling over I2C.

The sensor samples on its own clock into its FIFO; the sensor loop drains the
FIFO with ``read()`` every few tens of milliseconds. Each FIFO record is 12
bytes, accelerometer then gyroscope (the order of their registers; the
temperature is not queued), every axis a big-endian int16::

    ax ay az gx gy gz

Steps of ``read()``:

1. Read INT_STATUS (clears it) and FIFO_COUNT.
2. If the FIFO overflowed (INT_STATUS.FIFO_OFLOW_INT, or the count at the FIFO
   size), reset the FIFO and return 0 with ``overflow`` set: the chip has
   overwritten its oldest bytes, so the record boundaries are lost and none
   of the queued data can be trusted.
3. Read the whole records queued (at most ``max_samples``) in one burst from
   FIFO_R_W into a preallocated buffer; a record the chip is still writing
   stays in the FIFO for the next call.
4. Decode into the caller's ``array('h')`` and note clipping.

Bus errors: every I2C transaction is tried up to 4 times (1 + 3 retries);
each OSError counts in ``bus_errors`` and its errno is kept in ``last_errno``.
A timeout (ETIMEDOUT: SDA held low, the bus is stuck) is not retried -- each
attempt would cost the whole I2C timeout -- and ``recover_bus()`` (nine SCL
pulses and a STOP, firmware/i2cbus.py) is the cure. Retried register reads are invisible
to the caller. If all attempts fail, ``read()`` returns 0 and sets ``fault``
(it never raises); the samples stay queued in the chip and the next good
``read()`` returns them and clears ``fault``. A failed *FIFO burst* is not
retried: the chip may have clocked out part of it, so where the next record
starts is unknown. The FIFO is reset instead (``overflow`` set, as samples
were lost), which costs at most one FIFO's worth of samples but never
delivers a misaligned one (an accelerometer value decoded as a gyro value).

Assumptions (datasheet values; check them before adding a chip):

- FIFO size: 1024 bytes on the MPU-6050 (WHO_AM_I 0x68); 512 bytes on the
  MPU-6500 family (0x70 MPU-6500, 0x71 MPU-9250, 0x73 MPU-9255) and on any
  other chip. Some 6500-family parts have FIFO_SIZE bits in ACCEL_CONFIG2
  [7:6] that select up to 4 KB; this driver writes them as 0 (the default)
  and treats the FIFO as 512 bytes, which can only make it reset early.
  ``read()`` must run at least every fifo_size / 12 samples: 42 samples,
  i.e. 210 ms at 200 Hz (85 samples, 425 ms, on the MPU-6050).
- Sample rate = 1 kHz / (1 + SMPLRT_DIV), valid because the DLPF is on
  (DLPF_CFG 2..4). Bandwidth per rate (gyro / accel on the MPU-6050; the
  6500 family is within a few Hz): 50 Hz -> 20/21 Hz, 100 Hz -> 42/44 Hz,
  200 Hz -> 98/94 Hz, each below the Nyquist frequency.
- FIFO overflow is reported in INT_STATUS only when INT_ENABLE.FIFO_OFLOW_EN
  is set, so ``start()`` sets it (the INT pin is not used). A full FIFO
  (count >= fifo_size) is treated as an overflow too.
- Gyro sensitivity is the datasheet's nominal 131 / 65.5 / 32.8 / 16.4
  LSB/(deg/s); the accelerometer's is 32768 / range_g LSB/g.

The bus object is a ``machine.I2C`` (or anything with readfrom_mem_into,
writeto_mem, readfrom_mem and scan): tests pass tests/firmware/fake_mpu.py.
"""

from sacrum_protocol import IMU_MPU6050, IMU_MPU6500, IMU_MPU9250, IMU_NONE, IMU_OTHER

try:
    from micropython import const
except ImportError:  # CPython (host-side tests)

    def const(x):
        return x


# --- register map (MPU-6000/6050 register map rev 4.2; MPU-6500 rev 2.1) -----
_SMPLRT_DIV = const(0x19)
_CONFIG = const(0x1A)  # [6] FIFO_MODE (6500; 0 = overwrite oldest) [2:0] DLPF_CFG
_GYRO_CONFIG = const(0x1B)  # [4:3] FS_SEL; [1:0] FCHOICE_B (6500; 0 = DLPF on)
_ACCEL_CONFIG = const(0x1C)  # [4:3] AFS_SEL
_ACCEL_CONFIG2 = const(0x1D)  # 6500 family: [3] ACCEL_FCHOICE_B, [2:0] A_DLPF_CFG
_FIFO_EN = const(0x23)
_INT_ENABLE = const(0x38)
_INT_STATUS = const(0x3A)
_USER_CTRL = const(0x6A)
_PWR_MGMT_1 = const(0x6B)
_PWR_MGMT_2 = const(0x6C)
_FIFO_COUNTH = const(0x72)  # FIFO_COUNTL follows; read both in one burst
_FIFO_R_W = const(0x74)
_WHO_AM_I = const(0x75)

# --- bits --------------------------------------------------------------------
_FIFO_OFLOW = const(0x10)  # INT_STATUS.FIFO_OFLOW_INT, INT_ENABLE.FIFO_OFLOW_EN
_USER_FIFO_EN = const(0x40)
_USER_FIFO_RESET = const(0x04)  # acts while USER_CTRL.FIFO_EN is 0; self-clearing
_FIFO_ACCEL_GYRO = const(0x78)  # XG, YG, ZG, ACCEL (not TEMP)
_PWR_AWAKE_PLL = const(0x01)  # SLEEP 0; clock: PLL on X gyro (6050) / auto (6500)
_COUNT_MASK = const(0x1FFF)

_WHO_MPU6050 = const(0x68)  # also MPU-6000 / MPU-9150
_WHO_MPU6500 = const(0x70)
_WHO_MPU9250 = const(0x71)
_WHO_MPU9255 = const(0x73)

_SAMPLE_BYTES = const(12)
_MAX_SAMPLES = const(85)  # the largest FIFO assumed (1024 bytes) in whole records
_ATTEMPTS = const(4)  # 1 try + 3 retries per I2C transaction
_ETIMEDOUT = const(110)  # errno.ETIMEDOUT (MicroPython's value on every port)

_G_MPS2 = 9.80665  # standard gravity
_RAD_PER_DEG = 0.017453292519943295

# rate_hz: (SMPLRT_DIV, DLPF_CFG)
_RATES = {50: (19, 4), 100: (9, 3), 200: (4, 2)}
# accel_range_g: AFS_SEL
_ACCEL_RANGES = {2: 0, 4: 1, 8: 2, 16: 3}
# gyro_range_dps: (FS_SEL, sensitivity LSB per deg/s)
_GYRO_RANGES = {250: (0, 131.0), 500: (1, 65.5), 1000: (2, 32.8), 2000: (3, 16.4)}


class IMUError(Exception):
    """The IMU is missing, is not an IMU, or cannot be configured over I2C."""


class MPU6050:
    """One MPU-6050/6500/9250 on an I2C bus, sampled through its FIFO.

    Use: ``probe()``, ``configure(rate_hz, ...)``, ``start()``, then
    ``read(raw, max_samples)`` in the sensor loop.

    Attributes after ``probe()``: ``imu_type`` (sacrum_protocol IMU_*),
    ``who_am_i``, ``fifo_size`` (bytes). After ``configure()``: ``rate_hz``,
    ``acc_mps2_per_lsb``, ``gyr_radps_per_lsb``. Status of the last
    ``read()``: ``overflow`` (samples were lost: FIFO overflow, or FIFO reset
    after a failed burst), ``clipped`` (a value at the end of the i16 range:
    the sensor saturated), ``fault`` (the bus failed after all retries).
    Cumulative counts: ``bus_errors`` (failed I2C attempts), ``overflows``
    (FIFO resets that discarded samples).
    """

    def __init__(self, i2c, addr=0x68, recovery=None):
        self._i2c = i2c
        self._addr = addr
        self._recovery = recovery  # i2cbus.BusRecovery, or None
        self._b1 = bytearray(1)
        self._count = bytearray(2)
        self._buf = bytearray(_MAX_SAMPLES * _SAMPLE_BYTES)
        mv = memoryview(self._buf)
        # One view per record count, made once, so a burst of n records reads
        # into self._views[n] without allocating a slice in the sensor loop.
        self._views = [mv[: n * _SAMPLE_BYTES] for n in range(_MAX_SAMPLES + 1)]
        self.imu_type = IMU_NONE
        self.who_am_i = -1
        self.fifo_size = 512
        self.rate_hz = 0
        self._accel_range_g = 8
        self._gyro_range_dps = 2000
        self.acc_mps2_per_lsb = 0.0
        self.gyr_radps_per_lsb = 0.0
        self.overflow = False
        self.clipped = False
        self.fault = False
        self.bus_errors = 0
        self.last_errno = 0  # errno of the last failed I2C attempt
        self.overflows = 0
        self._resync = False  # the FIFO must be reset before it can be read again

    # --- bus access: every transaction retried, failures counted ------------------
    def _failed(self, e):
        """Count a failed attempt; True if retrying can help (not a stuck bus)."""
        self.bus_errors += 1
        self.last_errno = e.args[0] if e.args else 0
        return self.last_errno != _ETIMEDOUT

    def _read_into(self, reg, buf):
        for _ in range(_ATTEMPTS):
            try:
                self._i2c.readfrom_mem_into(self._addr, reg, buf)
                return True
            except OSError as e:
                if not self._failed(e):
                    break
        return False

    def _write(self, reg, value):
        b = self._b1
        b[0] = value
        for _ in range(_ATTEMPTS):
            try:
                self._i2c.writeto_mem(self._addr, reg, b)
                return True
            except OSError as e:
                if not self._failed(e):
                    break
        return False

    @property
    def bus_stuck(self):
        """The last failure was a timeout: SDA is probably held low."""
        return self.fault and self.last_errno == _ETIMEDOUT

    def recover_bus(self):
        """Clock the stuck slave free and rebuild the bus; True if the bus is free."""
        if self._recovery is None:
            return False
        bus = self._recovery.recover()
        if bus is None:
            return False
        self._i2c = bus
        self.last_errno = 0
        return True

    def reinit(self):
        """Probe, configure at the current rate and start again (after a stall or a
        power glitch: the chip wakes asleep with its FIFO off). Raises IMUError."""
        rate = self.rate_hz
        self.probe()
        self.configure(rate, self._accel_range_g, self._gyro_range_dps)
        self.start()

    def _set(self, reg, value):
        """Write a configuration register or raise IMUError."""
        if not self._write(reg, value):
            self.fault = True
            raise IMUError(
                "I2C write of register 0x%02x of the IMU at 0x%02x failed %d times; "
                "check its wiring and power" % (reg, self._addr, _ATTEMPTS)
            )

    def _fifo_reset(self):
        """Empty the FIFO and restart it aligned on a record; False if the bus failed."""
        return (
            self._write(_USER_CTRL, _USER_FIFO_RESET)  # FIFO_EN 0 + FIFO_RESET
            and self._write(_USER_CTRL, _USER_FIFO_EN)
            and self._read_into(_INT_STATUS, self._b1)  # clear a stale FIFO_OFLOW
        )

    def _discard(self):
        """Reset the FIFO, whose contents are lost or misaligned; read() returns this."""
        if not self._resync:
            self.overflows += 1
        self.overflow = True
        self._resync = not self._fifo_reset()
        self.fault = self._resync
        return 0

    # --- setup (may allocate and raise) -------------------------------------------
    def probe(self):
        """Identify the chip from WHO_AM_I; return its sacrum_protocol IMU_* code."""
        b = self._b1
        if not self._read_into(_WHO_AM_I, b):
            try:
                found = ", ".join("0x%02x" % a for a in self._i2c.scan()) or "none"
            except OSError:
                found = "scan failed too"
            raise IMUError(
                "no IMU answers at I2C address 0x%02x (devices on the bus: %s); check "
                "the wiring, power and the AD0 pin (low: 0x68, high: 0x69)" % (self._addr, found)
            )
        who = b[0]
        if who in (0x00, 0xFF):
            raise IMUError(
                "the device at I2C address 0x%02x answers WHO_AM_I with 0x%02x: not an "
                "MPU-6050/6500/9250, or a stuck bus" % (self._addr, who)
            )
        if who == _WHO_MPU6050:
            imu, size = IMU_MPU6050, 1024
        elif who == _WHO_MPU6500:
            imu, size = IMU_MPU6500, 512
        elif who in (_WHO_MPU9250, _WHO_MPU9255):
            imu, size = IMU_MPU9250, 512
        else:
            imu, size = IMU_OTHER, 512
        self.who_am_i = who
        self.imu_type = imu
        self.fifo_size = size
        return imu

    def configure(self, rate_hz, accel_range_g=8, gyro_range_dps=2000):
        """Wake the chip and set rate, filters and ranges; leaves the FIFO stopped.

        rate_hz: 50, 100 or 200; accel_range_g: 2, 4, 8 or 16;
        gyro_range_dps: 250, 500, 1000 or 2000. Call ``start()`` afterwards.
        """
        rate = _RATES.get(rate_hz)
        afs = _ACCEL_RANGES.get(accel_range_g)
        gyro = _GYRO_RANGES.get(gyro_range_dps)
        if rate is None:
            raise ValueError("IMU rate %r Hz is not one of 50, 100, 200" % (rate_hz,))
        if afs is None:
            raise ValueError(
                "accelerometer range %r g is not one of 2, 4, 8, 16" % (accel_range_g,)
            )
        if gyro is None:
            raise ValueError(
                "gyro range %r deg/s is not one of 250, 500, 1000, 2000" % (gyro_range_dps,)
            )
        if self.imu_type == IMU_NONE:
            self.probe()
        div, dlpf = rate
        fs_sel, lsb_per_dps = gyro
        self._set(_PWR_MGMT_1, _PWR_AWAKE_PLL)
        self._set(_PWR_MGMT_2, 0)  # all six axes on
        self.stop()  # samples at the old rate must not mix with the new ones
        self._set(_CONFIG, dlpf)  # FIFO_MODE 0, no FSYNC
        self._set(_SMPLRT_DIV, div)
        self._set(_GYRO_CONFIG, fs_sel << 3)
        self._set(_ACCEL_CONFIG, afs << 3)
        if self.imu_type != IMU_MPU6050:  # on the 6050 0x1D is not this register
            self._set(_ACCEL_CONFIG2, dlpf)  # FIFO_SIZE 0, ACCEL_FCHOICE_B 0
        self.rate_hz = rate_hz
        self._accel_range_g = accel_range_g
        self._gyro_range_dps = gyro_range_dps
        self.acc_mps2_per_lsb = _G_MPS2 * accel_range_g / 32768
        self.gyr_radps_per_lsb = _RAD_PER_DEG / lsb_per_dps

    def start(self):
        """Empty the FIFO and start queuing accel + gyro records."""
        if self.rate_hz == 0:
            raise IMUError("MPU6050.start() before configure(): the IMU is still asleep")
        self._set(_INT_ENABLE, _FIFO_OFLOW)
        self._set(_FIFO_EN, _FIFO_ACCEL_GYRO)
        if not self._fifo_reset():
            self.fault = True
            raise IMUError("I2C error while resetting the IMU FIFO at 0x%02x" % self._addr)
        self._resync = False
        self.overflow = False
        self.clipped = False
        self.fault = False

    def stop(self):
        """Stop queuing records (the sensor keeps sampling)."""
        self._set(_FIFO_EN, 0)
        self._set(_USER_CTRL, 0)

    # --- sensor loop: no allocation, no exceptions reach the caller ---------------
    def read(self, raw, max_samples):
        """Move up to ``max_samples`` whole FIFO records into ``raw``; return the count.

        raw: array('h') of at least 6 * max_samples values, filled with
        ax ay az gx gy gz per sample in sensor LSB. Returns 0 (never raises)
        on an overflow or a bus fault; see ``overflow`` and ``fault``.
        """
        self.overflow = False
        self.clipped = False
        if self._resync:
            return self._discard()
        b = self._b1
        c = self._count
        if not (self._read_into(_INT_STATUS, b) and self._read_into(_FIFO_COUNTH, c)):
            self.fault = True
            return 0
        count = ((c[0] << 8) | c[1]) & _COUNT_MASK
        if b[0] & _FIFO_OFLOW or count >= self.fifo_size:
            return self._discard()
        n = count // _SAMPLE_BYTES
        if n > max_samples:
            n = max_samples
        if n > len(raw) // 6:
            n = len(raw) // 6
        if n > _MAX_SAMPLES:
            n = _MAX_SAMPLES
        if n <= 0:
            self.fault = False
            return 0
        try:
            self._i2c.readfrom_mem_into(self._addr, _FIFO_R_W, self._views[n])
        except OSError:
            self.bus_errors += 1
            return self._discard()
        self.fault = False
        buf = self._buf
        clipped = False
        j = 0
        for k in range(n * 6):
            v = (buf[j] << 8) | buf[j + 1]
            if v >= 0x8000:
                v -= 0x10000
            if v >= 32767 or v <= -32767:
                clipped = True
            raw[k] = v
            j += 2
        self.clipped = clipped
        return n
