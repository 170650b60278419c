"""6-axis orientation filter with gyroscope-bias estimation (gyr + acc, no magnetometer).

Runs under MicroPython on the ESP32 and unchanged under CPython (the BROAD
benchmark and the tests use both). State lives in ``array('f')``, so it is
single precision as on the board.
"""

import math
from array import array

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# --- parameters (module constants; see the class docstring) -----------------
# Floats are plain names: const() of a float needs a recent MicroPython.
TAU_ACC_S = 3.0  # acc low-pass in the almost inertial frame (total delay)
REST_TAU_S = 0.5  # low-pass of gyr and acc for the rest detection
REST_MIN_S = 1.5  # stillness needed before at_rest is set
REST_GYR_TH_RADPS = math.radians(2.0)  # |gyr - its low-pass| below this is still
REST_ACC_TH_MPS2 = 0.5  # |acc - its low-pass| below this is still
BIAS_MAX_RADPS = math.radians(5.0)  # largest bias believed; a faster turn is motion
TAU_BIAS_REST_S = 9.0  # bias follows the low-passed gyr at rest
TAU_BIAS_MOTION_S = 100.0  # bias integrates the inclination correction in motion

_COUNT_MAX = const(1 << 29)  # sample counters stop here (stay small ints)

# Helpers write into preallocated arrays and return at most a float: the
# per-sample path makes no containers (4-element tuple unpacking would build
# a tuple in MicroPython, so quaternions are taken apart two at a time).


def _lowpass_into(f, k, x, y, z):
    """First-order low-pass step f += k (v - f); returns |v - f|² after it."""
    f[0] += k * (x - f[0])
    f[1] += k * (y - f[1])
    f[2] += k * (z - f[2])
    x -= f[0]
    y -= f[1]
    z -= f[2]
    return x * x + y * y + z * z


def _mul_into(out, a, b):
    """out = a ⊗ b normalized (Hamilton, w x y z); out may be a or b."""
    aw, ax = a[0], a[1]
    ay, az = a[2], a[3]
    bw, bx = b[0], b[1]
    by, bz = b[2], b[3]
    out[0] = aw * bw - ax * bx - ay * by - az * bz
    out[1] = aw * bx + ax * bw + ay * bz - az * by
    out[2] = aw * by - ax * bz + ay * bw + az * bx
    out[3] = aw * bz + ax * by - ay * bx + az * bw
    n = math.sqrt(out[0] * out[0] + out[1] * out[1] + out[2] * out[2] + out[3] * out[3])
    out[0] /= n
    out[1] /= n
    out[2] /= n
    out[3] /= n


def _rotate_into(out, q, sign, x, y, z):
    """out = q ⊗ v ⊗ q* (sign 1.0) or q* ⊗ v ⊗ q (sign -1.0) for v = (x, y, z)."""
    w = q[0]
    qx, qy, qz = sign * q[1], sign * q[2], sign * q[3]
    # v' = v + w t + u × t with u = (qx, qy, qz) and t = 2 u × v
    tx = 2.0 * (qy * z - qz * y)
    ty = 2.0 * (qz * x - qx * z)
    tz = 2.0 * (qx * y - qy * x)
    out[0] = x + w * tx + qy * tz - qz * ty
    out[1] = y + w * ty + qz * tx - qx * tz
    out[2] = z + w * tz + qx * ty - qy * tx


