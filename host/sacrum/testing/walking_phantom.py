"""A pelvis-motion phantom: walking with known pelvic angles, turned into IMU signals.

The ground truth for tests (issue 5, "Validation") and the source of the simulator transport
(``sacrum live --simulate``): pelvic angles with a known contralateral drop per step, known
tilt and rotation, step times with a known left-right difference and variability, and the
sacral accelerations that go with walking, as the specific force and angular rate a sensor
at the sacrum measures, with noise and biases.
"""

from __future__ import annotations

import math

import numpy as np

from sacrum.signal.angles import quat_from_angles
from sacrum.signal.gait import GaitEvent
from sacrum.signal.mounting import parse_mount
from sacrum.signal.quaternion import quat_conjugate, quat_multiply, quat_rotate
from sacrum.units import G_MPS2 as G


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


IMPACT_HZ, IMPACT_DECAY_S = 18.0, 0.04


def heel_strike_impact(tt, t_contact_s: float, amp_mps2: float):
    """The impact of a heel strike at the sacrum (m/s², vertical): a damped oscillation that
    starts at the contact, amp·sin(2π·18 Hz·x)·exp(-x / 0.04 s) for x = tt - t_contact ≥ 0.

    The unfiltered jerk at the lower back jumps at the foot sensors' IC and stays high for
    0.1-0.2 s (every person of bench/gait_subjects.py; bench/README.md, "Eighth session");
    this has that onset (an initial jerk of amp·2π·18 Hz, 170 m/s³ for 1.5 m/s²: IPOL's
    are 200-300, HA001's 70) and adds almost nothing below 10 Hz, where the landing's broad
    pulse is. Its area, :func:`heel_strike_impact_area`, is the vertical velocity it adds.
    """
    x = np.asarray(tt, float) - t_contact_s
    return np.where(x >= 0, amp_mps2 * np.sin(2 * np.pi * IMPACT_HZ * np.maximum(x, 0))
                    * np.exp(-np.maximum(x, 0) / IMPACT_DECAY_S), 0.0)


def heel_strike_impact_area(amp_mps2: float) -> float:
    """The integral of :func:`heel_strike_impact` over time (m/s)."""
    w = 2 * np.pi * IMPACT_HZ
    return amp_mps2 * w / (w * w + IMPACT_DECAY_S ** -2)


