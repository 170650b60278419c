"""The float original of firmware/fusion.py (until issue 14): 6-axis orientation
filter with gyroscope-bias estimation (gyr + acc, no magnetometer).

Kept as the reference of bench/fusion_broad.py (the fixed-point filter on the
board must stay within 5 % of its RMSE on BROAD) and for its docstring, which
holds the algorithm; not copied to the board.

Runs under MicroPython on the ESP32 and unchanged under CPython (the BROAD
benchmark in bench/ and the tests use both). The algorithm, its parameters
and its references are in the docstring of :class:`Fusion`.
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
TAU_ACC_S = 3.0  # acc low-pass in the almost inertial frame
REST_TAU_S = 0.5  # low-pass of gyr and acc for the rest detection
REST_MIN_S = 1.5  # stillness needed before at_rest is set
REST_GYR_TH_RADPS = math.radians(2.0)  # |gyr - its low-pass| below this is still
REST_ACC_TH_MPS2 = 0.5  # |acc - its low-pass| below this is still
REST_DRIFT_TH_MPS2 = 0.17  # the low-passed acc moves less than this in a still run (1°)
REST_KEEP_TH_MPS2 = 0.0425  # a rest's bias is kept while gravity is this near its start (¼°)
BIAS_MAX_RADPS = math.radians(5.0)  # largest bias believed; a faster turn is motion
TAU_BIAS_REST_S = 9.0  # bias follows the low-passed gyr at rest
TAU_BIAS_MOTION_S = 100.0  # bias integrates the inclination correction in motion

_COUNT_MAX = const(1 << 29)  # sample counters stop here (stay small ints)

# Helpers write into preallocated arrays and return at most a float: the
# per-sample path makes no containers. MicroPython compiles `a, b = c, d`
# without a tuple, but longer tuple assignments build one (3-element ones
# depend on the port's MICROPY_COMP_TRIPLE_TUPLE_ASSIGN), so they go in twos.


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
    w, qx = q[0], sign * q[1]
    qy, qz = sign * q[2], sign * q[3]
    # v' = v + w t + u × t with u = (qx, qy, qz) and t = 2 u × v
    tx = 2.0 * (qy * z - qz * y)
    ty = 2.0 * (qz * x - qx * z)
    tz = 2.0 * (qx * y - qy * x)
    out[0] = x + w * tx + qy * tz - qz * ty
    out[1] = y + w * ty + qz * tx - qx * tz
    out[2] = z + w * tz + qx * ty - qy * tx


class Fusion:
    """Orientation of the sensor from gyroscope and accelerometer: a simplified VQF.

    The real-time VQF of Laidig & Seel (2023) without its magnetometer part
    and with simpler bias estimation. The gyroscope is integrated into an
    *almost inertial* frame; the accelerometer is low-pass filtered in that
    frame, which averages out linear acceleration without lagging behind
    rotation; the inclination of the almost inertial frame is then corrected
    to the filtered gravity direction. The gyroscope bias is estimated at rest
    and, slowly, during motion.

    Steps of :meth:`update` (the method body follows these numbers):

    1. Rest detection: gyr and acc are low-pass filtered (``REST_TAU_S``).
       The sensor is still while both deviate from their low-pass by less
       than ``REST_GYR_TH_RADPS`` / ``REST_ACC_TH_MPS2`` and the low-passed
       gyr is below ``BIAS_MAX_RADPS`` on every axis, and the low-passed acc
       has moved by less than ``REST_DRIFT_TH_MPS2`` (1° of inclination) since
       the first still sample of the run; ``at_rest`` is set after
       ``REST_MIN_S`` of stillness. The last test is not VQF's: a slow steady
       turn (a plank sagging at 1°/s) deviates little from the low-passes and
       would otherwise pass for rest, its rate learned as bias; about the
       vertical nothing corrects that (issue 16; docs/exercises.md).
    2. Bias at rest: the bias follows the low-passed gyr with time constant
       ``TAU_BIAS_REST_S``; until that much rest has been seen since start-up
       it is the running mean instead, so the first estimate is quick.
       When the drift test ends a rest, the bias goes back to what it was
       before gravity began to move: the first degree of a slow sag passes
       the rest tests, and what the rest learnt in it was the sag's rate,
       not bias (issue 16). The bias is kept at checkpoints every
       ``REST_TAU_S`` of rest while the low-passed acc is within
       ``REST_KEEP_TH_MPS2`` (¼°) of its value when ``at_rest`` was set, and
       goes back to the checkpoint before the last (the low-passed acc
       leaves the ¼° about ``REST_TAU_S``, its lag, after gravity began to
       move, so that checkpoint is from before), if that checkpoint's
       estimate rested on at least ``REST_MIN_S`` of rest: before that, the
       start-up's running mean is all there is (on walking recordings the
       first rest is often ended by a slow lean, and going back to zero
       lost a true bias of 0.8 °/s). A rest ended by a movement (the other
       tests) keeps all it learnt. The ¼° is a quarter of the drift test's 1° and
       far above the low-passed acc's noise at rest (an MPU-6050's
       400 µg/√Hz through the 0.5-s low-pass: 0.003 m/s², 0.02°).
    3. Strapdown integration of the bias-corrected gyr,
       ``q_gyr = q_gyr ⊗ exp((gyr - bias) dt / 2)`` (sensor → almost inertial).
    4. The acc is rotated into the almost inertial frame and low-pass filtered
       there by a second-order filter: a damped spring (natural frequency
       √2 / ``TAU_ACC_S``, damping ratio 1/√2, i.e. Butterworth) that pulls
       the filtered acc towards the measured one. During the first
       ``TAU_ACC_S`` seconds it is the running mean instead.
    5. Inclination correction: ``q_acc`` (almost inertial → earth) is turned by
       the smallest rotation that brings the filtered acc, seen in the earth
       frame, to +z. Output ``q = q_acc ⊗ q_gyr``.
    6. Bias in motion: that correction is the drift of the almost inertial
       frame. Turned into the sensor frame and divided by
       ``TAU_BIAS_MOTION_S``, it moves the bias the way that stops the drift
       (an integral term, as in Mahony et al. 2008). The correction is
       horizontal in the earth frame, so the bias about the vertical is left
       as it is. The bias is kept within ±``BIAS_MAX_RADPS``.

    Data required: angular rate ``gx gy gz`` in rad/s and specific force
    ``ax ay az`` in m/s² (gravity included: ``az ≈ +9.81`` with z up), both in
    the sensor frame (protocol/SPEC.md 1.1), one sample every ``period_s``.
    A sample whose acc is exactly zero only advances the gyro integration.

    Outputs: ``q``, ``q_sensor_to_earth`` (w x y z, earth z up; the heading is
    that of the first sample's smallest tilt and then drifts slowly);
    ``bias`` in rad/s; ``at_rest``.

    Initial state (after ``__init__`` and ``reset()``): ``q`` is identity
    until the first ``update``, which sets the inclination from that one
    accelerometer sample. ``bias`` is zero after ``__init__``; ``reset()``
    keeps it (it belongs to the sensor, not to the pose) and ``set_bias()``
    replaces it.

    Parameters (module constants):

    ======================== =========== =========================================
    ``TAU_ACC_S``            3 s         acc low-pass in the almost inertial frame
    ``REST_TAU_S``           0.5 s       low-pass of gyr and acc for rest detection
    ``REST_MIN_S``           1.5 s       stillness before ``at_rest``
    ``REST_GYR_TH_RADPS``    2 °/s       gyr deviation threshold for stillness
    ``REST_ACC_TH_MPS2``     0.5 m/s²    acc deviation threshold for stillness
    ``REST_DRIFT_TH_MPS2``   0.17 m/s²   how far the low-passed acc may move in a
                                         still run (1°)
    ``REST_KEEP_TH_MPS2``    0.0425 m/s² how near it must stay to where the rest
                                         began for the rest's bias to be kept (¼°)
    ``BIAS_MAX_RADPS``       5 °/s       largest bias believed
    ``TAU_BIAS_REST_S``      9 s         bias time constant at rest
    ``TAU_BIAS_MOTION_S``    100 s       bias time constant in motion
    ======================== =========== =========================================

    The first five are VQF's defaults; the two that follow are this filter's
    own (VQF has no drift test). ``TAU_BIAS_REST_S`` and
    ``TAU_BIAS_MOTION_S`` are the steady-state gains of VQF's bias Kalman
    filter with its defaults (biasSigmaRest 0.03 °/s, biasSigmaMotion 0.1 °/s,
    biasForgettingTime 100 s) expressed as time constants.

    Deviations from VQF, to keep the core short enough to read in one sitting:

    - The bias is two first-order updates instead of a Kalman filter, so
      there is no covariance: the gain does not shrink after a long rest or
      grow during a long motion. Right after a rest, this filter's bias
      therefore moves faster in motion than VQF's, and it also takes up
      errors that are not bias: on BROAD it strays up to 0.09 °/s from the
      rest estimate during 2 minutes of motion, VQF's less than 0.03 °/s.
      The motion update uses the current rotation instead of VQF's low-passed
      rotation matrix and does not clip the disagreement to ±2 °/s.
    - The acc low-pass is the continuous second-order Butterworth of VQF
      (same time constant) discretised as a damped spring rather than as a
      biquad, and it starts with a plain running mean; the rest detection
      uses first-order low-passes.
    - ``BIAS_MAX_RADPS`` is 5 °/s, not 2 °/s: an MPU-6050's zero-rate offset
      is specified up to ±20 °/s and is often a few °/s, and a bias above
      the limit would keep the sensor from ever counting as at rest. The
      price: a steady turn slower than 5 °/s, held for 1.5 s with a steady
      accelerometer, passes for rest and is taken into the bias.
    - No magnetometer, so no 9D heading correction or disturbance rejection.

    Precision and allocation: state lives in ``array('f')``, single precision
    as on the ESP32 (MicroPython's unix port computes in double in between;
    bench/fusion_broad.py also runs the filter with every operation in
    float32). ``update()`` makes no containers or strings; MicroPython boxes
    floats, so the arithmetic itself allocates small float objects.

    References:

    - D. Laidig, T. Seel, "VQF: Highly accurate IMU orientation estimation
      with bias estimation and magnetic disturbance rejection", Information
      Fusion 91:187-204, 2023, doi:10.1016/j.inffus.2022.10.014
      (implementation: PyPI ``vqf``, vqf/pyvqf.py).
    - R. Mahony, T. Hamel, J.-M. Pflimlin, "Nonlinear complementary filters
      on the special orthogonal group", IEEE Transactions on Automatic
      Control 53(5):1203-1218, 2008, doi:10.1109/TAC.2008.923738.
    - D. Laidig, M. Caruso, A. Cereatti, T. Seel, "BROAD - A benchmark for
      robust inertial orientation estimation", Data 6(7):72, 2021,
      doi:10.3390/data6070072 (the benchmark in bench/fusion_broad.py).
    """

    def __init__(self, period_s):
        self.q = array("f", (1.0, 0.0, 0.0, 0.0))
        self.bias = array("f", (0.0, 0.0, 0.0))
        self.at_rest = False
        self._q_gyr = array("f", (1.0, 0.0, 0.0, 0.0))
        self._q_acc = array("f", (1.0, 0.0, 0.0, 0.0))
        self._acc_lp = array("f", (0.0, 0.0, 0.0))  # in the almost inertial frame,
        self._acc_lp_rate = array("f", (0.0, 0.0, 0.0))  # and its rate of change
        self._rest_gyr_lp = array("f", (0.0, 0.0, 0.0))
        self._rest_acc_lp = array("f", (0.0, 0.0, 0.0))
        self._rest_acc_ref = array("f", (0.0, 0.0, 0.0))  # it at the still run's start
        self._rest_acc_keep = array("f", (0.0, 0.0, 0.0))  # it when at_rest was set
        self._bias_keep = array("f", (0.0, 0.0, 0.0))  # the bias before gravity moved
        self._bias_next = array("f", (0.0, 0.0, 0.0))  # the next checkpoint's bias
        self._keep_n = 0  # rest samples near _rest_acc_keep since the last checkpoint
        self._keep_bias_n = 0  # _bias_n at the checkpoints of _bias_keep and _bias_next
        self._next_bias_n = 0
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
        self._k_spring = 2.0 * period_s / (TAU_ACC_S * TAU_ACC_S)  # ω² dt
        self._k_damper = 2.0 * period_s / TAU_ACC_S  # 2 ζ ω dt
        self._k_rest = 1.0 - math.exp(-period_s / REST_TAU_S)
        self._k_bias_rest = 1.0 - math.exp(-period_s / TAU_BIAS_REST_S)
        self._rest_n_min = math.ceil(REST_MIN_S / period_s - 1e-6)
        self._keep_every_n = math.ceil(REST_TAU_S / period_s - 1e-6)
        self._rest_n = 0

    def reset(self):
        """Back to the initial state, keeping the bias estimate."""
        for a in (self.q, self._q_gyr, self._q_acc):
            a[0], a[1], a[2], a[3] = 1.0, 0.0, 0.0, 0.0
        for a in (self._acc_lp, self._acc_lp_rate, self._rest_gyr_lp, self._rest_acc_lp,
                  self._rest_acc_ref, self._rest_acc_keep):
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
        still = still and dev < REST_ACC_TH_MPS2 * REST_ACC_TH_MPS2
        drifted = False
        if still:  # a slow steady turn passes the tests above: not if gravity moved
            f, r = self._rest_acc_lp, self._rest_acc_ref
            if self._rest_n == 0:
                r[0], r[1] = f[0], f[1]
                r[2] = f[2]
            x = f[0] - r[0]
            y = f[1] - r[1]
            z = f[2] - r[2]
            still = x * x + y * y + z * z < REST_DRIFT_TH_MPS2 * REST_DRIFT_TH_MPS2
            drifted = not still
            f = self._rest_gyr_lp
        if still:
            if self._rest_n < self._rest_n_min:
                self._rest_n += 1
                if self._rest_n == self._rest_n_min:  # a rest begins: where gravity is
                    r, fa = self._rest_acc_keep, self._rest_acc_lp
                    r[0], r[1] = fa[0], fa[1]
                    r[2] = fa[2]
                    r = self._bias_keep
                    r[0], r[1] = b[0], b[1]
                    r[2] = b[2]
                    r = self._bias_next
                    r[0], r[1] = b[0], b[1]
                    r[2] = b[2]
                    self._keep_n = 0
                    self._keep_bias_n = self._next_bias_n = self._bias_n
            self.at_rest = self._rest_n >= self._rest_n_min
        else:
            if self.at_rest and drifted and self._keep_bias_n >= self._rest_n_min:
                r = self._bias_keep  # a slow steady turn ended a rest: back to before it
                b[0], b[1] = r[0], r[1]
                b[2] = r[2]
            self._rest_n = 0
            self.at_rest = False

        # 2. bias at rest: running mean of the low-passed gyr, then a low-pass;
        #    checkpoints while the low-passed acc is near where the rest began
        if self.at_rest:
            if self._bias_n < _COUNT_MAX:
                self._bias_n += 1
            k = self._k_bias_rest
            if k * self._bias_n < 1.0:
                k = 1.0 / self._bias_n
            _lowpass_into(b, k, f[0], f[1], f[2])
            fa, r = self._rest_acc_lp, self._rest_acc_keep
            x = fa[0] - r[0]
            y = fa[1] - r[1]
            z = fa[2] - r[2]
            if x * x + y * y + z * z < REST_KEEP_TH_MPS2 * REST_KEEP_TH_MPS2:
                self._keep_n += 1
                if self._keep_n >= self._keep_every_n:
                    r, fa = self._bias_keep, self._bias_next
                    r[0], r[1] = fa[0], fa[1]
                    r[2] = fa[2]
                    fa[0], fa[1] = b[0], b[1]
                    fa[2] = b[2]
                    self._keep_n = 0
                    self._keep_bias_n = self._next_bias_n
                    self._next_bias_n = self._bias_n

        # 3. strapdown integration: q_gyr = q_gyr ⊗ exp((gyr - bias) dt / 2)
        wx, wy = gx - b[0], gy - b[1]
        wz = gz - b[2]
        rate = math.sqrt(wx * wx + wy * wy + wz * wz)
        qg = self._q_gyr
        if rate > 1e-12:
            half = 0.5 * rate * self._dt
            s = math.sin(half) / rate
            dq = self._dq
            dq[0], dq[1] = math.cos(half), s * wx
            dq[2], dq[3] = s * wy, s * wz
            _mul_into(qg, qg, dq)

        # 4. acc into the almost inertial frame, second-order low-pass there
        qa = self._q_acc
        if ax != 0.0 or ay != 0.0 or az != 0.0:  # an all-zero sample has no tilt
            v = self._v
            _rotate_into(v, qg, 1.0, ax, ay, az)
            f = self._acc_lp
            if n * self._dt < TAU_ACC_S:  # start-up: the running mean
                _lowpass_into(f, 1.0 / n, v[0], v[1], v[2])
            else:  # the filtered acc is a damped spring pulled by the measured one
                d, ks = self._acc_lp_rate, self._k_spring
                kd = self._k_damper
                d[0] += ks * (v[0] - f[0]) - kd * d[0]
                d[1] += ks * (v[1] - f[1]) - kd * d[1]
                d[2] += ks * (v[2] - f[2]) - kd * d[2]
                f[0] += self._dt * d[0]
                f[1] += self._dt * d[1]
                f[2] += self._dt * d[2]

            # 5. inclination correction: turn the filtered acc, in earth, to +z
            _rotate_into(v, qa, 1.0, f[0], f[1], f[2])
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

        # 6. bias in motion (not during the start-up): the correction, in the
        #    sensor frame, integrated
        if not self.at_rest and n * self._dt > TAU_ACC_S:
            v = self._v
            _rotate_into(v, self.q, -1.0, 2.0 * cx, 2.0 * cy, 0.0)
            k = -1.0 / TAU_BIAS_MOTION_S
            b[0] = min(max(b[0] + k * v[0], -BIAS_MAX_RADPS), BIAS_MAX_RADPS)
            b[1] = min(max(b[1] + k * v[1], -BIAS_MAX_RADPS), BIAS_MAX_RADPS)
            b[2] = min(max(b[2] + k * v[2], -BIAS_MAX_RADPS), BIAS_MAX_RADPS)
