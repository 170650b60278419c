"""6-axis orientation filter with gyroscope-bias estimation, in integer fixed point.

The filter of firmware/sim/fusion_float.py (a simplified real-time VQF; the
algorithm, its parameters and references are in the docstring of that
:class:`Fusion`) computed with small ints only, so that the per-sample path
allocates nothing on the ESP32: MicroPython there boxes every float on the
heap, and every int from 2^30 up. Under CPython and the unix port the same
code gives the same numbers (ints are exact everywhere).

Fixed-point formats (``Qn``: value x 2^n; every state and every product
stays below 2^30 in magnitude, the bounds are noted where they are tight):

=================  =======  ==============================================
gyr input          Q20      rad/s; |gyr| < 64 rad/s
acc input          Q16      m/s²; |acc| < 256 m/s²
``q``              Q14      q_sensor_to_earth, w x y z: the wire's i16 values
``bias``           Q32      rad/s, within ±``BIAS_MAX_RADPS`` (3.75e8)
q_gyr, q_acc       Q29      the two halves of the filter's state
rest low-passes    Q24 gyr (clamped to ±32 rad/s), Q16 acc
acc low-pass       Q16 (its rate of change Q24), in the almost inertial frame
=================  =======  ==============================================

Products of two large numbers go through :func:`mul` (a split into 15-bit
halves: two products below 2^29) with constants as a 14-bit mantissa and a
shift (:func:`fixed`), so time constants are exact to 1e-4. Rotations use
the Q14 copy of a quaternion (its error, 6e-5, only scales small terms).

Steps of :meth:`Fusion.update`, as in the float filter, with these exact
rewrites (no trigonometry, no square root in the usual case):

3. Strapdown: with δ = (gyr - bias) dt/2, ``q_gyr ⊗ (1, δ (1 + |δ|²/3))``
   normalized is the rotation by 2|δ| to fifth order (tan(x) ≈ x + x³/3).
5. Inclination: with v the filtered acc in the earth frame,
   ``(1, v_y/(|v|+v_z), -v_x/(|v|+v_z), 0)`` normalized is exactly the
   smallest rotation turning v to +z (tan of the half angle); for the
   usual small tilt |v| + v_z = 2 v_z + |v_h|²/(2 v_z) to 1e-10.
6. Bias in motion: the correction above, in the sensor frame, / 100 s.

Normalization is first order, ``q (3 - |q|²)/2``, while |q|² is within 2 %
of 1, else exact with an integer square root (start-up, large corrections).
Accuracy on BROAD (bench/fusion_broad.py): within 5 % of the float filter on
every trial, the target of issue 14.
"""

from array import array

try:
    import micropython
    from micropython import const
except ImportError:  # CPython
    micropython = None

    def const(x):
        return x


# --- parameters (those of fusion_float.py) ------------------------------------
TAU_ACC_S = 3.0  # acc low-pass in the almost inertial frame
REST_TAU_S = 0.5  # low-pass of gyr and acc for the rest detection
REST_MIN_S = 1.5  # stillness needed before at_rest is set
REST_GYR_TH_RADPS = 0.03490658503988659  # 2 °/s: |gyr - its low-pass| below this is still
REST_ACC_TH_MPS2 = 0.5  # |acc - its low-pass| below this is still
BIAS_MAX_RADPS = 0.08726646259971647  # 5 °/s: largest bias believed
TAU_BIAS_REST_S = 9.0  # bias follows the low-passed gyr at rest
TAU_BIAS_MOTION_S = 100.0  # samples (not seconds: per update) for the bias in motion

GYR_Q = const(20)
ACC_Q = const(16)
BIAS_Q = const(32)
_COUNT_MAX = const(1 << 29)
_ONE29 = const(1 << 29)
_ONE28 = const(1 << 28)
_REST_GYR_CLAMP = const(1 << 29)  # 32 rad/s in Q24
_BIAS_MAX = const(374806014)  # BIAS_MAX_RADPS in Q32
_BIAS_MAX_24 = const(1464086)  # in Q24
_REST_GYR_TH2 = const(327184)  # (2 °/s in Q14)²
_REST_ACC_TH2 = const(67108864)  # (0.5 m/s² in Q14)²
_DELTA_MAX = const(1 << 28)  # half-angle per sample, Q29, per axis
_CORR_MAX = const(1 << 28)  # correction angle clamp for the bias in motion: 0.0625 rad, Q32


def fixed(x):
    """Constant ``x`` as (mantissa, shift): x ≈ m / 2^s with 2^13 <= |m| < 2^14."""
    if x == 0:
        return 0, 0
    s = 0
    while abs(x) * (1 << s) < 8192:
        s += 1
    while abs(x) * (1 << s) >= 16384:
        s -= 1
    return int(round(x * (1 << s))), s


