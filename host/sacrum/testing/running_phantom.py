"""A running phantom: pelvis kinematics of running (and walking) with known truth, as IMU signals.

The ground truth for the running stage (``sacrum.signal.running``, ``sacrum.scoring.running``;
docs/running.md): per step a known contralateral pelvic drop, contact and flight time,
vertical oscillation, braking and side, at a known cadence, in bouts of walking and running
that follow each other (walk → run → walk), turned into the specific force and angular rate a
sensor at the sacrum measures (any mounting ``parse_mount`` accepts), with biases and noise.

The vertical motion of a running step is the spring-mass model's (Blickhan 1989; the
half-sine vertical ground reaction force of Morin et al. 2005): during contact the vertical
specific force is ``F·sin(π τ / t_c)`` (τ from the initial contact, t_c the contact time),
plus an impact transient (a 30-ms half-sine of ``impact_mps2`` starting at the contact) and a
decaying soft-tissue wobble (18 Hz, 30 ms); in flight it is zero (free fall). ``F`` is set so
that the step's mean specific force is g (the body neither rises nor sinks from step to step).
So the pelvis's vertical acceleration over a step has zero mean, and its vertical oscillation
(truth: ``vo_m``) is the peak-to-peak of the periodic double integral of it.

References: Blickhan R. The spring-mass model for running and hopping. J Biomech
1989;22:1217-1227. Morin JB, Dalleau G, Kyröläinen H, Jeannin T, Belli A. A simple method for
measuring stiffness during running. J Appl Biomech 2005;21:167-180.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from sacrum.signal.angles import quat_from_angles
from sacrum.signal.mounting import parse_mount
from sacrum.signal.quaternion import quat_conjugate, quat_multiply, quat_rotate
from sacrum.testing.walking_phantom import heel_strike_impact, heel_strike_impact_area
from sacrum.units import G_MPS2 as G

#: Impact transient and soft-tissue wobble of the phantom's landings.
IMPACT_S = 0.03
WOBBLE_HZ, WOBBLE_TAU_S = 18.0, 0.03


def cadence_for_speed(speed_mps: float) -> float:
    """A typical running cadence (steps/min) at ``speed_mps``: 140 + 9 × speed, 162 at 2.5 m/s,
    185 at 5 m/s (the rise of step frequency with speed, Cavanagh & Kram 1989; a phantom's
    default, not a norm)."""
    return 140.0 + 9.0 * speed_mps


def contact_for_speed(speed_mps: float) -> float:
    """A typical ground contact time (s) at ``speed_mps``: 0.37 − 0.036 × speed, 0.28 s at
    2.5 m/s, 0.19 s at 5 m/s (contact shortens with speed; a phantom's default)."""
    return 0.37 - 0.036 * speed_mps


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _bump(u, peak):
    """0 at u = 0 and 1, 1 at u = peak (raised cosines)."""
    return np.where(u < peak, 0.5 * (1 - np.cos(np.pi * u / peak)),
                    0.5 * (1 + np.cos(np.pi * (u - peak) / (1 - peak))))


def _run_force(tau, tc, f_peak, impact):
    """Vertical specific force of a running step (m/s²) at τ s after its contact."""
    on = (tau >= 0) & (tau < tc)
    f = np.where(on, f_peak * np.sin(np.pi * np.clip(tau, 0, None) / tc), 0.0)
    f = f + np.where((tau >= 0) & (tau < IMPACT_S),
                     impact * np.sin(np.pi * np.clip(tau, 0, None) / IMPACT_S), 0.0)
    wob = 0.25 * impact * np.exp(-np.clip(tau, 0, None) / WOBBLE_TAU_S) * np.sin(
        2 * np.pi * WOBBLE_HZ * np.clip(tau, 0, None))
    return f + np.where(on, wob, 0.0)


def _run_peak(step_s, tc, impact):
    """F such that the step's mean specific force is g."""
    w = 2 * np.pi * WOBBLE_HZ
    wobble = 0.25 * impact * w / (WOBBLE_TAU_S ** -2 + w * w)
    return (G * step_s - impact * 2 * IMPACT_S / np.pi - wobble) * np.pi / (2 * tc)


def vertical_oscillation(a_up_mps2: np.ndarray, dt_s: float) -> float:
    """Peak-to-peak (m) of the periodic double integral of one step's vertical acceleration
    (mean removed from the acceleration and from the velocity)."""
    a = a_up_mps2 - a_up_mps2.mean()
    v = np.cumsum(a) * dt_s
    v -= v.mean()
    z = np.cumsum(v) * dt_s
    return float(z.max() - z.min())


def running_phantom(*, rate_hz: float = 200.0, segments=(("walk", 8), ("run", 60), ("walk", 8)),
                    speed_mps: float = 3.5, cadence_spm: float | None = None,
                    contact_s: float | None = None, walk_cadence_spm: float = 110.0,
                    drop_deg=(6.0, 8.5), drop_sd_deg: float = 0.4, walk_drop_deg=(4.0, 4.0),
                    drop_peak_contact: float = 0.45, step_cv: float = 0.015,
                    contact_cv: float = 0.03, tilt_mean_deg: float = 6.0,
                    tilt_amp_deg: float = 2.0, rot_amp_deg: float = 5.0,
                    impact_mps2: float = 12.0, braking_per_speed_s: float = 1.1,
                    ml_mps2: float = 1.0, stand_s: float = 3.0, end_s: float = 2.0,
                    heading_deg: float = 30.0, heading_rate_dps: float = 0.0, seed: int = 0,
                    mount: np.ndarray | None = None, gyr_bias_dps=(0.6, -0.9, 0.4),
                    acc_bias_mps2=(0.05, -0.04, 0.03), acc_noise_mps2: float = 0.05,
                    gyr_noise_radps: float = 0.002, bounce_mps2: float = 0.0,
                    bounce_hz: float = 12.0, bounce_tau_s: float = 0.05) -> dict:
    """Stand ``stand_s``, then the steps of ``segments`` (("walk" | "run", n_steps) each, in
    order; sides alternate from a left first step), then stand ``end_s``.

    Running steps: step time 60 / ``cadence_spm`` (default :func:`cadence_for_speed`) ×
    (1 + ``step_cv``·N(0,1)), contact time ``contact_s`` (default :func:`contact_for_speed`) ×
    (1 + ``contact_cv``·N(0,1)), flight the rest; vertical force as the module docstring;
    forward acceleration −B·sin(2π τ / t_c) in contact (braking in its first half, propulsion
    in the second; B = ``braking_per_speed_s`` × speed: the truth ``braking_mps2``), zero in
    flight; medio-lateral ``ml_mps2``·sin(π τ / t_c) towards the swing side (the ground pushes
    the pelvis away from the stance foot). Walking steps: as ``walking_phantom``'s (step time
    60 / ``walk_cadence_spm``; no flight: the vertical specific force stays near g).

    Angles (docs/pelvic-angles.md): obliquity a bump per step, zero at both initial contacts,
    peaking at ``drop_peak_contact`` of the contact (running) or 35 % of the step (walking) at
    +D (left stance: the right side drops) or −D (right stance), D = ``drop_deg`` (running,
    per side L, R) or ``walk_drop_deg`` + ``drop_sd_deg``·N(0,1); tilt ``tilt_mean_deg`` (running
    leans forward; walking 2°; from one to the other over the first step of a new mode) +
    ``tilt_amp_deg``·cos per step; rotation −``rot_amp_deg``·cos over
    the stride from a left contact. ``heading_rate_dps``: the direction of travel turns at this
    rate during the steps (overground on a curve; 0: a straight line or a treadmill, which the
    pelvis cannot tell apart). ``bounce_mps2``: the sensor bouncing on its belt after each
    toe-off (an artefact, not pelvic motion: a vertical ``bounce_mps2``·sin(2π
    ``bounce_hz`` τ)·exp(−τ / ``bounce_tau_s``) from the toe-off, added to the measured
    acceleration only; the truth is the pelvis's).

    Returns a dict: ``t``, ``acc`` (sensor frame, m/s²), ``gyr`` (rad/s), ``q`` (the true
    q_sensor_to_earth), ``angles`` (true tilt, obliquity, rotation, rad), ``a_prog`` (forward,
    left, up, gravity removed), per step ``t_ic``, ``t_to`` (NaN for walking), ``sides``,
    ``modes``, ``t_step``, ``drop`` (deg), ``contact_s``, ``flight_s`` (after the step's
    toe-off to the next contact), ``vo_m``, ``braking_mps2``, and ``segments`` as
    (mode, t_first_ic_s, t_end_s), ``cadence_spm`` (the running cadence asked for),
    ``mount``, ``heading_rad``, ``transitions`` as (t_s, from_mode, to_mode): the first
    initial contact of each segment after the first whose mode differs from the one before.
    """
    if mount is None:
        mount = parse_mount("recommended")
    rng = np.random.default_rng(seed)
    run_step = 60.0 / (cadence_for_speed(speed_mps) if cadence_spm is None else cadence_spm)
    run_tc = contact_for_speed(speed_mps) if contact_s is None else contact_s
    modes = np.array([m for m, n in segments for _ in range(n)])
    n = len(modes)
    is_run = modes == "run"
    right = (np.arange(n) % 2).astype(bool)
    t_step = np.where(is_run, run_step, 60.0 / walk_cadence_spm) * (
        1 + step_cv * rng.standard_normal(n))
    tc = np.where(is_run, run_tc * (1 + contact_cv * rng.standard_normal(n)), np.nan)
    tc = np.where(is_run, np.minimum(tc, t_step - 0.04), np.nan)
    d_run = np.where(right, drop_deg[1], drop_deg[0])
    d_walk = np.where(right, walk_drop_deg[1], walk_drop_deg[0])
    drop = np.where(is_run, d_run, d_walk) + drop_sd_deg * rng.standard_normal(n)
    braking = np.where(is_run, braking_per_speed_s * speed_mps, np.nan)
    f_peak = np.where(is_run, _run_peak(t_step, np.nan_to_num(tc, nan=1.0), impact_mps2), 0.0)
    t0 = stand_s + 0.6
    t_ic = t0 + np.r_[0.0, np.cumsum(t_step)]          # n + 1: the last closes step n-1
    t = np.arange(round((t_ic[-1] + 0.6 + end_s) * rate_hz)) / rate_hz
    h0 = math.radians(heading_deg)

    def heading_at(tt):
        span = np.clip(tt, t_ic[0], t_ic[-1]) - t_ic[0]
        return h0 + math.radians(heading_rate_dps) * span

    walk_pulse = 3.0 * 0.03 * math.sqrt(2 * math.pi) + heel_strike_impact_area(1.5)

    def kinematics(tt):
        k = np.clip(np.searchsorted(t_ic, tt, "right") - 1, 0, n - 1)
        moving = (tt >= t_ic[0]) & (tt < t_ic[-1])
        tau = tt - t_ic[k]
        u = np.clip(tau / t_step[k], 0.0, 1.0)
        r = right[k]
        run = is_run[k] & moving
        phi = 0.5 * u + 0.5 * r
        env = _smoothstep((tt - (t_ic[0] - 0.6)) / 0.6) * (1 - _smoothstep((tt - t_ic[-1]) / 0.6))
        tck = np.nan_to_num(tc[k], nan=1.0)
        peak = np.where(run, drop_peak_contact * tck / t_step[k], 0.35)
        obl = moving * np.where(r, -1.0, 1.0) * np.deg2rad(drop[k]) * _bump(u, peak)
        # the lean changes over the first step of a new mode, not in one sample (a 4° step
        # put a 14 rad/s spike on the gyroscope at every walk/run transition)
        mean_of = lambda i: np.where(is_run[i], tilt_mean_deg, 2.0)  # noqa: E731
        before = mean_of(np.clip(k - 1, 0, n - 1))
        tilt_mean = before + (mean_of(k) - before) * _smoothstep(u)
        tilt = env * np.deg2rad(tilt_mean + tilt_amp_deg * np.cos(2 * np.pi * u - 0.5))
        rot = env * -np.deg2rad(rot_amp_deg) * np.cos(2 * np.pi * phi)
        # running: spring-mass vertical force, braking/propulsion, ML push to the swing side
        contact = (tau >= 0) & (tau < tck)
        f_run = _run_force(tau, tck, f_peak[k], impact_mps2)
        up_run = f_run - G
        fwd_run = np.where(contact, -braking_per_speed_s * speed_mps
                           * np.sin(2 * np.pi * tau / tck), 0.0)
        left_run = np.where(contact, np.where(r, 1.0, -1.0) * ml_mps2
                            * np.sin(np.pi * tau / tck), 0.0)
        # walking: as walking_phantom. The heel-strike pulse straddles its contact (centred
        # 30 ms after it, SD 30 ms): its part before the contact is in the step before, so
        # every walking step holds its own pulse's right part and the next walking step's
        # left part, its whole area, and the step's mean acceleration is zero (the pelvis
        # ends each step at the height and vertical velocity it started with, as
        # walking_phantom's; without that part each step lost 16 % of a pulse, 0.036 m/s of
        # vertical velocity, and the stairs finder took a level walk for stairs-up)
        nxt = np.clip(k + 1, 0, n - 1)
        next_walks = (k + 1 < n) & ~is_run[nxt]
        pulse = 3.0 * (np.exp(-0.5 * ((tau - 0.03) / 0.03) ** 2)
                       + next_walks * np.exp(-0.5 * ((tau - t_step[k] - 0.03) / 0.03) ** 2))
        pulse = pulse + heel_strike_impact(tau, 0.0, 1.5)   # its impact, from the contact
        # The pulses' mean, taken off all along, lowers the vertical velocity while the gait
        # starts (the envelope's rise before the first contact, no pulse in it); stopping
        # gives that back (the envelope's fall after the last contact), so the pelvis stands
        # still after the walk as before it (else the standing after it sinks at 0.25 m/s)
        comp = np.where(tt >= t_ic[-1], -1.0, 1.0) * walk_pulse / t_step[k]
        up_walk = env * (np.sin(2 * np.pi * u) - comp + pulse)
        fwd_walk = env * 1.2 * np.cos(2 * np.pi * u)
        left_walk = env * (-0.15 * np.pi / t_step[k] * np.sin(2 * np.pi * phi)
                           + 0.3 * np.sin(2 * np.pi * u))
        a = np.stack([np.where(run, fwd_run, fwd_walk), np.where(run, left_run, left_walk),
                      np.where(run, up_run, up_walk)], 1)
        return np.stack([tilt, obl, rot], 1), a

    def bounce(tt):
        k = np.clip(np.searchsorted(t_ic, tt, "right") - 1, 0, n - 1)
        tau = tt - t_ic[k] - np.nan_to_num(tc[k], nan=np.inf)
        on = is_run[k] & (tt < t_ic[-1]) & (tau >= 0)
        tau = np.where(on, tau, 0.0)
        return np.where(on, bounce_mps2 * np.sin(2 * np.pi * bounce_hz * tau)
                        * np.exp(-tau / bounce_tau_s), 0.0)

    def q_at(angles, tt):
        q_body_to_earth = quat_from_angles(angles[:, 0], angles[:, 1],
                                           angles[:, 2] + heading_at(tt))
        return quat_multiply(q_body_to_earth, mount)

    angles, a_prog = kinematics(t)
    q = q_at(angles, t)
    h = heading_at(t)
    c, s = np.cos(h), np.sin(h)
    a_earth = np.stack([c * a_prog[:, 0] - s * a_prog[:, 1], s * a_prog[:, 0] + c * a_prog[:, 1],
                        a_prog[:, 2] + G + (bounce(t) if bounce_mps2 else 0.0)], 1)
    acc = quat_rotate(quat_conjugate(q), a_earth)
    # the angular rate of a sample is the mean over the interval that ends at it (the
    # rotation from q(t - dt) to q(t)), as the filters integrate it (walking_phantom); the
    # rate at t made the fused angles lead the truth by dt/2
    dt = 1.0 / rate_hz
    dq = quat_multiply(quat_conjugate(q_at(kinematics(t - dt)[0], t - dt)), q)
    dq *= np.sign(dq[:, :1])
    norm = np.linalg.norm(dq[:, 1:], axis=1, keepdims=True)
    gyr = dq[:, 1:] / np.maximum(norm, 1e-300) * 2 * np.arctan2(norm, dq[:, :1]) / dt
    acc = acc + np.asarray(acc_bias_mps2) + acc_noise_mps2 * rng.standard_normal(acc.shape)
    gyr = gyr + np.deg2rad(gyr_bias_dps) + gyr_noise_radps * rng.standard_normal(gyr.shape)

    vo = np.full(n, np.nan)
    fine_dt = 1e-4
    for k in np.flatnonzero(is_run):
        tau = np.arange(0.0, t_step[k], fine_dt)
        vo[k] = vertical_oscillation(_run_force(tau, tc[k], f_peak[k], impact_mps2) - G, fine_dt)
    spans, i = [], 0
    for mode, m in segments:
        spans.append((mode, float(t_ic[i]), float(t_ic[i + m])))
        i += m
    transitions = [(t_a, prev[0], mode)
                   for prev, (mode, t_a, _) in itertools.pairwise(spans) if mode != prev[0]]
    return {"t": t, "acc": acc, "gyr": gyr, "q": q, "angles": angles, "a_prog": a_prog,
            "t_ic": t_ic[:n], "t_to": t_ic[:n] + tc, "t_end": float(t_ic[-1]),
            "sides": np.where(right, "R", "L"), "modes": modes, "t_step": t_step,
            "drop": drop, "contact_s": tc, "flight_s": np.where(is_run, t_step - tc, np.nan),
            "vo_m": vo, "braking_mps2": braking, "segments": spans,
            "cadence_spm": 60.0 / run_step, "mount": mount, "heading_rad": h,
            "rate_hz": rate_hz, "stand_s": stand_s, "transitions": transitions}


def mixed_phantom(seed: int, *, rate_hz: float = 200.0, n_segments: int = 5,
                  walk_steps=(8, 16), run_steps=(16, 40), speed_mps=(2.5, 5.0),
                  **kwargs) -> dict:
    """A session that mixes walking and running, drawn from ``seed``: ``n_segments``
    alternating segments starting with walking (walk → run → walk → ...), each walking
    segment ``walk_steps`` (lo, hi) steps long, each running one ``run_steps``, at a running
    speed drawn from ``speed_mps`` (its cadence and contact time from
    :func:`cadence_for_speed` and :func:`contact_for_speed`). The truth of every step and
    of the transitions (``transitions``) as :func:`running_phantom` gives it; ``kwargs`` go
    to it. The seed draws the lengths and the speed, and is the phantom's noise seed."""
    rng = np.random.default_rng(seed)
    segments = tuple(("walk" if k % 2 == 0 else "run",
                      int(rng.integers(*(walk_steps if k % 2 == 0 else run_steps),
                                       endpoint=True)))
                     for k in range(n_segments))
    speed = float(rng.uniform(*speed_mps))
    return running_phantom(rate_hz=rate_hz, segments=segments, speed_mps=speed, seed=seed,
                           **kwargs)


__all__ = ["cadence_for_speed", "contact_for_speed", "mixed_phantom", "running_phantom",
           "vertical_oscillation"]