class Fusion:
    """Orientation of the sensor from gyroscope and accelerometer, VQF-style.

    A simplified real-time VQF (Laidig & Seel 2023) without magnetometer:
    the gyroscope is integrated into an *almost inertial* frame, the
    accelerometer is low-pass filtered in that frame (so the filter averages
    out linear acceleration without lagging behind rotation), and the
    inclination of the almost inertial frame is corrected to the filtered
    gravity direction. The gyroscope bias is estimated at rest and, slowly,
    during motion.

    Steps of :meth:`update` (the method body follows these numbers):

    1. Rest detection: gyr and acc are low-pass filtered (``REST_TAU_S``).
       The sensor is still while both deviate from their low-pass by less
       than ``REST_GYR_TH_RADPS`` / ``REST_ACC_TH_MPS2`` and the low-passed
       gyr is below ``BIAS_MAX_RADPS`` on every axis; ``at_rest`` is set after
       ``REST_MIN_S`` of stillness.
    2. Bias at rest: the bias follows the low-passed gyr with time constant
       ``TAU_BIAS_REST_S``. Until that many seconds of rest have been seen
       since start-up, it is the running mean instead (fast first estimate).
    3. Strapdown integration of the bias-corrected gyr:
       ``q_gyr = q_gyr ⊗ exp((gyr - bias) dt / 2)`` (sensor → almost inertial).
    4. The accelerometer is rotated into the almost inertial frame and
       low-pass filtered there (``TAU_ACC_S``; running mean during the first
       ``TAU_ACC_S`` seconds so the first estimate is immediate).
    5. Inclination correction: ``q_acc`` (almost inertial → earth) is updated
       by the smallest rotation that turns the filtered acc, seen in the
       earth frame, to +z. Output ``q = q_acc ⊗ q_gyr``.
    6. Bias in motion: the inclination correction of step 5 is the drift of
       the almost inertial frame; brought into the sensor frame and divided
       by ``TAU_BIAS_MOTION_S`` it is added to the bias (Mahony's integral
       term). Only the components perpendicular to gravity are observable,
       so the bias about the vertical is not changed by this step.
       The bias stays within ±``BIAS_MAX_RADPS``.

    Data required: angular rate ``gx gy gz`` in rad/s and specific force
    ``ax ay az`` in m/s² (gravity included, ``az ≈ +9.81`` with z up), both
    in the sensor frame (protocol/SPEC.md 1.1), sampled every ``period_s``.

    Outputs: ``q`` = ``q_sensor_to_earth`` (w x y z, earth z up, heading
    arbitrary: it is that of the first sample's minimal tilt and then drifts
    slowly); ``bias`` in rad/s; ``at_rest``.

    Initial state (after ``__init__`` and ``reset()``): ``q`` is identity
    until the first ``update``; the first update sets the inclination from
    that one accelerometer sample; ``bias`` is zero after ``__init__`` and
    kept by ``reset()`` (it belongs to the sensor, not the pose).

    Parameters (module constants; time constants in seconds):

    ==================== ======= ======================================
    ``TAU_ACC_S``         3.0 s   acc low-pass in the almost inertial frame
    ``REST_TAU_S``        0.5 s   low-pass for the rest detection
    ``REST_MIN_S``        1.5 s   stillness before ``at_rest``
    ``REST_GYR_TH_RADPS`` 2 °/s   gyr deviation threshold
    ``REST_ACC_TH_MPS2``  0.5     acc deviation threshold, m/s²
    ``BIAS_MAX_RADPS``    5 °/s   largest bias believed, rad/s
    ``TAU_BIAS_REST_S``   3.0 s   bias time constant at rest
    ``TAU_BIAS_MOTION_S`` 60 s    bias time constant in motion
    ==================== ======= ======================================

    Deviations from VQF (Laidig & Seel 2023), chosen to keep the core short:

    - first-order low-pass filters with running-mean start-up instead of
      second-order Butterworth filters;
    - the bias is two first-order updates instead of a Kalman filter: at
      rest it follows the low-passed gyr, in motion it integrates the
      inclination correction (Mahony et al. 2008) without VQF's low-pass
      filtered rotation matrix;
    - ``BIAS_MAX_RADPS`` is 5 °/s, not 2 °/s: the MPU-6050's zero-rate offset
      is specified up to ±20 °/s and is typically several °/s, and a bias
      above the limit would never let the sensor count as at rest;
    - no magnetometer, so no 9D heading correction.

    Allocation: no containers or strings are made per update; MicroPython
    boxes floats, so the arithmetic itself allocates small float objects.

    References:

    - D. Laidig, T. Seel, "VQF: Highly accurate IMU orientation estimation
      with bias estimation and magnetic disturbance rejection", Information
      Fusion 91:187-204, 2023, doi:10.1016/j.inffus.2022.10.014.
    - R. Mahony, T. Hamel, J.-M. Pflimlin, "Nonlinear complementary filters
      on the special orthogonal group", IEEE TAC 53(5):1203-1218, 2008.
    - D. Laidig, M. Caruso, A. Cereatti, T. Seel, "BROAD - A benchmark for
      robust inertial orientation estimation", Data 6(7):72, 2021 (the
      benchmark in bench/fusion_broad.py).
    """

    def __init__(self, period_s):
        self.q = array("f", (1.0, 0.0, 0.0, 0.0))
        self.bias = array("f", (0.0, 0.0, 0.0))
        self.at_rest = False
        self._q_gyr = array("f", (1.0, 0.0, 0.0, 0.0))
        self._q_acc = array("f", (1.0, 0.0, 0.0, 0.0))
        self._acc_lp1 = array("f", (0.0, 0.0, 0.0))  # almost inertial frame:
        self._acc_lp = array("f", (0.0, 0.0, 0.0))  # two low-passes in series
        self._rest_gyr_lp = array("f", (0.0, 0.0, 0.0))
        self._rest_acc_lp = array("f", (0.0, 0.0, 0.0))
        self._v = array("f", (0.0, 0.0, 0.0))  # scratch vector
        self._dq = array("f", (1.0, 0.0, 0.0, 0.0))  # scratch quaternion
        self._bias_n = 0  # rest samples used for the bias since start-up
        self.set_period(period_s)
        self.reset()

    def set_period(self, period_s):
        """Sample period in seconds; filter gains follow, the state is kept."""
        if not period_s > 0.0:
            raise ValueError("period_s must be > 0, got %r" % (period_s,))
        self._dt = period_s
        self._k_acc = 1.0 - math.exp(-2.0 * period_s / TAU_ACC_S)
        self._k_rest = 1.0 - math.exp(-period_s / REST_TAU_S)
        self._k_bias_rest = 1.0 - math.exp(-period_s / TAU_BIAS_REST_S)
        self._rest_n_min = math.ceil(REST_MIN_S / period_s - 1e-6)
        self._rest_n = 0

    def reset(self):
        """Back to the initial state, keeping the bias estimate."""
        for a in (self.q, self._q_gyr, self._q_acc):
            a[0], a[1], a[2], a[3] = 1.0, 0.0, 0.0, 0.0
        for a in (self._acc_lp1, self._acc_lp, self._rest_gyr_lp, self._rest_acc_lp):
            a[0], a[1], a[2] = 0.0, 0.0, 0.0
        self._n = 0  # samples since reset (for the running-mean start-up)
        self._rest_n = 0
        self.at_rest = False

    def set_bias(self, bx, by, bz):
        """Set the bias estimate (rad/s), e.g. from a stored calibration."""
        b = self.bias
        b[0], b[1], b[2] = bx, by, bz

    def update(self, gx, gy, gz, ax, ay, az):
        """One sample: gyr in rad/s and acc in m/s², sensor frame."""
        n = self._n + 1  # samples since reset, for the running-mean start-up
        if n < _COUNT_MAX:
            self._n = n
        b = self.bias

        # 1. rest detection on low-passed gyr and acc
        k = self._k_rest
        if k * n < 1.0:
            k = 1.0 / n
        f = self._rest_gyr_lp
        still = (
            _lowpass_into(f, k, gx, gy, gz) < REST_GYR_TH_RADPS * REST_GYR_TH_RADPS
            and abs(f[0]) < BIAS_MAX_RADPS
            and abs(f[1]) < BIAS_MAX_RADPS
            and abs(f[2]) < BIAS_MAX_RADPS
        )
        dev = _lowpass_into(self._rest_acc_lp, k, ax, ay, az)
        if still and dev < REST_ACC_TH_MPS2 * REST_ACC_TH_MPS2:
            if self._rest_n < self._rest_n_min:
                self._rest_n += 1
            self.at_rest = self._rest_n >= self._rest_n_min
        else:
            self._rest_n = 0
            self.at_rest = False

        # 2. bias at rest: running mean of the low-passed gyr, then a low-pass
        if self.at_rest:
            if self._bias_n < _COUNT_MAX:
                self._bias_n += 1
            k = self._k_bias_rest
            if k * self._bias_n < 1.0:
                k = 1.0 / self._bias_n
            _lowpass_into(b, k, f[0], f[1], f[2])

        # 3. strapdown integration: q_gyr = q_gyr ⊗ exp((gyr - bias) dt / 2)
        wx, wy, wz = gx - b[0], gy - b[1], gz - b[2]
        rate = math.sqrt(wx * wx + wy * wy + wz * wz)
        qg = self._q_gyr
        if rate > 1e-12:
            half = 0.5 * rate * self._dt
            s = math.sin(half) / rate
            dq = self._dq
            dq[0] = math.cos(half)
            dq[1], dq[2], dq[3] = s * wx, s * wy, s * wz
            _mul_into(qg, qg, dq)

        # 4. acc into the almost inertial frame, two low-passes in series there
        qa = self._q_acc
        if ax != 0.0 or ay != 0.0 or az != 0.0:  # an all-zero sample has no tilt
            v = self._v
            _rotate_into(v, qg, 1.0, ax, ay, az)
            k = self._k_acc
            if k * n < 1.0:
                k = 1.0 / n
            f = self._acc_lp1
            _lowpass_into(f, k, v[0], v[1], v[2])
            f2 = self._acc_lp
            _lowpass_into(f2, k, f[0], f[1], f[2])

            # 5. inclination correction: turn the filtered acc, in earth, to +z
            _rotate_into(v, qa, 1.0, f2[0], f2[1], f2[2])
            norm = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
            cw = math.sqrt(0.5 + 0.5 * v[2] / norm)
            if cw > 1e-6:
                cx, cy = 0.5 * v[1] / (norm * cw), -0.5 * v[0] / (norm * cw)
            else:  # exactly upside down: any horizontal axis will do
                cx, cy = 1.0, 0.0
            dq = self._dq
            dq[0], dq[1] = cw, cx
            dq[2], dq[3] = cy, 0.0
            _mul_into(qa, dq, qa)
        else:
            cx = cy = 0.0
        _mul_into(self.q, qa, qg)  # q_sensor_to_earth = q_acc ⊗ q_gyr

        # 6. bias in motion: the correction, in the sensor frame, integrated
        if not self.at_rest and n * self._dt > TAU_ACC_S:
            v = self._v
            _rotate_into(v, self.q, -1.0, 2.0 * cx, 2.0 * cy, 0.0)
            k = -1.0 / TAU_BIAS_MOTION_S
            b[0] = min(max(b[0] + k * v[0], -BIAS_MAX_RADPS), BIAS_MAX_RADPS)
            b[1] = min(max(b[1] + k * v[1], -BIAS_MAX_RADPS), BIAS_MAX_RADPS)
            b[2] = min(max(b[2] + k * v[2], -BIAS_MAX_RADPS), BIAS_MAX_RADPS)