def scale_of(x):
    """x (>= 0, < 2^15) as (k, m, s): v * x ≈ v * k + mul(v, m, s) for |v| < 2^15,
    exact to 6e-5 of one unit of v (e.g. sensor LSB -> Q16 m/s² or Q20 rad/s)."""
    k = int(x)
    m, s = fixed(x - k)
    return k, m, s


def mul(a, m, s):
    """round(a * m / 2^s) without a product above 2^29: |a| < 2^30, |m| <= 2^14."""
    hi = (a >> 15) * m
    lo = (a & 0x7FFF) * m
    if s >= 15:
        return (hi + ((lo + 16384) >> 15) + (1 << (s - 16) if s > 15 else 0)) >> (s - 15)
    return (hi << (15 - s)) + ((lo + (1 << s >> 1)) >> s)


def _div(a, d, bits):
    """a * 2^bits / d (truncated) for d > 0, 8 bits at a time so nothing passes
    2^30; |a| >= d gives ±(2^bits - 1) (the callers clamp there anyway)."""
    neg = a < 0
    if neg:
        a = -a
    while d >= 1 << 21:
        d >>= 1
        a >>= 1
    if a >= d:
        return -((1 << bits) - 1) if neg else (1 << bits) - 1
    r = a % d
    res = a // d
    while bits > 0:
        b = 8 if bits >= 8 else bits
        r <<= b
        res = (res << b) + r // d
        r %= d
        bits -= b
    return -res if neg else res