def walking_phantom(*, rate_hz: float = 100.0, drop_deg=(4.0, 9.0), drop_sd_deg=0.5,
                    step_s=(0.57, 0.54), step_cv=0.02, n_steps=80, tilt_mean_deg=2.0,
                    tilt_amp_deg=1.5, rot_amp_deg=4.0, stand_s=3.0, end_s=2.0,
                    heading_deg=30.0, seed=0, mount: np.ndarray | None = None,
                    gyr_bias_dps=(0.6, -0.9, 0.4), acc_bias_mps2=(0.05, -0.04, 0.03),
                    acc_noise_mps2=0.03, gyr_noise_radps=0.0015, drop_peak=0.35,
                    push_off_s: float = 0.14, turns=(), impact: float = 0.5) -> dict:
    """Stand ``stand_s``, walk ``n_steps`` steps (ICs alternate, left first), stand ``end_s``.

    Step k (stance side L for even k) lasts T[k] = step_s[side]·(1 + step_cv·N(0, 1)); its
    obliquity is a smooth bump, zero at both ICs, peaking at ``drop_peak`` of the step at
    +D[k] (left stance: the right side drops, positive obliquity) or -D[k] (right stance),
    D[k] = drop_deg[side] + drop_sd_deg·N(0, 1). So the stride from IC k has an obliquity
    range D[k] + D[k+1]. Tilt: tilt_mean + tilt_amp·cos(2π u) per step (range 2·tilt_amp),
    rotation -rot_amp·cos(2π φ) over the stride from a left IC (the left side forward at a
    left IC; range 2·rot_amp). Accelerations in the progression frame (forward, left, up):
    forward ±1.2 m/s² and vertical ±1 m/s² at the step frequency, a heel-strike pulse
    (3.2 m/s² left, 2.4 m/s² right; steepest rise at the IC) with an impact at the IC,
    ``impact`` times that (:func:`heel_strike_impact`), and the other foot's push-off
    bump ``push_off_s`` after it (its final contact: double support 0.14 s, stance about
    62 %), medio-lateral sway at the stride frequency (±0.85 m/s², towards the stance
    foot) with a step-frequency part (±0.3 m/s²); forward acceleration 15 % larger in left
    stance than in right (harmonic ratios about 2-3, as in healthy adults). The sensor:
    gravity + that, turned into the sensor frame of ``mount``; biases and white noise added.

    ``turns``: (step index k, angle_deg, duration_s) each: from the IC of step k the walking
    direction turns by angle_deg (+ = to the left) along a smoothstep over duration_s while
    the steps go on (a U-turn: 180° over 2 s). The pelvic angles (``angles``) stay relative
    to that walking direction, returned as ``heading_rad`` (earth frame) with ``turns`` as
    (t_start_s, t_end_s, angle_deg).
    """
    if mount is None:
        mount = parse_mount("recommended")
    rng = np.random.default_rng(seed)
    sides = np.array(["L" if k % 2 == 0 else "R" for k in range(n_steps + 1)])
    is_r = (np.arange(n_steps) % 2).astype(bool)
    t_step = np.where(is_r, step_s[1], step_s[0]) * (1 + step_cv * rng.standard_normal(n_steps))
    drop = np.where(is_r, drop_deg[1], drop_deg[0]) + drop_sd_deg * rng.standard_normal(n_steps)
    t_ic = stand_s + 0.6 + np.r_[0.0, np.cumsum(t_step)]
    t = np.arange(round((t_ic[-1] + 0.6 + end_s) * rate_hz)) / rate_hz
    h0 = math.radians(heading_deg)
    turn_spans = [(float(t_ic[k]), float(t_ic[k]) + dur, float(a)) for k, a, dur in turns]

    def heading_at(tt):
        h = np.full(np.shape(tt), h0)
        for t0, t1, a in turn_spans:
            h = h + math.radians(a) * _smoothstep((tt - t0) / (t1 - t0))
        return h
    mean_pulse = ((3.2 + 2.4 + 2 * 1.0) / 2 * 0.03 * math.sqrt(2 * math.pi)
                  + heel_strike_impact_area(impact * (3.2 + 2.4) / 2)) / t_step.mean()

    def kinematics(tt):
        k = np.clip(np.searchsorted(t_ic, tt, "right") - 1, 0, n_steps - 1)
        walking = (tt >= t_ic[0]) & (tt < t_ic[-1])
        u = np.clip((tt - t_ic[k]) / t_step[k], 0.0, 1.0)     # step phase
        right = (k % 2).astype(bool)
        phi = 0.5 * u + 0.5 * right                            # stride phase from a left IC
        env = (_smoothstep((tt - (t_ic[0] - 0.6)) / 0.6)
               * (1 - _smoothstep((tt - t_ic[-1]) / 0.6)))
        bump = np.where(u < drop_peak, 0.5 * (1 - np.cos(np.pi * u / drop_peak)),
                        0.5 * (1 + np.cos(np.pi * (u - drop_peak) / (1 - drop_peak))))
        obl = walking * np.where(right, -1.0, 1.0) * np.deg2rad(drop[k]) * bump
        tilt = env * np.deg2rad(tilt_mean_deg + tilt_amp_deg * np.cos(2 * np.pi * u - 0.5))
        rot = env * -np.deg2rad(rot_amp_deg) * np.cos(2 * np.pi * phi)
        side_gain = np.where(right, 0.85, 1.15)
        a_fwd = env * 1.2 * side_gain * np.cos(2 * np.pi * u)
        a_left = env * (-0.15 * np.pi / t_step[k] * np.sin(2 * np.pi * phi)
                        + 0.3 * np.sin(2 * np.pi * u))
        a_up = env * (np.sin(2 * np.pi * u) - mean_pulse)
        for j in range(n_steps + 1):
            heel_strike = 2.4 if j % 2 else 3.2
            a_up = a_up + heel_strike * np.exp(-0.5 * ((tt - t_ic[j] - 0.03) / 0.03) ** 2)
            a_up = a_up + heel_strike_impact(tt, t_ic[j], impact * heel_strike)
            if j < n_steps:
                a_up = a_up + 1.0 * np.exp(-0.5 * ((tt - t_ic[j] - push_off_s) / 0.03) ** 2)
        return np.stack([tilt, obl, rot], 1), np.stack([a_fwd, a_left, a_up], 1)

    def q_sensor_to_earth(angles, tt):
        q_body_to_earth = quat_from_angles(angles[:, 0], angles[:, 1],
                                           angles[:, 2] + heading_at(tt))
        return quat_multiply(q_body_to_earth, mount)

    angles, a_prog = kinematics(t)
    q = q_sensor_to_earth(angles, t)
    h = heading_at(t)
    c, s = np.cos(h), np.sin(h)
    a_earth = np.stack([c * a_prog[:, 0] - s * a_prog[:, 1], s * a_prog[:, 0] + c * a_prog[:, 1],
                        a_prog[:, 2] + G], 1)
    acc = quat_rotate(quat_conjugate(q), a_earth)
    # angular rate in the sensor frame: the mean over the interval that ends at the sample,
    # the rotation from q(t - dt) to q(t) over dt. The filters integrate a sample's rate over
    # the interval ending at it (q_i = q_{i-1} ⊗ exp(gyr_i dt / 2): _filter_kernel, the
    # firmware's strapdown step), so this is exact for them; the rate at t (the rotation
    # from q(t - dt/2) to q(t + dt/2)) made the fused angles lead the truth by dt/2
    dt = 1.0 / rate_hz
    dq = quat_multiply(quat_conjugate(q_sensor_to_earth(kinematics(t - dt)[0], t - dt)), q)
    dq *= np.sign(dq[:, :1])
    norm = np.linalg.norm(dq[:, 1:], axis=1, keepdims=True)
    gyr = dq[:, 1:] / np.maximum(norm, 1e-300) * 2 * np.arctan2(norm, dq[:, :1]) / dt
    acc = acc + np.asarray(acc_bias_mps2) + acc_noise_mps2 * rng.standard_normal(acc.shape)
    gyr = gyr + np.deg2rad(gyr_bias_dps) + gyr_noise_radps * rng.standard_normal(gyr.shape)
    events = [GaitEvent(float(x), "IC", str(sd), 0) for x, sd in zip(t_ic, sides, strict=True)]
    return {"t": t, "acc": acc, "gyr": gyr, "angles": angles, "a_prog": a_prog,
            "events": events, "t_ic": t_ic, "sides": sides, "t_step": t_step, "drop": drop,
            "tilt_amp": tilt_amp_deg, "rot_amp": rot_amp_deg, "tilt_mean": tilt_mean_deg,
            "heading_rad": h, "turns": turn_spans}
