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
except ImportError:  # CPython: the same code as plain Python

    class micropython:  # noqa: N801 -- stands in for the module's decorators
        @staticmethod
        def viper(fn):
            return fn

    def const(x):
        return x

    class ptr32:  # noqa: N801 -- viper's 32-bit memory view, emulated
        """Loads zero-extended, stores the low 32 bits, as viper on a 64-bit host
        does (so the code's sign extensions behave the same everywhere)."""

        __slots__ = ("a",)

        def __init__(self, a):
            self.a = a

        def __getitem__(self, i):
            return self.a[i] & 0xFFFFFFFF

        def __setitem__(self, i, v):
            self.a[i] = ((v & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000


# --- parameters (those of fusion_float.py) ------------------------------------
TAU_ACC_S = 3.0  # acc low-pass in the almost inertial frame
REST_TAU_S = 0.5  # low-pass of gyr and acc for the rest detection
REST_MIN_S = 1.5  # stillness needed before at_rest is set
REST_GYR_TH_RADPS = 0.03490658503988659  # 2 °/s: |gyr - its low-pass| below this is still
REST_ACC_TH_MPS2 = 0.5  # |acc - its low-pass| below this is still
REST_DRIFT_TH_MPS2 = 0.17  # the low-passed acc moves less than this in a still run (1°)
REST_KEEP_TH_MPS2 = 0.0425  # a rest's bias is kept while gravity is this near its start (¼°)
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
_REST_DRIFT_TH2 = const(484862)  # (0.17 m/s² in Q12)²
_REST_KEEP_TH2 = const(30304)  # (0.0425 m/s² in Q12)²
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


@micropython.viper
def mul(a: int, m: int, s: int) -> int:
    """round(a * m / 2^s) without a product above 2^29: |a| < 2^30, |m| <= 2^14."""
    hi = (a >> 15) * m
    lo = (a & 0x7FFF) * m
    if s >= 15:
        r = 0
        if s > 15:
            r = 1 << (s - 16)
        return (hi + ((lo + 16384) >> 15) + r) >> (s - 15)
    return (hi << (15 - s)) + ((lo + ((1 << s) >> 1)) >> s)


@micropython.viper
def _div(a: int, d: int, bits: int) -> int:
    """a * 2^bits / d (truncated) for d > 0, 8 bits at a time so nothing passes
    2^30; |a| >= d gives ±(2^bits - 1) (the callers clamp there anyway)."""
    neg = 0
    if a < 0:
        neg = 1
        a = -a
    while d >= 1 << 21:
        d >>= 1
        a >>= 1
    if a >= d:
        if neg:
            return 1 - (1 << bits)
        return (1 << bits) - 1
    r = a % d
    res = a // d
    while bits > 0:
        b = 8
        if bits < 8:
            b = bits
        r <<= b
        res = (res << b) + r // d
        r %= d
        bits -= b
    if neg:
        return -res
    return res


@micropython.viper
def isqrt(x: int) -> int:
    """floor(sqrt(x)) for 0 <= x < 2^30 (Newton's method)."""
    if x <= 0:
        return 0
    r = x
    y = (r + 1) >> 1
    while y < r:
        r = y
        y = (r + x // r) >> 1
    return r


@micropython.viper
def _q14(q, out):
    """out = q (Q29) rounded to Q14."""
    a = ptr32(q)
    b = ptr32(out)
    b[0] = (((a[0] - ((((a[0] >> 31) & 1) << 31) << 1))) + 16384) >> 15
    b[1] = (((a[1] - ((((a[1] >> 31) & 1) << 31) << 1))) + 16384) >> 15
    b[2] = (((a[2] - ((((a[2] >> 31) & 1) << 31) << 1))) + 16384) >> 15
    b[3] = (((a[3] - ((((a[3] >> 31) & 1) << 31) << 1))) + 16384) >> 15


@micropython.viper
def _normalize(qa, ta):
    """q (Q29) back to unit length; t is a Q14 scratch copy.

    Within 1.6 % of unit length: q *= (3 - |q|²)/2 = 1 + e/2^29 with
    e = 2^28 - |q|² (Q28 from the Q14 copy), as a mantissa e >> 8 over 2^21.
    Beyond: exactly, with the integer square root."""
    q = ptr32(qa)
    t = ptr32(ta)
    for i in range(4):
        t[i] = (((q[i] - ((((q[i] >> 31) & 1) << 31) << 1))) + 16384) >> 15
    # sign-extend the loads: a 64-bit host zero-extends ptr32 loads; on the
    # ESP32's 32-bit words the expression is the identity (small constants only)
    t0 = (t[0] - ((((t[0] >> 31) & 1) << 31) << 1))
    t1 = (t[1] - ((((t[1] >> 31) & 1) << 31) << 1))
    t2 = (t[2] - ((((t[2] >> 31) & 1) << 31) << 1))
    t3 = (t[3] - ((((t[3] >> 31) & 1) << 31) << 1))
    n2 = t0 * t0 + t1 * t1 + t2 * t2 + t3 * t3  # Q28, < 2^30 while |q| < 2
    e = 268435456 - n2
    if e > -4194304 and e < 4194304:
        m = e >> 8
        for i in range(4):
            a = (q[i] - ((((q[i] >> 31) & 1) << 31) << 1))
            q[i] = a + ((((a >> 15) * m) + ((((a & 0x7FFF) * m) + 16384) >> 15) + 32) >> 6)
        return
    n = int(isqrt(n2))  # Q14
    if n == 0:
        q[0] = 536870912
        q[1] = 0
        q[2] = 0
        q[3] = 0
        return
    for i in range(4):
        v = (q[i] - ((((q[i] >> 31) & 1) << 31) << 1))
        q[i] = ((v // n) << 14) + (((v % n) << 14) // n)


@micropython.viper
def _inc(qa, ta, va, flags: int):
    """q += (0, v) ⊗ q (flags bit 0: left) or q ⊗ (0, v); v (3 values) and q in Q29.

    (w, u) ⊗ (0, v) = (-u·v, w v + u × v); (0, v) ⊗ (w, u) the same with
    u × v negated, done by negating u (the scalar part's sign follows). The
    vector is split into 14-bit halves: with |v| < 2^29 (1 rad) and the Q14
    copy ``t`` of q unit, every sum of products is below 2^29 (Cauchy-Schwarz
    on the high halves, |low half| < 2^14 on the low ones). flags bit 1: ``t``
    already holds the q to multiply (q itself was scaled since)."""
    q = ptr32(qa)
    t = ptr32(ta)
    v = ptr32(va)
    if (flags & 2) == 0:
        for i in range(4):
            t[i] = (((q[i] - ((((q[i] >> 31) & 1) << 31) << 1))) + 16384) >> 15
    w = (t[0] - ((((t[0] >> 31) & 1) << 31) << 1))
    a = (t[1] - ((((t[1] >> 31) & 1) << 31) << 1))
    b = (t[2] - ((((t[2] >> 31) & 1) << 31) << 1))
    c = (t[3] - ((((t[3] >> 31) & 1) << 31) << 1))
    if flags & 1:
        a = -a
        b = -b
        c = -c
    x = (v[0] - ((((v[0] >> 31) & 1) << 31) << 1))
    y = (v[1] - ((((v[1] >> 31) & 1) << 31) << 1))
    z = (v[2] - ((((v[2] >> 31) & 1) << 31) << 1))
    xh = x >> 14
    xl = x & 0x3FFF
    yh = y >> 14
    yl = y & 0x3FFF
    zh = z >> 14
    zl = z & 0x3FFF
    d0 = a * xh + b * yh + c * zh + ((a * xl + b * yl + c * zl + 8192) >> 14)
    d1 = w * xh + b * zh - c * yh + ((w * xl + b * zl - c * yl + 8192) >> 14)
    d2 = w * yh + c * xh - a * zh + ((w * yl + c * xl - a * zl + 8192) >> 14)
    d3 = w * zh + a * yh - b * xh + ((w * zl + a * yl - b * xl + 8192) >> 14)
    if flags & 1:
        q[0] = (q[0] - ((((q[0] >> 31) & 1) << 31) << 1)) + d0
    else:
        q[0] = (q[0] - ((((q[0] >> 31) & 1) << 31) << 1)) - d0
    q[1] = (q[1] - ((((q[1] >> 31) & 1) << 31) << 1)) + d1
    q[2] = (q[2] - ((((q[2] >> 31) & 1) << 31) << 1)) + d2
    q[3] = (q[3] - ((((q[3] >> 31) & 1) << 31) << 1)) + d3


@micropython.viper
def _rotate(outa, ta, va, sign: int):
    """out = t ⊗ v ⊗ t* (sign 1) or t* ⊗ v ⊗ t (sign -1); v and out 3 values
    (may be the same array), t a unit quaternion in Q14 (sign 2: as sign 1, with
    t in Q29, rounded to Q14 here as _q14 does); |v| < 2^29 (the partial sums
    reach 2 |v|); out has v's format."""
    out = ptr32(outa)
    t = ptr32(ta)
    v = ptr32(va)
    x = (v[0] - ((((v[0] >> 31) & 1) << 31) << 1))
    y = (v[1] - ((((v[1] >> 31) & 1) << 31) << 1))
    z = (v[2] - ((((v[2] >> 31) & 1) << 31) << 1))
    w = (t[0] - ((((t[0] >> 31) & 1) << 31) << 1))
    qx = (t[1] - ((((t[1] >> 31) & 1) << 31) << 1))
    qy = (t[2] - ((((t[2] >> 31) & 1) << 31) << 1))
    qz = (t[3] - ((((t[3] >> 31) & 1) << 31) << 1))
    if sign == 2:
        w = (w + 16384) >> 15
        qx = (qx + 16384) >> 15
        qy = (qy + 16384) >> 15
        qz = (qz + 16384) >> 15
    else:
        qx = sign * qx
        qy = sign * qy
        qz = sign * qz
    # v' = v + w s + u × s with u = (qx, qy, qz) and s = 2 u × v; the products
    # as mul() computes them (15-bit halves), inline: no call per product
    xh = x >> 15
    xl = x & 0x7FFF
    yh = y >> 15
    yl = y & 0x7FFF
    zh = z >> 15
    zl = z & 0x7FFF
    sx = ((zh * qy - yh * qz) << 2) + ((zl * qy + 4096) >> 13) - ((yl * qz + 4096) >> 13)
    sy = ((xh * qz - zh * qx) << 2) + ((xl * qz + 4096) >> 13) - ((zl * qx + 4096) >> 13)
    sz = ((yh * qx - xh * qy) << 2) + ((yl * qx + 4096) >> 13) - ((xl * qy + 4096) >> 13)
    ah = sx >> 15
    al = sx & 0x7FFF
    bh = sy >> 15
    bl = sy & 0x7FFF
    ch = sz >> 15
    cl = sz & 0x7FFF
    out[0] = x + ((ah * w + ch * qy - bh * qz) << 1) + ((al * w + 8192) >> 14) + (
        (cl * qy + 8192) >> 14) - ((bl * qz + 8192) >> 14)
    out[1] = y + ((bh * w + ah * qz - ch * qx) << 1) + ((bl * w + 8192) >> 14) + (
        (al * qz + 8192) >> 14) - ((cl * qx + 8192) >> 14)
    out[2] = z + ((ch * w + bh * qx - ah * qy) << 1) + ((cl * w + 8192) >> 14) + (
        (bl * qx + 8192) >> 14) - ((al * qy + 8192) >> 14)


@micropython.viper
def _lowpass(fa, va, pa) -> int:
    """f += k (v - f) (1/n during the start-up); returns |v - f|² after it, the
    deviation scaled down by ``shift`` bits and clamped to 2^14 per axis, or
    2^30 - 1 (above any threshold) if ``lim`` > 0 and some |f| >= lim after it.
    p = (n, start_n, k mantissa, k shift, shift, lim)."""
    f = ptr32(fa)
    v = ptr32(va)
    p = ptr32(pa)
    n = (p[0] - ((((p[0] >> 31) & 1) << 31) << 1))
    km = (p[2] - ((((p[2] >> 31) & 1) << 31) << 1))
    ks = (p[3] - ((((p[3] >> 31) & 1) << 31) << 1))
    shift = (p[4] - ((((p[4] >> 31) & 1) << 31) << 1))
    start = (p[1] - ((((p[1] >> 31) & 1) << 31) << 1))
    rk = 0  # mul's rounding term
    if ks > 15:
        rk = 1 << (ks - 16)
    elif ks < 15:
        rk = (1 << ks) >> 1
    dev = 0
    for i in range(3):
        x = (v[i] - ((((v[i] >> 31) & 1) << 31) << 1))
        fi = (f[i] - ((((f[i] >> 31) & 1) << 31) << 1))
        if n < start:
            f[i] = fi + (x - fi) // n
        else:  # mul(x - fi, km, ks) inline (a call per product costs more than it)
            a = x - fi
            hi = (a >> 15) * km
            lo = (a & 0x7FFF) * km
            if ks >= 15:
                f[i] = fi + ((hi + ((lo + 16384) >> 15) + rk) >> (ks - 15))
            else:
                f[i] = fi + (hi << (15 - ks)) + ((lo + rk) >> ks)
        d = (x - (f[i] - ((((f[i] >> 31) & 1) << 31) << 1))) >> shift
        if d > 16384:
            d = 16384
        if d < -16384:
            d = -16384
        dev += d * d
    lim = (p[5] - ((((p[5] >> 31) & 1) << 31) << 1))
    if lim > 0:
        for i in range(3):
            fi = (f[i] - ((((f[i] >> 31) & 1) << 31) << 1))
            if fi >= lim or fi <= 0 - lim:
                return 1073741823
    return dev


@micropython.viper
def _gyr_in(wa, gx: int, gy: int, gz: int):
    """w[0:3] = gyr (Q20) in Q24 clamped to ±32 rad/s (the rest low-pass's input),
    w[3:6] = gyr as it is (for _strapdown)."""
    w = ptr32(wa)
    w[3] = gx
    w[4] = gy
    w[5] = gz
    x = gx << 4
    if x > 536870912:  # 32 rad/s in Q24 (literals: no copy of a variable)
        x = 536870912
    if x < -536870912:
        x = -536870912
    w[0] = x
    x = gy << 4
    if x > 536870912:  # 32 rad/s in Q24 (literals: no copy of a variable)
        x = 536870912
    if x < -536870912:
        x = -536870912
    w[1] = x
    x = gz << 4
    if x > 536870912:  # 32 rad/s in Q24 (literals: no copy of a variable)
        x = 536870912
    if x < -536870912:
        x = -536870912
    w[2] = x


@micropython.viper
def _dist2(aa, ba) -> int:
    """|a - b|² in Q24 for a, b Q16 (3 values), each difference clamped to
    ±2 m/s² and taken to Q12 first (the sum stays below 2^28)."""
    a = ptr32(aa)
    b = ptr32(ba)
    dev = 0
    for i in range(3):
        x = (a[i] - ((((a[i] >> 31) & 1) << 31) << 1)) - (b[i] - ((((b[i] >> 31) & 1) << 31) << 1))
        if x > 131072:
            x = 131072
        if x < -131072:
            x = -131072
        x = x >> 4
        dev += x * x
    return dev


@micropython.viper
def _spring(fa, da, va, ka):
    """The acc low-pass, a damped spring pulled by v: d += ks (v - f) - kd d;
    f += dt d (f, v Q16; d Q24); k = (ks m, ks s, kd m, kd s, dt m, dt s)."""
    f = ptr32(fa)
    d = ptr32(da)
    v = ptr32(va)
    k = ptr32(ka)
    sm = k[0]  # the constants are positive: no sign extension needed
    ss = k[1]
    dm = k[2]
    ds = k[3]
    tm = k[4]
    ts = k[5]
    ss -= 8
    ts += 8
    # mul()'s rounding terms for the three shifts (its products inline below: a
    # call per product costs more than the product)
    rs = 0
    if ss > 15:
        rs = 1 << (ss - 16)
    elif ss < 15:
        rs = (1 << ss) >> 1
    rd = 0
    if ds > 15:
        rd = 1 << (ds - 16)
    elif ds < 15:
        rd = (1 << ds) >> 1
    rt = 0
    if ts > 15:
        rt = 1 << (ts - 16)
    elif ts < 15:
        rt = (1 << ts) >> 1
    for i in range(3):
        di = (d[i] - ((((d[i] >> 31) & 1) << 31) << 1))
        fi = (f[i] - ((((f[i] >> 31) & 1) << 31) << 1))
        vi = (v[i] - ((((v[i] >> 31) & 1) << 31) << 1))
        a = vi - fi  # mul(a, sm, ss)
        hi = (a >> 15) * sm
        lo = (a & 0x7FFF) * sm
        if ss >= 15:
            x = (hi + ((lo + 16384) >> 15) + rs) >> (ss - 15)
        else:
            x = (hi << (15 - ss)) + ((lo + rs) >> ss)
        hi = (di >> 15) * dm  # mul(di, dm, ds)
        lo = (di & 0x7FFF) * dm
        if ds >= 15:
            y = (hi + ((lo + 16384) >> 15) + rd) >> (ds - 15)
        else:
            y = (hi << (15 - ds)) + ((lo + rd) >> ds)
        di = di + x - y
        d[i] = di
        hi = (di >> 15) * tm  # mul(di, tm, ts)
        lo = (di & 0x7FFF) * tm
        if ts >= 15:
            f[i] = fi + ((hi + ((lo + 16384) >> 15) + rt) >> (ts - 15))
        else:
            f[i] = fi + (hi << (15 - ts)) + ((lo + rt) >> ts)


@micropython.viper
def _qmul14(outa, aa, ba):
    """out (Q14) = a ⊗ b for a, b in Q29, each first rounded to Q14 as _q14 does
    (unit quaternions: every sum below 2^29)."""
    out = ptr32(outa)
    a = ptr32(aa)
    b = ptr32(ba)
    aw = ((a[0] - ((((a[0] >> 31) & 1) << 31) << 1)) + 16384) >> 15
    ax = ((a[1] - ((((a[1] >> 31) & 1) << 31) << 1)) + 16384) >> 15
    ay = ((a[2] - ((((a[2] >> 31) & 1) << 31) << 1)) + 16384) >> 15
    az = ((a[3] - ((((a[3] >> 31) & 1) << 31) << 1)) + 16384) >> 15
    bw = ((b[0] - ((((b[0] >> 31) & 1) << 31) << 1)) + 16384) >> 15
    bx = ((b[1] - ((((b[1] >> 31) & 1) << 31) << 1)) + 16384) >> 15
    by = ((b[2] - ((((b[2] >> 31) & 1) << 31) << 1)) + 16384) >> 15
    bz = ((b[3] - ((((b[3] >> 31) & 1) << 31) << 1)) + 16384) >> 15
    out[0] = (aw * bw - ax * bx - ay * by - az * bz + 8192) >> 14
    out[1] = (aw * bx + ax * bw + ay * bz - az * by + 8192) >> 14
    out[2] = (aw * by - ax * bz + ay * bw + az * bx + 8192) >> 14
    out[3] = (aw * bz + ax * by - ay * bx + az * bw + 8192) >> 14


@micropython.viper
def _bias_rest(ba, fa, pa):
    """Bias (Q32) towards the low-passed gyr (Q24) at rest: the running mean for
    the first samples, then a low-pass. p = (rest samples, start n, k m, k s)."""
    b = ptr32(ba)
    f = ptr32(fa)
    p = ptr32(pa)
    bn = p[0]  # positive counts and constants
    start = p[1]
    km = p[2]
    ks = p[3]
    rk = 0  # mul's rounding term
    if ks > 15:
        rk = 1 << (ks - 16)
    elif ks < 15:
        rk = (1 << ks) >> 1
    for i in range(3):
        fi = f[i] - ((((f[i] >> 31) & 1) << 31) << 1)
        bi = b[i] - ((((b[i] >> 31) & 1) << 31) << 1)
        d = (fi << 8) - bi
        if bn < start:
            b[i] = bi + d // bn
        else:  # mul(d, km, ks) inline
            hi = (d >> 15) * km
            lo = (d & 0x7FFF) * km
            if ks >= 15:
                b[i] = bi + ((hi + ((lo + 16384) >> 15) + rk) >> (ks - 15))
            else:
                b[i] = bi + (hi << (15 - ks)) + ((lo + rk) >> ks)


@micropython.viper
def _bias_motion(ba, va):
    """Bias (Q32) -= correction (Q32, sensor frame) / TAU_BIAS_MOTION_S, clamped."""
    b = ptr32(ba)
    v = ptr32(va)
    lim = 374806014  # BIAS_MAX_RADPS in Q32
    for i in range(3):
        bi = b[i] - ((((b[i] >> 31) & 1) << 31) << 1)
        vi = v[i] - ((((v[i] >> 31) & 1) << 31) << 1)
        x = bi - vi // 100
        if x > lim:
            x = lim
        if x < -lim:
            x = -lim
        b[i] = x


@micropython.viper
def _strapdown(qa, ta, wa, ba):
    """Step 3: q_gyr ⊗ (1, δ (1 + |δ|²/3)), normalized, δ = (gyr - bias) dt/2 (Q29);
    w = (δ out x3, gyr Q20 x3, dt/2 mantissa, shift), b the bias (Q32)."""
    w = ptr32(wa)
    bb = ptr32(ba)
    hm = (w[6] - ((((w[6] >> 31) & 1) << 31) << 1))
    s = (w[7] - ((((w[7] >> 31) & 1) << 31) << 1)) - 9
    lim = 268435456  # 2^28 per axis: |δ| < 2^29 for _inc (never binding below 50 rad/s)
    # dx, dy, dz = mul(w[i], hm, s), inline (a call per product costs more than it)
    r = 0
    if s > 15:
        r = 1 << (s - 16)
    elif s < 15:
        r = (1 << s) >> 1
    a = (w[3] - ((((w[3] >> 31) & 1) << 31) << 1)) - (
        (bb[0] - ((((bb[0] >> 31) & 1) << 31) << 1)) >> 12)
    b = (w[4] - ((((w[4] >> 31) & 1) << 31) << 1)) - (
        (bb[1] - ((((bb[1] >> 31) & 1) << 31) << 1)) >> 12)
    c = (w[5] - ((((w[5] >> 31) & 1) << 31) << 1)) - (
        (bb[2] - ((((bb[2] >> 31) & 1) << 31) << 1)) >> 12)
    if s >= 15:
        dx = ((a >> 15) * hm + ((((a & 0x7FFF) * hm) + 16384) >> 15) + r) >> (s - 15)
        dy = ((b >> 15) * hm + ((((b & 0x7FFF) * hm) + 16384) >> 15) + r) >> (s - 15)
        dz = ((c >> 15) * hm + ((((c & 0x7FFF) * hm) + 16384) >> 15) + r) >> (s - 15)
    else:
        dx = (((a >> 15) * hm) << (15 - s)) + ((((a & 0x7FFF) * hm) + r) >> s)
        dy = (((b >> 15) * hm) << (15 - s)) + ((((b & 0x7FFF) * hm) + r) >> s)
        dz = (((c >> 15) * hm) << (15 - s)) + ((((c & 0x7FFF) * hm) + r) >> s)
    if dx > lim:
        dx = lim
    if dx < -lim:
        dx = -lim
    if dy > lim:
        dy = lim
    if dy < -lim:
        dy = -lim
    if dz > lim:
        dz = lim
    if dz < -lim:
        dz = -lim
    if dx == 0 and dy == 0 and dz == 0:
        return
    ex = dx >> 15
    ey = dy >> 15
    ez = dz >> 15
    d2 = ex * ex + ey * ey + ez * ez  # |δ|² in Q28
    # |δ|²/3 as a mantissa below 2^14, in the finest Q that allows
    sh = 14
    if d2 < 786432:
        sh = 4
    elif d2 < 25165824:
        sh = 9
    m = (d2 >> sh) // 3
    s = 28 - sh  # mul(d, m, s) inline: s is 14, 19 or 24
    if s >= 15:
        r = 1 << (s - 16)
        w[0] = dx + (((dx >> 15) * m + ((((dx & 0x7FFF) * m) + 16384) >> 15) + r) >> (s - 15))
        w[1] = dy + (((dy >> 15) * m + ((((dy & 0x7FFF) * m) + 16384) >> 15) + r) >> (s - 15))
        w[2] = dz + (((dz >> 15) * m + ((((dz & 0x7FFF) * m) + 16384) >> 15) + r) >> (s - 15))
    else:
        r = (1 << s) >> 1
        w[0] = dx + (((dx >> 15) * m) << (15 - s)) + ((((dx & 0x7FFF) * m) + r) >> s)
        w[1] = dy + (((dy >> 15) * m) << (15 - s)) + ((((dy & 0x7FFF) * m) + r) >> s)
        w[2] = dz + (((dz >> 15) * m) << (15 - s)) + ((((dz & 0x7FFF) * m) + r) >> s)
    _inc(qa, ta, wa, 0)
    _normalize(qa, ta)


@micropython.viper
def _incline(qa, ta, va, ca):
    """Step 5: turn q_acc so that v (the filtered acc in the earth frame, Q16;
    overwritten) points to +z; the correction's (cx, cy) (Q29) go to c.

    Small tilt (the usual case): (1, v_y/(|v|+v_z), -v_x/(|v|+v_z), 0)
    normalized, |v| + v_z = 2 v_z + |v_h|²/(2 v_z) (to 1e-10). Large tilt:
    (cw, sin(α/2) axis) exactly, with integer square roots."""
    v = ptr32(va)
    c = ptr32(ca)
    vx = (v[0] - ((((v[0] >> 31) & 1) << 31) << 1))
    vy = (v[1] - ((((v[1] >> 31) & 1) << 31) << 1))
    vz = (v[2] - ((((v[2] >> 31) & 1) << 31) << 1))
    # (not "a = v; if v < 0: a = -v": viper then negates v as well)
    avx = 0 - vx if vx < 0 else vx
    avy = 0 - vy if vy < 0 else vy
    avz = 0 - vz if vz < 0 else vz
    if vz > 0 and avx + avy < (vz >> 6) and vz < 4194304:
        hx = vx >> 8  # Q8: |v_h|² in Q16 below 2^17 here
        hy = vy >> 8
        den = (vz << 1) + int(_div(hx * hx + hy * hy, vz, 15))
        cx = int(_div(vy, den, 29))
        cy = int(_div(-vx, den, 29))
        c[0] = cx
        c[1] = cy
        v[0] = cx
        v[1] = cy
        v[2] = 0
        _inc(qa, ta, va, 1)
    else:
        m = avx | avy | avz
        sh = 0
        while (m >> sh) >= 16384:  # squares below 2^28 each
            sh += 1
        hx = vx >> sh
        hy = vy >> sh
        zs = vz >> sh
        h2 = hx * hx + hy * hy
        norm = int(isqrt(h2 + zs * zs))
        h = int(isqrt(h2))
        cw = 16384  # Q14
        if norm > 0:
            cw = int(isqrt(int(_div(norm + zs, norm << 1, 28))))
        sin_half = 0
        if cw < 16384:
            sin_half = int(isqrt(268435456 - cw * cw))
        if h > 0:
            cx = int(mul(int(_div(hy, h, 29)), sin_half, 14))
            cy = int(mul(int(_div(-hx, h, 29)), sin_half, 14))
        else:  # exactly upside down: any horizontal axis will do
            cx = sin_half << 15
            cy = 0
        c[0] = cx
        c[1] = cy
        q = ptr32(qa)
        t = ptr32(ta)
        for i in range(4):
            t[i] = (((q[i] - ((((q[i] >> 31) & 1) << 31) << 1))) + 16384) >> 15
        for i in range(4):
            q[i] = int(mul(((q[i] - ((((q[i] >> 31) & 1) << 31) << 1))), cw, 14))
        v[0] = cx
        v[1] = cy
        v[2] = 0
        _inc(qa, ta, va, 3)
    _normalize(qa, ta)


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
        self._rest_acc_ref = array("i", (0, 0, 0))  # Q16, it at the still run's start
        self._rest_acc_keep = array("i", (0, 0, 0))  # Q16, it when at_rest was set
        self._bias_keep = array("i", (0, 0, 0))  # Q32, the bias before gravity moved
        self._bias_next = array("i", (0, 0, 0))  # Q32, the next checkpoint's bias
        self._keep_n = 0  # rest samples near _rest_acc_keep since the last checkpoint
        self._keep_bias_n = 0  # _bias_n at the checkpoints of _bias_keep and _bias_next
        self._next_bias_n = 0
        self._v = array("i", (0, 0, 0))  # scratch vectors
        self._w = array("i", (0, 0, 0, 0, 0, 0, 0, 0))  # scratch x3, gyr x3, dt/2 m, s
        self._c = array("i", (0, 0))  # the inclination correction (cx, cy), Q29
        self._t = array("i", (16384, 0, 0, 0))  # scratch Q14 quaternion
        # the rest low-passes: n, start n, k m, k s, shift, |f| bound (gyr, acc)
        self._p_rest = array("i", (0, 0, 0, 0, 10, _BIAS_MAX_24))
        self._p_rest_acc = array("i", (0, 0, 0, 0, 2, 0))
        self._p_bias = array("i", (0, 0, 0, 0))  # rest samples, start n, k m, k s
        self._k_acc = array("i", (0, 0, 0, 0, 0, 0))  # spring, damper, dt: m, s each
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
        self._keep_every_n = math.ceil(REST_TAU_S / period_s - 1e-6)
        self._rest_n = 0
        for p in (self._p_rest, self._p_rest_acc):
            p[1] = self._rest_start_n
            p[2], p[3] = self._k_rest
        p = self._p_bias
        p[1] = self._bias_start_n
        p[2], p[3] = self._k_bias_rest
        k = self._k_acc
        k[0], k[1] = self._k_spring
        k[2], k[3] = self._k_damper
        k[4], k[5] = self._k_dt
        self._w[6], self._w[7] = self._h

    def reset(self):
        """Back to the initial state, keeping the bias estimate."""
        for a in (self._q_gyr, self._q_acc):
            a[0], a[1], a[2], a[3] = _ONE29, 0, 0, 0
        q = self.q
        q[0], q[1], q[2], q[3] = 16384, 0, 0, 0
        for a in (self._acc_lp, self._acc_lp_rate, self._rest_gyr_lp, self._rest_acc_lp,
                  self._rest_acc_ref, self._rest_acc_keep):
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
        """One sample: gyr rad/s Q20, acc m/s² Q16, sensor frame. The arithmetic is
        in the viper helpers above (native code on the board); this only wires
        them, allocating nothing."""
        n = self._n + 1
        if n < _COUNT_MAX:
            self._n = n
        b = self.bias
        v = self._v
        w = self._w

        # 1. rest detection on low-passed gyr (Q24, clamped; still only while the
        #    low-pass is within ±BIAS_MAX) and acc (Q16)
        _gyr_in(w, gx, gy, gz)
        p = self._p_rest
        p[0] = n
        f = self._rest_gyr_lp
        still = _lowpass(f, w, p) < _REST_GYR_TH2
        w[0] = ax
        w[1] = ay
        w[2] = az
        p = self._p_rest_acc
        p[0] = n
        fa = self._rest_acc_lp
        dev = _lowpass(fa, w, p)
        still = still and dev < _REST_ACC_TH2
        drifted = False
        rn = self._rest_n
        if still:  # not if gravity moved since the run's start (a slow steady turn)
            r = self._rest_acc_ref
            if rn == 0:
                r[0] = fa[0]
                r[1] = fa[1]
                r[2] = fa[2]
            still = _dist2(fa, r) < _REST_DRIFT_TH2
            drifted = not still
        if still:
            n_min = self._rest_n_min
            if rn < n_min:
                rn += 1
                self._rest_n = rn
                if rn == n_min:  # a rest begins: where gravity is
                    r = self._rest_acc_keep
                    r[0] = fa[0]
                    r[1] = fa[1]
                    r[2] = fa[2]
                    r = self._bias_keep
                    r[0] = b[0]
                    r[1] = b[1]
                    r[2] = b[2]
                    r = self._bias_next
                    r[0] = b[0]
                    r[1] = b[1]
                    r[2] = b[2]
                    self._keep_n = 0
                    self._keep_bias_n = self._bias_n
                    self._next_bias_n = self._bias_n
            at_rest = rn >= n_min
            self.at_rest = at_rest
        else:
            if self.at_rest and drifted and self._keep_bias_n >= self._rest_n_min:
                r = self._bias_keep  # a slow steady turn ended a rest: back to before it
                b[0] = r[0]
                b[1] = r[1]
                b[2] = r[2]
            self._rest_n = 0
            self.at_rest = at_rest = False

        # 2. bias at rest: running mean of the low-passed gyr, then a low-pass (Q32);
        #    checkpoints while the low-passed acc is near where the rest began
        if at_rest:
            bn = self._bias_n
            if bn < _COUNT_MAX:
                bn += 1
                self._bias_n = bn
            p = self._p_bias
            p[0] = bn
            _bias_rest(b, f, p)
            if _dist2(fa, self._rest_acc_keep) < _REST_KEEP_TH2:
                kn = self._keep_n + 1
                self._keep_n = kn
                if kn >= self._keep_every_n:
                    r = self._bias_keep
                    c = self._bias_next
                    r[0] = c[0]
                    r[1] = c[1]
                    r[2] = c[2]
                    c[0] = b[0]
                    c[1] = b[1]
                    c[2] = b[2]
                    self._keep_n = 0
                    self._keep_bias_n = self._next_bias_n
                    self._next_bias_n = self._bias_n

        # 3. strapdown: q_gyr ⊗ (1, δ (1 + |δ|²/3)), δ = (gyr - bias) dt/2, Q29
        #    (the gyr in w[3:6], from _gyr_in)
        qg = self._q_gyr
        t = self._t
        _strapdown(qg, t, w, b)

        # 4. acc into the almost inertial frame, second-order low-pass there (Q16)
        qa = self._q_acc
        cc = self._c
        cc[0] = 0
        cc[1] = 0
        if ax or ay or az:  # an all-zero sample has no tilt
            v[0] = ax
            v[1] = ay
            v[2] = az
            _rotate(v, qg, v, 2)  # by q_gyr (Q29, rounded to Q14 there)
            f = self._acc_lp
            if n < self._acc_lo:  # start-up: the running mean
                f[0] += (v[0] - f[0]) // n
                f[1] += (v[1] - f[1]) // n
                f[2] += (v[2] - f[2]) // n
            else:  # a damped spring pulled by the measured acc
                _spring(f, self._acc_lp_rate, v, self._k_acc)
            # 5. inclination: turn the filtered acc, in the earth frame, to +z
            _rotate(v, qa, f, 2)
            _incline(qa, t, v, cc)

        # q_sensor_to_earth = q_acc ⊗ q_gyr, in Q14 (each rounded to Q14 first)
        q = self.q
        _qmul14(q, qa, qg)

        # 6. bias in motion (not during the start-up): the correction, in the
        #    sensor frame, integrated (Q32; the correction angle 2c, clamped)
        if not at_rest and n > self._acc_hi:
            c = _CORR_MAX >> 4
            x = cc[0]
            v[0] = (c if x > c else -c if x < -c else x) << 4
            x = cc[1]
            v[1] = (c if x > c else -c if x < -c else x) << 4
            v[2] = 0
            _rotate(v, q, v, -1)
            _bias_motion(b, v)