def isqrt(x):
    """floor(sqrt(x)) for 0 <= x < 2^30 (Newton's method on small ints)."""
    if x <= 0:
        return 0
    r = x
    y = (r + 1) >> 1
    while y < r:
        r = y
        y = (r + x // r) >> 1
    return r


def _q14(q, out):
    """out = q (Q29) rounded to Q14."""
    out[0] = (q[0] + 16384) >> 15
    out[1] = (q[1] + 16384) >> 15
    out[2] = (q[2] + 16384) >> 15
    out[3] = (q[3] + 16384) >> 15


def _normalize(q, t):
    """q (Q29) back to unit length; t is a Q14 scratch copy."""
    _q14(q, t)
    n2 = t[0] * t[0] + t[1] * t[1] + t[2] * t[2] + t[3] * t[3]  # Q28, < 2^30 while |q| < 2
    e = _ONE28 - n2
    if -4194304 < e < 4194304:  # within 1.6 %: q *= (3 - |q|²)/2 = 1 + e/2^29
        m = e >> 8  # e / 2^29 = m / 2^21, |m| < 2^14
        q[0] += mul(q[0], m, 21)
        q[1] += mul(q[1], m, 21)
        q[2] += mul(q[2], m, 21)
        q[3] += mul(q[3], m, 21)
        return
    n = isqrt(n2)  # Q14
    if n == 0:
        q[0], q[1] = _ONE29, 0
        q[2], q[3] = 0, 0
        return
    for i in range(4):
        v = q[i]
        q[i] = ((v // n) << 14) + (((v % n) << 14) // n)


def _inc(q, t, x, y, z, left, fresh=True):
    """q += (0, x, y, z) ⊗ q (left) or q ⊗ (0, x, y, z); x y z and q in Q29.

    (w, u) ⊗ (0, v) = (-u·v, w v + u × v); (0, v) ⊗ (w, u) the same with
    u × v negated, done by negating u (the scalar part's sign follows). The
    vector is split into 14-bit halves: with |v| < 2^29 (1 rad) and the Q14
    copy ``t`` of q unit, every sum of products is below 2^29 (Cauchy-Schwarz
    on the high halves, |low half| < 2^14 on the low ones). ``fresh`` False:
    ``t`` already holds the q to multiply (q itself was scaled since)."""
    if fresh:
        _q14(q, t)
    w, a = t[0], t[1]
    b, c = t[2], t[3]
    if left:
        a, b = -a, -b
        c = -c
    xh, xl = x >> 14, x & 0x3FFF
    yh, yl = y >> 14, y & 0x3FFF
    zh, zl = z >> 14, z & 0x3FFF
    d0 = a * xh + b * yh + c * zh + ((a * xl + b * yl + c * zl + 8192) >> 14)
    d1 = w * xh + b * zh - c * yh + ((w * xl + b * zl - c * yl + 8192) >> 14)
    d2 = w * yh + c * xh - a * zh + ((w * yl + c * xl - a * zl + 8192) >> 14)
    d3 = w * zh + a * yh - b * xh + ((w * zl + a * yl - b * xl + 8192) >> 14)
    if left:
        q[0] += d0
    else:
        q[0] -= d0
    q[1] += d1
    q[2] += d2
    q[3] += d3


def _rotate(out, t, sign, x, y, z):
    """out = t ⊗ v ⊗ t* (sign 1) or t* ⊗ v ⊗ t (sign -1) for v = (x, y, z).

    t is a unit quaternion in Q14; |v| < 2^29 (the partial sums reach 2 |v|);
    out has v's format."""
    w = t[0]
    qx, qy = sign * t[1], sign * t[2]
    qz = sign * t[3]
    # v' = v + w s + u × s with u = (qx, qy, qz) and s = 2 u × v
    sx = mul(z, qy, 13) - mul(y, qz, 13)
    sy = mul(x, qz, 13) - mul(z, qx, 13)
    sz = mul(y, qx, 13) - mul(x, qy, 13)
    out[0] = x + mul(sx, w, 14) + mul(sz, qy, 14) - mul(sy, qz, 14)
    out[1] = y + mul(sy, w, 14) + mul(sx, qz, 14) - mul(sz, qx, 14)
    out[2] = z + mul(sz, w, 14) + mul(sy, qx, 14) - mul(sx, qy, 14)


class Fusion:
    """Orientation from gyroscope and accelerometer: fusion_float.Fusion in fixed point.

    ``update(gx, gy, gz, ax, ay, az)``: gyr in rad/s Q20 (``GYR_Q``), acc in
    m/s² Q16 (``ACC_Q``), sensor frame (protocol/SPEC.md 1.1). ``q`` is
    q_sensor_to_earth in Q14 (array('i')), ``bias`` rad/s in Q32, ``at_rest``.
    ``set_bias`` takes Q32. The algorithm, its parameters, deviations from
    VQF and references: firmware/sim/fusion_float.py; the number formats:
    this module's docstring.
    """

    def __init__(self, period_s):
        self.q = array("i", (16384, 0, 0, 0))
        self.bias = array("i", (0, 0, 0))
        self.at_rest = False
        self._q_gyr = array("i", (_ONE29, 0, 0, 0))
        self._q_acc = array("i", (_ONE29, 0, 0, 0))
        self._acc_lp = array("i", (0, 0, 0))  # Q16, in the almost inertial frame,
        self._acc_lp_rate = array("i", (0, 0, 0))  # and its rate of change, Q24 m/s³
        self._rest_gyr_lp = array("i", (0, 0, 0))  # Q24
        self._rest_acc_lp = array("i", (0, 0, 0))  # Q16
        self._v = array("i", (0, 0, 0))  # scratch vector
        self._t = array("i", (16384, 0, 0, 0))  # scratch Q14 quaternion
        self._t2 = array("i", (16384, 0, 0, 0))
        self._bias_n = 0
        self.set_period(period_s)
        self.reset()

    def set_period(self, period_s):
        """Sample period in seconds; gains follow, the state is kept (not per sample)."""
        import math

        if not period_s > 0.0:
            raise ValueError("period_s must be > 0, got %r" % (period_s,))
        self._dt = period_s
        self._h = fixed(period_s / 2)  # dt/2, for δ = w dt / 2
        self._k_spring = fixed(2.0 * period_s / (TAU_ACC_S * TAU_ACC_S))
        self._k_damper = fixed(2.0 * period_s / TAU_ACC_S)
        self._k_dt = fixed(period_s)
        self._k_rest = fixed(1.0 - math.exp(-period_s / REST_TAU_S))
        self._k_bias_rest = fixed(1.0 - math.exp(-period_s / TAU_BIAS_REST_S))
        self._rest_start_n = int(1.0 / (1.0 - math.exp(-period_s / REST_TAU_S)))
        self._bias_start_n = int(1.0 / (1.0 - math.exp(-period_s / TAU_BIAS_REST_S)))
        self._acc_lo = math.ceil(TAU_ACC_S / period_s - 1e-9)  # start-up: n * dt < TAU_ACC_S
        self._acc_hi = math.floor(TAU_ACC_S / period_s + 1e-9)  # bias in motion: n dt > TAU
        self._rest_n_min = math.ceil(REST_MIN_S / period_s - 1e-6)
        self._rest_n = 0

    def reset(self):
        """Back to the initial state, keeping the bias estimate."""
        for a in (self._q_gyr, self._q_acc):
            a[0], a[1], a[2], a[3] = _ONE29, 0, 0, 0
        q = self.q
        q[0], q[1], q[2], q[3] = 16384, 0, 0, 0
        for a in (self._acc_lp, self._acc_lp_rate, self._rest_gyr_lp, self._rest_acc_lp):
            a[0], a[1], a[2] = 0, 0, 0
        self._n = 0
        self._rest_n = 0
        self.at_rest = False

    def set_bias(self, bx, by, bz):
        """Set the bias estimate (rad/s in Q32, clamped to ±BIAS_MAX_RADPS)."""
        b = self.bias
        b[0] = max(-_BIAS_MAX, min(_BIAS_MAX, bx))
        b[1] = max(-_BIAS_MAX, min(_BIAS_MAX, by))
        b[2] = max(-_BIAS_MAX, min(_BIAS_MAX, bz))

    def update(self, gx, gy, gz, ax, ay, az):
        """One sample: gyr rad/s Q20, acc m/s² Q16, sensor frame."""
        n = self._n + 1
        if n < _COUNT_MAX:
            self._n = n
        b = self.bias
        v = self._v

        # 1. rest detection on low-passed gyr (Q24, clamped) and acc (Q16)
        f = self._rest_gyr_lp
        c = _REST_GYR_CLAMP
        x = gx << 4
        x = c if x > c else -c if x < -c else x
        y = gy << 4
        y = c if y > c else -c if y < -c else y
        z = gz << 4
        z = c if z > c else -c if z < -c else z
        dev = _lowpass(f, n, self._rest_start_n, self._k_rest, x, y, z, 10)
        lim = _BIAS_MAX_24
        still = (dev < _REST_GYR_TH2 and -lim < f[0] < lim and -lim < f[1] < lim
                 and -lim < f[2] < lim)
        dev = _lowpass(self._rest_acc_lp, n, self._rest_start_n, self._k_rest, ax, ay, az, 2)
        if still and dev < _REST_ACC_TH2:
            if self._rest_n < self._rest_n_min:
                self._rest_n += 1
            self.at_rest = self._rest_n >= self._rest_n_min
        else:
            self._rest_n = 0
            self.at_rest = False

        # 2. bias at rest: running mean of the low-passed gyr, then a low-pass (Q32)
        if self.at_rest:
            if self._bias_n < _COUNT_MAX:
                self._bias_n += 1
            bn = self._bias_n
            km, ks = self._k_bias_rest
            for i in range(3):
                d = (f[i] << 8) - b[i]
                b[i] += d // bn if bn < self._bias_start_n else mul(d, km, ks)

        # 3. strapdown: q_gyr ⊗ (1, δ (1 + |δ|²/3)), δ = (gyr - bias) dt/2, Q29
        hm, hs = self._h
        dx = mul(gx - (b[0] >> 12), hm, hs - 9)
        dy = mul(gy - (b[1] >> 12), hm, hs - 9)
        dz = mul(gz - (b[2] >> 12), hm, hs - 9)
        qg = self._q_gyr
        t = self._t
        c = _DELTA_MAX  # |δ| < 2^29 for _inc (50 rad/s per axis at 50 Hz: never binding)
        dx = c if dx > c else -c if dx < -c else dx
        dy = c if dy > c else -c if dy < -c else dy
        dz = c if dz > c else -c if dz < -c else dz
        if dx or dy or dz:
            ex, ey = dx >> 15, dy >> 15
            ez = dz >> 15
            d2 = ex * ex + ey * ey + ez * ez  # |δ|² in Q28 (|δ| < 1 rad)
            # |δ|²/3 as a mantissa below 2^14, in the finest Q that allows
            sh = 4 if d2 < 3 << 18 else 9 if d2 < 3 << 23 else 14
            m = (d2 >> sh) // 3
            dx += mul(dx, m, 28 - sh)
            dy += mul(dy, m, 28 - sh)
            dz += mul(dz, m, 28 - sh)
            _inc(qg, t, dx, dy, dz, False)
            _normalize(qg, t)

        # 4. acc into the almost inertial frame, second-order low-pass there (Q16)
        qa = self._q_acc
        f = self._acc_lp
        cx = cy = 0
        if ax or ay or az:  # an all-zero sample has no tilt
            _q14(qg, t)
            _rotate(v, t, 1, ax, ay, az)
            if n < self._acc_lo:  # start-up: the running mean
                f[0] += (v[0] - f[0]) // n
                f[1] += (v[1] - f[1]) // n
                f[2] += (v[2] - f[2]) // n
            else:  # a damped spring pulled by the measured acc
                d = self._acc_lp_rate
                sm, ss = self._k_spring
                dm, ds = self._k_damper
                tm, ts = self._k_dt
                for i in range(3):
                    d[i] += mul(v[i] - f[i], sm, ss - 8) - mul(d[i], dm, ds)
                    f[i] += mul(d[i], tm, ts + 8)

            # 5. inclination: turn the filtered acc, in the earth frame, to +z
            _q14(qa, t)
            _rotate(v, t, 1, f[0], f[1], f[2])
            vx, vy = v[0], v[1]
            vz = v[2]
            if vz > 0 and (abs(vx) + abs(vy)) < (vz >> 6) and vz < 1 << 22:
                # small tilt (the usual case): (1, v_y/(|v|+v_z), -v_x/(|v|+v_z), 0)
                # normalized, with |v| + v_z = 2 v_z + |v_h|²/(2 v_z) to 1e-10 (Q16)
                hx, hy = vx >> 8, vy >> 8  # Q8: |v_h|² in Q16 below 2^17 here
                den = (vz << 1) + _div(hx * hx + hy * hy, vz, 15)
                cx = _div(vy, den, 29)
                cy = _div(-vx, den, 29)
                _inc(qa, t, cx, cy, 0, True)
            else:  # a large tilt: (cw, sin(α/2) axis) exactly, with square roots
                m = abs(vx) | abs(vy) | abs(vz)
                sh = 0
                while m >> sh >= 1 << 14:  # squares below 2^28 each
                    sh += 1
                hx, hy = vx >> sh, vy >> sh
                zs = vz >> sh
                h2 = hx * hx + hy * hy
                norm = isqrt(h2 + zs * zs)
                h = isqrt(h2)
                cw = isqrt(_div(norm + zs, norm << 1, 28)) if norm > 0 else 16384  # Q14
                sin_half = isqrt(_ONE28 - cw * cw) if cw < 16384 else 0  # Q14
                if h > 0:
                    cx = mul(_div(hy, h, 29), sin_half, 14)
                    cy = mul(_div(-hx, h, 29), sin_half, 14)
                else:  # exactly upside down: any horizontal axis will do
                    cx, cy = sin_half << 15, 0
                _q14(qa, t)
                for i in range(4):
                    qa[i] = mul(qa[i], cw, 14)
                _inc(qa, t, cx, cy, 0, True, False)
            _normalize(qa, t)

        # q_sensor_to_earth = q_acc ⊗ q_gyr, in Q14
        _q14(qa, t)
        t2 = self._t2
        _q14(qg, t2)
        aw, ax_ = t[0], t[1]
        ay_, az_ = t[2], t[3]
        bw, bx = t2[0], t2[1]
        by, bz = t2[2], t2[3]
        q = self.q
        q[0] = (aw * bw - ax_ * bx - ay_ * by - az_ * bz + 8192) >> 14
        q[1] = (aw * bx + ax_ * bw + ay_ * bz - az_ * by + 8192) >> 14
        q[2] = (aw * by - ax_ * bz + ay_ * bw + az_ * bx + 8192) >> 14
        q[3] = (aw * bz + ax_ * by - ay_ * bx + az_ * bw + 8192) >> 14

        # 6. bias in motion (not during the start-up): the correction, in the
        #    sensor frame, integrated (Q32; the correction angle 2c, clamped)
        if not self.at_rest and n > self._acc_hi:
            c = _CORR_MAX >> 4
            x = (c if cx > c else -c if cx < -c else cx) << 4
            y = (c if cy > c else -c if cy < -c else cy) << 4
            _rotate(v, q, -1, x, y, 0)
            for i in range(3):
                bi = b[i] - v[i] // 100
                b[i] = _BIAS_MAX if bi > _BIAS_MAX else -_BIAS_MAX if bi < -_BIAS_MAX else bi


def _lowpass(f, n, start_n, k, x, y, z, shift):
    """f += k (v - f) (1/n during the start-up); returns |v - f|² after it, the
    deviation scaled down by ``shift`` bits and clamped to 2^14 per axis."""
    if n < start_n:
        f[0] += (x - f[0]) // n
        f[1] += (y - f[1]) // n
        f[2] += (z - f[2]) // n
    else:
        km, ks = k
        f[0] += mul(x - f[0], km, ks)
        f[1] += mul(y - f[1], km, ks)
        f[2] += mul(z - f[2], km, ks)
    x = (x - f[0]) >> shift
    y = (y - f[1]) >> shift
    z = (z - f[2]) >> shift
    x = 16384 if x > 16384 else -16384 if x < -16384 else x
    y = 16384 if y > 16384 else -16384 if y < -16384 else y
    z = 16384 if z > 16384 else -16384 if z < -16384 else z
    return x * x + y * y + z * z
