"""Orientation stage: ``q_sensor_to_earth`` from gyroscope and accelerometer (6D).

The second stage of the host pipeline (docs/pipeline.md): decoded samples in,
the orientation of the sensor out. :class:`OrientationFilter` is causal and
streams (live view, live scores); :func:`orientation_offline` uses the whole
recording, future samples included (reports). Both run the algorithm of the
device's own filter in double precision (its float form, firmware/sim/fusion_float.py;
the board runs the same filter in fixed point, firmware/fusion.py); the steps,
parameters and references are in their docstrings.

Frames (protocol/SPEC.md 1.1): inputs in the **sensor** frame; output
``q_sensor_to_earth`` (w, x, y, z; ``v_earth = q ⊗ v_sensor ⊗ q*``), earth z
up, heading arbitrary (no magnetometer): that of the first sample's smallest
tilt, then drifting slowly.

Speed: the per-sample loops are compiled by numba (``@njit(cache=True)``:
compiled on the first use on a machine, then loaded from ``__pycache__``).
Without numba the same functions run as plain Python, about 100 times slower.
bench/orientation_broad.py measures accuracy on BROAD and the speed.
"""

from __future__ import annotations

import logging
import math

import numpy as np

log = logging.getLogger(__name__)

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency; this keeps the stage usable
    njit = None
    log.warning("numba is not installed: sacrum.signal.orientation runs as plain Python, "
                "about 100 times slower (pip install numba)")


def _jit(fn):
    """``fn`` compiled by numba (cached on disk), or ``fn`` itself without numba.

    The functions below are written in the subset of Python that numba
    compiles (scalars, tuples, numpy arrays); run as plain Python (no numba,
    or ``NUMBA_DISABLE_JIT=1``) they give the same numbers.
    """
    return fn if njit is None else njit(cache=True)(fn)


# --- filter state: one float64 array, carried from one update() to the next -----------
_Q_GYR = 0  # (4) sensor -> almost inertial frame
_Q_ACC = 4  # (4) almost inertial -> earth frame (inclination correction)
_ACC_LP = 8  # (3) low-passed acc in the almost inertial frame, m/s²
_ACC_LP_RATE = 11  # (3) its rate of change, m/s³
_REST_GYR_LP = 14  # (3) low-passed gyr for rest detection, rad/s
_REST_ACC_LP = 17  # (3) low-passed acc for rest detection, m/s²
_BIAS = 20  # (3) gyroscope bias estimate, rad/s
_GYR_LAST = 23  # (3) last valid gyr sample, rad/s (to bridge gaps)
_N = 26  # samples since the last (re)start
_REST_N = 27  # consecutive still samples (capped at the rest minimum)
_BIAS_N = 28  # rest samples used for the bias since start-up
_GAP_N = 29  # lost samples since the last valid one
_AT_REST = 30  # 1.0 while at rest
_RESTART = 31  # 0: running; 1: restart keeping the heading; 2: restart from identity
_REST_ACC_REF = 32  # (3) the rest low-passed acc at the first sample of a still run, m/s²
_REST_ACC_KEEP = 35  # (3) the rest low-passed acc when at_rest was last set, m/s²
_BIAS_KEEP = 38  # (3) the bias before gravity moved: the checkpoint before the last, rad/s
_BIAS_NEXT = 41  # (3) the bias at the last checkpoint, rad/s
_KEEP_N = 44  # rest samples near _REST_ACC_KEEP since the last checkpoint
_KEEP_BIAS_N = 45  # _BIAS_N when _BIAS_KEEP was the bias
_NEXT_BIAS_N = 46  # _BIAS_N when _BIAS_NEXT was the bias
_STATE_SIZE = 47

_RESTART_KEEP_HEADING = 1.0
_RESTART_FROM_IDENTITY = 2.0

# --- parameters, in the order of the parameter array ----------------------------------
_P_DT = 0  # sample period, s
_P_TAU_ACC = 1  # acc low-pass time constant, s
_P_K_SPRING = 2  # ω² dt of the acc low-pass, 1/s
_P_K_DAMPER = 3  # 2 ζ ω dt of the acc low-pass
_P_K_REST = 4  # gain of the rest-detection low-passes per sample
_P_REST_N_MIN = 5  # still samples needed for at_rest
_P_REST_GYR_TH2 = 6  # (rad/s)²
_P_REST_ACC_TH2 = 7  # (m/s²)²
_P_BIAS_MAX = 8  # rad/s
_P_K_BIAS_REST = 9  # gain of the bias low-pass at rest per sample
_P_TAU_BIAS_MOTION = 10  # s
_P_MAX_GAP = 11  # s
_P_REST_DRIFT_TH2 = 12  # (m/s²)²
_P_REST_KEEP_TH2 = 13  # (m/s²)²
_P_KEEP_EVERY_N = 14  # rest samples between two bias checkpoints
_P_SIZE = 15


# --- quaternions (w, x, y, z) and vectors as tuples -----------------------------------
@_jit
def _qmul(a, b):
    """a ⊗ b, normalized (Hamilton product)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    w = aw * bw - ax * bx - ay * by - az * bz
    x = aw * bx + ax * bw + ay * bz - az * by
    y = aw * by - ax * bz + ay * bw + az * bx
    z = aw * bz + ax * by - ay * bx + az * bw
    n = math.sqrt(w * w + x * x + y * y + z * z)
    return (w / n, x / n, y / n, z / n)


@_jit
def _rotate(q, v):
    """q ⊗ v ⊗ q* for a unit quaternion q and a vector v."""
    w, qx, qy, qz = q
    x, y, z = v
    # v' = v + w t + u × t with u = (qx, qy, qz) and t = 2 u × v
    tx = 2.0 * (qy * z - qz * y)
    ty = 2.0 * (qz * x - qx * z)
    tz = 2.0 * (qx * y - qy * x)
    return (x + w * tx + qy * tz - qz * ty, y + w * ty + qz * tx - qx * tz,
            z + w * tz + qx * ty - qy * tx)


@_jit
def _turn(q, w, duration_s):
    """q ⊗ exp(w duration / 2): q turned by the body rate w (rad/s) for duration_s."""
    rate = math.sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2])
    if rate <= 1e-12:
        return q
    half = 0.5 * rate * duration_s
    s = math.sin(half) / rate
    return _qmul(q, (math.cos(half), s * w[0], s * w[1], s * w[2]))


@_jit
def _lowpass(f, k, v):
    """First-order low-pass step f + k (v - f); returns it and |v - it|²."""
    f = (f[0] + k * (v[0] - f[0]), f[1] + k * (v[1] - f[1]), f[2] + k * (v[2] - f[2]))
    dx, dy, dz = v[0] - f[0], v[1] - f[1], v[2] - f[2]
    return f, dx * dx + dy * dy + dz * dz


@_jit
def _spring(f, rate, v, k_spring, k_damper, dt):
    """One step of the acc low-pass, a damped spring pulling f towards v: f, its rate."""
    rate = (rate[0] + k_spring * (v[0] - f[0]) - k_damper * rate[0],
            rate[1] + k_spring * (v[1] - f[1]) - k_damper * rate[1],
            rate[2] + k_spring * (v[2] - f[2]) - k_damper * rate[2])
    return (f[0] + dt * rate[0], f[1] + dt * rate[1], f[2] + dt * rate[2]), rate


@_jit
def _level(q_acc, acc_lp):
    """Inclination correction: q_acc turned so that acc_lp, seen in earth, points to +z.

    Returns the new q_acc and the x, y parts of the correction quaternion (the
    correction angle about earth x and y, halved); (0, 0) if no correction was
    made (``acc_lp`` zero) or if it was a half turn (``acc_lp`` pointing down).
    """
    e = _rotate(q_acc, acc_lp)
    norm = math.sqrt(e[0] * e[0] + e[1] * e[1] + e[2] * e[2])
    if norm == 0.0:
        return q_acc, 0.0, 0.0
    cw = math.sqrt(0.5 + 0.5 * e[2] / norm)
    if cw <= 1e-6:  # exactly upside down: any horizontal axis will do
        return _qmul((cw, 1.0, 0.0, 0.0), q_acc), 0.0, 0.0
    cx, cy = 0.5 * e[1] / (norm * cw), -0.5 * e[0] / (norm * cw)
    return _qmul((cw, cx, cy, 0.0), q_acc), cx, cy


@_jit
def _finite(v):
    """Whether all three values are finite."""
    return math.isfinite(v[0] + v[1] + v[2])


@_jit
def _filter_kernel(acc, gyr, p, s, q_out, bias_out, rest_out):
    """The steps of :class:`OrientationFilter` over samples ``acc``, ``gyr`` (N, 3).

    Starts from state ``s`` and leaves the final state in it; writes
    q_sensor_to_earth (N, 4), the bias (N, 3) and at_rest (N,) of each sample.
    """
    dt, tau_acc_s, bias_max = p[_P_DT], p[_P_TAU_ACC], p[_P_BIAS_MAX]
    q_gyr = (s[_Q_GYR], s[_Q_GYR + 1], s[_Q_GYR + 2], s[_Q_GYR + 3])
    q_acc = (s[_Q_ACC], s[_Q_ACC + 1], s[_Q_ACC + 2], s[_Q_ACC + 3])
    acc_lp = (s[_ACC_LP], s[_ACC_LP + 1], s[_ACC_LP + 2])
    acc_lp_rate = (s[_ACC_LP_RATE], s[_ACC_LP_RATE + 1], s[_ACC_LP_RATE + 2])
    rest_gyr_lp = (s[_REST_GYR_LP], s[_REST_GYR_LP + 1], s[_REST_GYR_LP + 2])
    rest_acc_lp = (s[_REST_ACC_LP], s[_REST_ACC_LP + 1], s[_REST_ACC_LP + 2])
    rest_acc_ref = (s[_REST_ACC_REF], s[_REST_ACC_REF + 1], s[_REST_ACC_REF + 2])
    rest_acc_keep = (s[_REST_ACC_KEEP], s[_REST_ACC_KEEP + 1], s[_REST_ACC_KEEP + 2])
    bias = (s[_BIAS], s[_BIAS + 1], s[_BIAS + 2])
    bias_keep = (s[_BIAS_KEEP], s[_BIAS_KEEP + 1], s[_BIAS_KEEP + 2])
    bias_next = (s[_BIAS_NEXT], s[_BIAS_NEXT + 1], s[_BIAS_NEXT + 2])
    keep_n, keep_bias_n, next_bias_n = s[_KEEP_N], s[_KEEP_BIAS_N], s[_NEXT_BIAS_N]
    gyr_last = (s[_GYR_LAST], s[_GYR_LAST + 1], s[_GYR_LAST + 2])
    n, rest_n, bias_n, gap_n = s[_N], s[_REST_N], s[_BIAS_N], s[_GAP_N]
    at_rest, restart = s[_AT_REST] != 0.0, s[_RESTART]
    zero = (0.0, 0.0, 0.0)
    for i in range(acc.shape[0]):
        a = (acc[i, 0], acc[i, 1], acc[i, 2])
        g = (gyr[i, 0], gyr[i, 1], gyr[i, 2])

        # 0. gaps: a lost sample gives NaN and waits; a long gap restarts the filter
        #    (keeping heading and bias); a short one is bridged at the mean rate
        if not (_finite(a) and _finite(g)):
            gap_n += 1.0
            q_out[i, :] = math.nan
            bias_out[i, :] = math.nan
            rest_out[i] = False
            continue
        if gap_n * dt > p[_P_MAX_GAP] and restart == 0.0:
            restart = _RESTART_KEEP_HEADING
        if restart != 0.0:
            if restart == _RESTART_KEEP_HEADING:
                q_gyr = _qmul(q_acc, q_gyr)
            else:
                q_gyr = (1.0, 0.0, 0.0, 0.0)
            q_acc = (1.0, 0.0, 0.0, 0.0)
            acc_lp, acc_lp_rate, rest_gyr_lp, rest_acc_lp = zero, zero, zero, zero
            rest_acc_ref, rest_acc_keep = zero, zero
            n, rest_n, at_rest, restart = 0.0, 0.0, False, 0.0
        elif gap_n > 0.0:
            w = (0.5 * (gyr_last[0] + g[0]) - bias[0], 0.5 * (gyr_last[1] + g[1]) - bias[1],
                 0.5 * (gyr_last[2] + g[2]) - bias[2])
            q_gyr = _turn(q_gyr, w, gap_n * dt)
        gap_n = 0.0
        gyr_last = g
        n += 1.0

        # 1. rest detection on low-passed gyr and acc (running means at start-up)
        k = p[_P_K_REST] if p[_P_K_REST] * n >= 1.0 else 1.0 / n
        rest_gyr_lp, dev_gyr = _lowpass(rest_gyr_lp, k, g)
        rest_acc_lp, dev_acc = _lowpass(rest_acc_lp, k, a)
        still = (dev_gyr < p[_P_REST_GYR_TH2] and dev_acc < p[_P_REST_ACC_TH2]
                 and abs(rest_gyr_lp[0]) < bias_max and abs(rest_gyr_lp[1]) < bias_max
                 and abs(rest_gyr_lp[2]) < bias_max)
        drifted = False
        if still:  # not if gravity moved since the still run began (a slow steady turn)
            if rest_n == 0.0:
                rest_acc_ref = rest_acc_lp
            dx, dy = rest_acc_lp[0] - rest_acc_ref[0], rest_acc_lp[1] - rest_acc_ref[1]
            dz = rest_acc_lp[2] - rest_acc_ref[2]
            still = dx * dx + dy * dy + dz * dz < p[_P_REST_DRIFT_TH2]
            drifted = not still
        if still:
            if rest_n < p[_P_REST_N_MIN]:
                rest_n += 1.0
                if rest_n >= p[_P_REST_N_MIN]:  # a rest begins: where gravity is
                    rest_acc_keep, bias_keep, bias_next, keep_n = rest_acc_lp, bias, bias, 0.0
                    keep_bias_n, next_bias_n = bias_n, bias_n
            at_rest = rest_n >= p[_P_REST_N_MIN]
        else:
            if at_rest and drifted and keep_bias_n >= p[_P_REST_N_MIN]:
                bias = bias_keep  # a slow steady turn ended a rest: back to before it
            rest_n, at_rest = 0.0, False

        # 2. bias at rest: running mean of the low-passed gyr, then a low-pass;
        #    checkpoints while the low-passed acc is near where the rest began
        if at_rest:
            bias_n += 1.0
            k = p[_P_K_BIAS_REST] if p[_P_K_BIAS_REST] * bias_n >= 1.0 else 1.0 / bias_n
            bias, _ = _lowpass(bias, k, rest_gyr_lp)
            dx = rest_acc_lp[0] - rest_acc_keep[0]
            dy, dz = rest_acc_lp[1] - rest_acc_keep[1], rest_acc_lp[2] - rest_acc_keep[2]
            if dx * dx + dy * dy + dz * dz < p[_P_REST_KEEP_TH2]:
                keep_n += 1.0
                if keep_n >= p[_P_KEEP_EVERY_N]:
                    bias_keep, bias_next, keep_n = bias_next, bias, 0.0
                    keep_bias_n, next_bias_n = next_bias_n, bias_n

        # 3. strapdown integration: q_gyr = q_gyr ⊗ exp((gyr - bias) dt / 2)
        q_gyr = _turn(q_gyr, (g[0] - bias[0], g[1] - bias[1], g[2] - bias[2]), dt)

        # 4. acc into the almost inertial frame, second-order low-pass there
        cx, cy = 0.0, 0.0
        if a[0] != 0.0 or a[1] != 0.0 or a[2] != 0.0:  # an all-zero sample has no tilt
            v = _rotate(q_gyr, a)
            if n * dt < tau_acc_s:  # start-up: the running mean
                acc_lp, _ = _lowpass(acc_lp, 1.0 / n, v)
            else:
                acc_lp, acc_lp_rate = _spring(acc_lp, acc_lp_rate, v, p[_P_K_SPRING],
                                              p[_P_K_DAMPER], dt)

            # 5. inclination correction: turn the filtered acc, seen in earth, to +z
            q_acc, cx, cy = _level(q_acc, acc_lp)
        q = _qmul(q_acc, q_gyr)  # q_sensor_to_earth = q_acc ⊗ q_gyr

        # 6. bias in motion (not during start-up): the correction, in the sensor
        #    frame, integrated with time constant tau_bias_motion_s
        if not at_rest and n * dt > tau_acc_s:
            v = _rotate((q[0], -q[1], -q[2], -q[3]), (2.0 * cx, 2.0 * cy, 0.0))
            k = -1.0 / p[_P_TAU_BIAS_MOTION]
            bias = (min(max(bias[0] + k * v[0], -bias_max), bias_max),
                    min(max(bias[1] + k * v[1], -bias_max), bias_max),
                    min(max(bias[2] + k * v[2], -bias_max), bias_max))

        q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3] = q
        bias_out[i, 0], bias_out[i, 1], bias_out[i, 2] = bias
        rest_out[i] = at_rest

    s[_Q_GYR], s[_Q_GYR + 1], s[_Q_GYR + 2], s[_Q_GYR + 3] = q_gyr
    s[_Q_ACC], s[_Q_ACC + 1], s[_Q_ACC + 2], s[_Q_ACC + 3] = q_acc
    s[_ACC_LP], s[_ACC_LP + 1], s[_ACC_LP + 2] = acc_lp
    s[_ACC_LP_RATE], s[_ACC_LP_RATE + 1], s[_ACC_LP_RATE + 2] = acc_lp_rate
    s[_REST_GYR_LP], s[_REST_GYR_LP + 1], s[_REST_GYR_LP + 2] = rest_gyr_lp
    s[_REST_ACC_LP], s[_REST_ACC_LP + 1], s[_REST_ACC_LP + 2] = rest_acc_lp
    s[_REST_ACC_REF], s[_REST_ACC_REF + 1], s[_REST_ACC_REF + 2] = rest_acc_ref
    s[_REST_ACC_KEEP], s[_REST_ACC_KEEP + 1], s[_REST_ACC_KEEP + 2] = rest_acc_keep
    s[_BIAS_KEEP], s[_BIAS_KEEP + 1], s[_BIAS_KEEP + 2] = bias_keep
    s[_BIAS_NEXT], s[_BIAS_NEXT + 1], s[_BIAS_NEXT + 2] = bias_next
    s[_KEEP_N], s[_KEEP_BIAS_N], s[_NEXT_BIAS_N] = keep_n, keep_bias_n, next_bias_n
    s[_BIAS], s[_BIAS + 1], s[_BIAS + 2] = bias
    s[_GYR_LAST], s[_GYR_LAST + 1], s[_GYR_LAST + 2] = gyr_last
    s[_N], s[_REST_N], s[_BIAS_N], s[_GAP_N] = n, rest_n, bias_n, gap_n
    s[_AT_REST], s[_RESTART] = 1.0 if at_rest else 0.0, restart


@_jit
def _smoother_kernel(acc, gyr, bias, p, q_start, q_out):
    """Steps 4-6 of :func:`orientation_offline` on one segment (no long gap inside).

    Writes q_sensor_to_earth (N, 4) into ``q_out``, NaN for lost samples; the
    almost inertial frame starts at ``q_start``, the earth frame.
    """
    dt, tau_acc_s = p[_P_DT], p[_P_TAU_ACC]
    n_rows = acc.shape[0]
    acc_lp = np.zeros((n_rows, 3))  # acc in the almost inertial frame, then low-passed
    tilt = np.zeros(n_rows, dtype=np.bool_)  # rows whose acc tells the tilt

    # 4. strapdown integration of gyr - bias; gaps bridged as in real time
    q_gyr = (q_start[0], q_start[1], q_start[2], q_start[3])
    gyr_last, gap_n, started = (0.0, 0.0, 0.0), 0.0, False
    for i in range(n_rows):
        a = (acc[i, 0], acc[i, 1], acc[i, 2])
        g = (gyr[i, 0], gyr[i, 1], gyr[i, 2])
        b = (bias[i, 0], bias[i, 1], bias[i, 2])
        if not (_finite(a) and _finite(g) and _finite(b)):
            gap_n += 1.0
            q_out[i, :] = math.nan
            continue
        if gap_n > 0.0 and started:
            w = (0.5 * (gyr_last[0] + g[0]) - b[0], 0.5 * (gyr_last[1] + g[1]) - b[1],
                 0.5 * (gyr_last[2] + g[2]) - b[2])
            q_gyr = _turn(q_gyr, w, gap_n * dt)
        gyr_last, gap_n, started = g, 0.0, True
        q_gyr = _turn(q_gyr, (g[0] - b[0], g[1] - b[1], g[2] - b[2]), dt)
        q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3] = q_gyr
        if a[0] != 0.0 or a[1] != 0.0 or a[2] != 0.0:
            acc_lp[i, 0], acc_lp[i, 1], acc_lp[i, 2] = _rotate(q_gyr, a)
            tilt[i] = True

    # 5. zero-phase low-pass of that acc: forwards (the running mean for the first
    #    tau_acc_s), then backwards from where the forward pass ended, at rest
    f, rate, k = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.0
    for i in range(n_rows):
        if tilt[i]:
            k += 1.0
            v = (acc_lp[i, 0], acc_lp[i, 1], acc_lp[i, 2])
            if k * dt < tau_acc_s:
                f, _ = _lowpass(f, 1.0 / k, v)
            else:
                f, rate = _spring(f, rate, v, p[_P_K_SPRING], p[_P_K_DAMPER], dt)
            acc_lp[i, 0], acc_lp[i, 1], acc_lp[i, 2] = f
    rate = (0.0, 0.0, 0.0)
    for i in range(n_rows - 1, -1, -1):
        if tilt[i]:
            v = (acc_lp[i, 0], acc_lp[i, 1], acc_lp[i, 2])
            f, rate = _spring(f, rate, v, p[_P_K_SPRING], p[_P_K_DAMPER], dt)
            acc_lp[i, 0], acc_lp[i, 1], acc_lp[i, 2] = f

    # 6. inclination correction, sample by sample as in real time
    q_acc = (1.0, 0.0, 0.0, 0.0)
    for i in range(n_rows):
        if tilt[i]:
            q_acc, _, _ = _level(q_acc, (acc_lp[i, 0], acc_lp[i, 1], acc_lp[i, 2]))
        if math.isfinite(q_out[i, 0]):
            q_gyr = (q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3])
            q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3] = _qmul(q_acc, q_gyr)


def _as_samples(acc_mps2, gyr_radps):
    """Both inputs as C-contiguous float64 (N, 3) arrays of the same length."""
    acc = np.ascontiguousarray(acc_mps2, dtype=np.float64)
    gyr = np.ascontiguousarray(gyr_radps, dtype=np.float64)
    for name, x in (("acc_mps2", acc), ("gyr_radps", gyr)):
        if x.ndim != 2 or x.shape[1] != 3:
            raise ValueError(f"{name} must have shape (N, 3), one row per sample; got {x.shape}")
    if len(acc) != len(gyr):
        raise ValueError(f"acc_mps2 has {len(acc)} samples but gyr_radps has {len(gyr)}; "
                         "pass the same samples of both (NaN rows for lost ones)")
    return acc, gyr


class OrientationFilter:
    """Causal orientation of the sensor from gyr and acc: the device's filter, on the host.

    The algorithm of the device's filter (firmware/sim/fusion_float.py, the float form of
    the fixed-point firmware/fusion.py: a simplified real-time VQF, Laidig &
    Seel 2023) in double precision, with the same steps and defaults and
    with lost samples handled (step 0). The gyroscope is integrated into an
    *almost inertial* frame; the accelerometer is low-pass filtered in that
    frame, which averages out linear acceleration without lagging behind
    rotation; the inclination of the almost inertial frame is then corrected
    to the filtered gravity direction. The gyroscope bias is estimated at
    rest and, slowly, during motion (an integral term, as in Mahony et al.
    2008). On the BROAD development trials its mean error is 0.91 times
    that of the real-time VQF (bench/orientation_broad.py and its README).

    Steps (per sample; the numbers are those in the kernel ``_filter_kernel``):

    0. Gaps: a row with any non-finite value is a lost sample; its output is
       NaN and the state waits. If more than ``max_gap_s`` was lost, the
       filter starts again at the next sample: inclination from that
       sample's accelerometer, heading and bias kept. A shorter gap is
       bridged by turning at the mean of the (bias-corrected) rates of the
       samples on either side, for as long as the gap lasted.
    1. Rest detection: gyr and acc are low-pass filtered (``rest_tau_s``).
       The sensor is still while both deviate from their low-pass by less
       than ``rest_gyr_th_radps`` / ``rest_acc_th_mps2`` and the low-passed
       gyr is below ``bias_max_radps`` on every axis, and the low-passed acc
       has moved by less than ``rest_drift_th_mps2`` since the first still
       sample of the run; ``at_rest`` is set after ``rest_min_s`` of
       stillness. (The last test is not VQF's: a slow steady turn, a plank
       sagging at 1 °/s, deviates little from the low-passes and would pass
       for rest, its rate learned as bias, which about the vertical nothing
       corrects: issue 16, docs/exercises.md.)
    2. Bias at rest: the bias follows the low-passed gyr with time constant
       ``tau_bias_rest_s`` (the running mean until that much rest was seen).
       When the drift test ends a rest, the bias goes back to what it was
       before gravity began to move: what a rest learnt in the first degree
       of a slow sag (which passes the other tests) was the sag's rate, not
       bias. It is kept at checkpoints every ``rest_tau_s`` of rest while the
       low-passed acc is within ``rest_keep_th_mps2`` of its value when
       ``at_rest`` was set, and goes back to the checkpoint before the last
       (the low-passed acc leaves that ball about ``rest_tau_s``, its lag,
       after gravity began to move), if that checkpoint's estimate rested on
       at least ``rest_min_s`` of rest (before, the start-up's running mean
       is all there is). A rest ended by a movement keeps all it learnt.
    3. Strapdown integration of the bias-corrected gyr,
       ``q_gyr = q_gyr ⊗ exp((gyr - bias) dt / 2)`` (sensor → almost inertial).
    4. The acc is rotated into the almost inertial frame and low-pass
       filtered there by a second-order filter: a damped spring (natural
       frequency √2 / ``tau_acc_s``, damping ratio 1/√2, i.e. Butterworth).
       During the first ``tau_acc_s`` after a (re)start it is the running
       mean instead, so the first sample sets the inclination.
    5. Inclination correction: ``q_acc`` (almost inertial → earth) is turned
       by the smallest rotation that brings the filtered acc, seen in the
       earth frame, to +z. Output ``q = q_acc ⊗ q_gyr``.
    6. Bias in motion: that correction is the drift of the almost inertial
       frame; turned into the sensor frame and divided by
       ``tau_bias_motion_s`` it moves the bias the way that stops the drift.
       It is horizontal in the earth frame, so the bias about the vertical
       is left as it is. The bias stays within ±``bias_max_radps``.

    Data required: ``acc_mps2`` (N, 3) specific force in m/s² (gravity
    included: ``+9.81`` along the axis that points up) and ``gyr_radps``
    (N, 3) angular rate in rad/s, both in the sensor frame (protocol/SPEC.md
    1.1), one row every ``1 / rate_hz`` s, lost samples as NaN rows. A row
    whose acc is exactly zero only advances the gyro integration. Clipped
    (saturated) samples are not detected; they are used as they are.

    Output of :meth:`update`: ``q_sensor_to_earth`` (N, 4), w x y z, unit
    norm, earth z up; NaN rows where the input rows were lost. Feeding a
    recording whole or in chunks of any size gives the same output, bit for
    bit. After ``__init__`` and :meth:`reset` the heading is that of the
    first sample's smallest tilt. The bias estimate (:attr:`bias_radps`)
    belongs to the sensor, not to the pose: :meth:`reset` keeps it and
    :meth:`set_bias` replaces it.

    Parameters (keyword-only after ``rate_hz``):

    ======================= ========== ==========================================
    ``rate_hz``              (required) sample rate, Hz
    ``tau_acc_s``            3 s        acc low-pass in the almost inertial frame
    ``rest_tau_s``           0.5 s      low-pass of gyr and acc for rest detection
    ``rest_min_s``           1.5 s      stillness before ``at_rest``
    ``rest_gyr_th_radps``    2 °/s      gyr deviation threshold for stillness
    ``rest_acc_th_mps2``     0.5 m/s²   acc deviation threshold for stillness
    ``bias_max_radps``       5 °/s      largest bias believed
    ``tau_bias_rest_s``      9 s        bias time constant at rest
    ``tau_bias_motion_s``    100 s      bias time constant in motion
    ``max_gap_s``            0.2 s      longest gap bridged; a longer one restarts
    ``rest_drift_th_mps2``   0.17 m/s²  how far the low-passed acc may move in a
                                        still run (1° of inclination)
    ``rest_keep_th_mps2``    0.0425     m/s²: how near it must stay to where a
                                        rest began for the rest's bias to be
                                        kept (¼°: a quarter of the drift test's
                                        1°, 15 times the low-passed acc's noise)
    ======================= ========== ==========================================

    The first five are VQF's defaults; ``tau_bias_rest_s`` and
    ``tau_bias_motion_s`` are the steady-state gains of VQF's bias Kalman
    filter with its defaults expressed as time constants; ``bias_max_radps``
    is larger than VQF's 2 °/s because an MPU-6050's zero-rate offset can
    be several °/s. ``max_gap_s`` covers a few lost BLE notifications (each
    11 samples, 55 ms at 200 Hz). None was tuned on BROAD.

    Deviations from VQF (see also firmware/sim/fusion_float.py): the bias estimate is
    two first-order updates instead of a Kalman filter (no covariance, so
    in motion it moves further than VQF's and also takes up errors that are
    not bias), the acc low-pass is a damped spring starting with a running
    mean instead of a biquad, no magnetometer. Deviations from
    firmware/sim/fusion_float.py: double precision, step 0, and no bias update from
    a correction of exactly half a turn (an estimate pointing straight
    down). On gap-free input the output equals fusion_float.py run in double
    precision (tests/test_orientation.py).

    References:

    - D. Laidig, T. Seel, "VQF: Highly accurate IMU orientation estimation
      with bias estimation and magnetic disturbance rejection", Information
      Fusion 91:187-204, 2023, doi:10.1016/j.inffus.2022.10.014.
    - R. Mahony, T. Hamel, J.-M. Pflimlin, "Nonlinear complementary filters
      on the special orthogonal group", IEEE Transactions on Automatic
      Control 53(5):1203-1218, 2008, doi:10.1109/TAC.2008.923738.
    - D. Laidig, M. Caruso, A. Cereatti, T. Seel, "BROAD - A benchmark for
      robust inertial orientation estimation", Data 6(7):72, 2021,
      doi:10.3390/data6070072 (the benchmark in bench/orientation_broad.py).
    """

    def __init__(self, rate_hz: float, *, tau_acc_s: float = 3.0, rest_tau_s: float = 0.5,
                 rest_min_s: float = 1.5, rest_gyr_th_radps: float = math.radians(2.0),
                 rest_acc_th_mps2: float = 0.5, bias_max_radps: float = math.radians(5.0),
                 tau_bias_rest_s: float = 9.0, tau_bias_motion_s: float = 100.0,
                 max_gap_s: float = 0.2, rest_drift_th_mps2: float = 0.17,
                 rest_keep_th_mps2: float = 0.0425) -> None:
        if not (math.isfinite(rate_hz) and rate_hz > 0.0):
            raise ValueError(f"rate_hz must be a positive number of samples per second, "
                             f"got {rate_hz!r}")
        for name, value in (("tau_acc_s", tau_acc_s), ("rest_tau_s", rest_tau_s),
                            ("tau_bias_rest_s", tau_bias_rest_s),
                            ("tau_bias_motion_s", tau_bias_motion_s)):
            if not value > 0.0:
                raise ValueError(f"{name} must be a time constant > 0 s, got {value!r}")
        self.rate_hz = float(rate_hz)
        self.rest_tau_s = float(rest_tau_s)
        self.tau_bias_motion_s = float(tau_bias_motion_s)
        self.max_gap_s = float(max_gap_s)
        dt = 1.0 / self.rate_hz
        p = np.zeros(_P_SIZE)
        p[_P_DT] = dt
        p[_P_TAU_ACC] = tau_acc_s
        p[_P_K_SPRING] = 2.0 * dt / (tau_acc_s * tau_acc_s)  # ω² dt, ω = √2 / tau_acc_s
        p[_P_K_DAMPER] = 2.0 * dt / tau_acc_s  # 2 ζ ω dt, ζ = 1/√2
        p[_P_K_REST] = 1.0 - math.exp(-dt / rest_tau_s)
        p[_P_REST_N_MIN] = math.ceil(rest_min_s / dt - 1e-6)
        p[_P_REST_GYR_TH2] = rest_gyr_th_radps**2
        p[_P_REST_ACC_TH2] = rest_acc_th_mps2**2
        p[_P_BIAS_MAX] = bias_max_radps
        p[_P_K_BIAS_REST] = 1.0 - math.exp(-dt / tau_bias_rest_s)
        p[_P_TAU_BIAS_MOTION] = tau_bias_motion_s
        p[_P_MAX_GAP] = max_gap_s
        p[_P_REST_DRIFT_TH2] = rest_drift_th_mps2**2
        p[_P_REST_KEEP_TH2] = rest_keep_th_mps2**2
        p[_P_KEEP_EVERY_N] = math.ceil(rest_tau_s / dt - 1e-6)
        self._p = p
        self._s = np.zeros(_STATE_SIZE)
        self.reset()
        self._run(np.zeros((0, 3)), np.zeros((0, 3)))  # compile or load the kernel now

    def reset(self) -> None:
        """Back to the initial state, keeping the bias estimate."""
        s = self._s
        bias, bias_n = s[_BIAS:_BIAS + 3].copy(), s[_BIAS_N]
        s[:] = 0.0
        s[_Q_GYR] = s[_Q_ACC] = 1.0
        s[_BIAS:_BIAS + 3], s[_BIAS_N] = bias, bias_n
        s[_RESTART] = _RESTART_FROM_IDENTITY

    @property
    def bias_radps(self) -> np.ndarray:
        """The gyroscope bias estimate (3,), rad/s, sensor frame."""
        return self._s[_BIAS:_BIAS + 3].copy()

    def set_bias(self, bias_radps) -> None:
        """Replace the bias estimate (3,), rad/s, e.g. by a stored calibration."""
        self._s[_BIAS:_BIAS + 3] = np.asarray(bias_radps, dtype=np.float64).reshape(3)

    @property
    def at_rest(self) -> bool:
        """Whether the sensor was at rest at the last valid sample."""
        return bool(self._s[_AT_REST])

    def update(self, acc_mps2, gyr_radps) -> np.ndarray:
        """One chunk of samples (N, 3) each -> ``q_sensor_to_earth`` (N, 4)."""
        return self._run(*_as_samples(acc_mps2, gyr_radps))[0]

    def flush(self) -> np.ndarray:
        """Nothing is held back (each sample's orientation is final in its chunk): (0, 4)."""
        return np.zeros((0, 4))

    def _run(self, acc, gyr):
        """q (N, 4), bias (N, 3) and at_rest (N,) for checked samples."""
        n = len(acc)
        q, bias, rest = np.empty((n, 4)), np.empty((n, 3)), np.empty(n, dtype=np.bool_)
        _filter_kernel(acc, gyr, self._p, self._s, q, bias, rest)
        return q, bias, rest


def orientation_offline(acc_mps2, gyr_radps, rate_hz: float, **params) -> np.ndarray:
    """Orientation of the sensor over a whole recording, using past and future samples.

    The structure of offline VQF (Laidig & Seel 2023; ``vqf.offlineVQF``)
    built on :class:`OrientationFilter`: the bias is estimated by the
    real-time filter run forwards and backwards in time, and the
    accelerometer is low-pass filtered with zero phase, so it neither lags
    nor leads. On the BROAD development trials its mean error is 0.95 times
    that of the real-time filter and 0.88 times that of offline VQF
    (bench/orientation_broad.py and its README).

    Steps:

    1. Forward pass: :class:`OrientationFilter` over the recording; its bias
       estimate at every sample.
    2. Backward pass: the same filter, fresh, over the time-reversed
       recording with the gyr negated (the recording of the motion played
       backwards); its bias estimate, negated, at every sample.
    3. Combined bias: the mean of the two, each weighted by how much of it
       the data have told. A pass starts from zero, and its estimate keeps a
       share ``r = exp(-x)`` of that guess, ``x`` counting its samples by the
       filter's own time constants: ``dt / rest_tau_s`` at rest (the bias is
       then the mean of the gyr low-passed with ``rest_tau_s``), ``dt /
       tau_bias_motion_s`` in motion; ``x`` stops at :data:`_BIAS_LEARNT`
       (within 5 %: two passes that both learnt it count alike). The weight
       is the time the pass has run, capped at ``tau_bias_motion_s``, over
       ``r²``: its error is about ``r`` times the bias. So at the start of
       the recording the forward estimate counts for nothing, at the end the
       backward one, and where one pass has stood still and the other has
       only walked (its estimate after 25 s of walking is still 78 % the
       zero it started from) the one that stood still counts. Weighting by
       time alone made IPOL 2-4 (standing only at the start) 0.2° off in
       drop against the same samples with the bias the firmware removed at
       that standing (bench/consistency.py). VQF weights with its Kalman
       covariances, which this bias estimator does not have.
    4. Strapdown integration of gyr minus the combined bias into an almost
       inertial frame (short gaps bridged as in real time).
    5. The acc, rotated into that frame, low-pass filtered forwards and then
       backwards by the real-time filter's second-order low-pass
       (``tau_acc_s``; the forward pass starts with a running mean).
    6. Inclination correction as in real time: the almost inertial frame is
       turned, sample by sample, by the smallest rotation that brings the
       filtered acc to +z.

    Lost samples (NaN rows) give NaN rows; a gap longer than ``max_gap_s``
    splits the recording into segments, each smoothed on its own (steps
    4-6), starting from the last orientation of the segment before it (the
    heading carries over, as in real time).

    Parameters: ``acc_mps2``, ``gyr_radps`` (N, 3) as for
    :class:`OrientationFilter`; ``rate_hz`` in Hz; ``params`` are
    :class:`OrientationFilter`'s keyword parameters, with the same
    defaults. Returns ``q_sensor_to_earth`` (N, 4), w x y z.
    """
    acc, gyr = _as_samples(acc_mps2, gyr_radps)
    forward = OrientationFilter(rate_hz, **params)
    dt, n = 1.0 / forward.rate_hz, len(acc)

    # 1.-2. bias estimates of a forward and a backward pass
    _, bias_fwd, rest_fwd = forward._run(acc, gyr)
    backward = OrientationFilter(rate_hz, **params)
    _, bias_bwd, rest_bwd = backward._run(np.ascontiguousarray(acc[::-1]),
                                          np.ascontiguousarray(-gyr[::-1]))
    bias_bwd = -bias_bwd[::-1]

    # 3. their mean, each weighted by the time it has run over its share of the zero guess²
    valid = np.isfinite(bias_fwd[:, 0])
    seen_fwd = np.minimum(np.cumsum(valid) * dt, forward.tau_bias_motion_s)
    seen_bwd = np.minimum(np.cumsum(valid[::-1])[::-1] * dt, forward.tau_bias_motion_s)
    seen_fwd /= _guess_share(valid, rest_fwd, dt, forward) ** 2
    seen_bwd /= _guess_share(valid[::-1], rest_bwd, dt, forward)[::-1] ** 2
    with np.errstate(invalid="ignore"):  # lost rows are 0/0 = NaN
        w_fwd = (seen_fwd / (seen_fwd + seen_bwd))[:, None]
    bias = np.ascontiguousarray(w_fwd * bias_fwd + (1.0 - w_fwd) * bias_bwd)

    # 4.-6. per segment between long gaps, each starting from the last orientation
    q = np.full((n, 4), np.nan)
    q_start = np.array([1.0, 0.0, 0.0, 0.0])
    for start, stop in _segments(valid, forward.max_gap_s * forward.rate_hz):
        _smoother_kernel(acc[start:stop], gyr[start:stop], bias[start:stop], forward._p,
                         q_start, q[start:stop])
        q_start = q[stop - 1].copy()
    return q


#: :func:`orientation_offline` step 3: a pass whose estimate keeps less than e⁻³ (5 %) of
#: its zero start has learnt the bias.
_BIAS_LEARNT = 3.0


def _guess_share(valid: np.ndarray, at_rest: np.ndarray, dt: float,
                 f: OrientationFilter) -> np.ndarray:
    """Step 3 of :func:`orientation_offline`: the share ``r`` (N,) of a pass's bias
    estimate that is still its zero start, the pass's samples in its own order."""
    x = np.cumsum(np.where(valid, np.where(at_rest, dt / f.rest_tau_s,
                                           dt / f.tau_bias_motion_s), 0.0))
    return np.exp(-np.minimum(x, _BIAS_LEARNT))


def _segments(valid, max_gap_n):
    """(start, stop) of the runs of rows split by more than ``max_gap_n`` invalid rows.

    Every run starts and ends with a valid row.
    """
    rows = np.flatnonzero(valid)
    if rows.size == 0:
        return []
    split = np.flatnonzero(np.diff(rows) - 1 > max_gap_n)
    starts = np.concatenate(([rows[0]], rows[split + 1]))
    stops = np.concatenate((rows[split] + 1, [rows[-1] + 1]))
    return list(zip(starts.tolist(), stops.tolist(), strict=True))
