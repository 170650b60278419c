"""Single-leg stance: drop of the unsupported side, sway, time to stabilise, time
held: :class:`SingleLegStanceMonitor` (streaming), :func:`single_leg_stance` (offline)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from sacrum.scoring.tasks._signal import _bridge, _deg, _moving_mean
from sacrum.scoring.tasks.common import TaskInputError, _as_rows, _rate_hz, _side
from sacrum.scoring.tasks.frames import contralateral_drop_rad


def _nan_moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving mean over n samples ignoring NaN (NaN where the window has none)."""
    ok = np.isfinite(x)
    s = _moving_mean(np.where(ok, x, 0.0), n)
    c = _moving_mean(ok.astype(float), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / c, np.nan)


@dataclass
class SingleLegStanceResult:
    """One single-leg stance (stance leg ``side``, the other foot lifted).

    t_lift_s: the foot leaves the ground (the angular speed first rises above the
    threshold); t_stable_s: from here on the 1-s angular-velocity RMS stays below the
    stability threshold until the foot goes down; t_end_s: the foot goes down (or balance
    is lost: the next burst of angular speed or vertical acceleration), or the end of the
    data (``held_to_end``). time_to_stabilise_s = t_stable_s - t_lift_s; time_held_s =
    t_end_s - t_lift_s (a lower bound when ``held_to_end``).

    drop_mean_rad: mean contralateral drop (the unsupported side below the standing
    calibration, + = dropped; :func:`contralateral_drop_rad`) over the stable hold;
    drop_peak_rad and t_drop_peak_s: its largest value over the whole stance (lift to
    foot down). Sway over the stable hold: gyr_rms_radps (RMS of the angular velocity
    vector), tilt_range_rad and obliquity_range_rad (max - min). hold_s: duration of the
    stable hold the sway is computed over. NaN where not available (``messages`` says
    why).
    """

    side: str
    t_lift_s: float = math.nan
    t_stable_s: float = math.nan
    t_end_s: float = math.nan
    time_to_stabilise_s: float = math.nan
    time_held_s: float = math.nan
    held_to_end: bool = False
    drop_mean_rad: float = math.nan
    drop_peak_rad: float = math.nan
    t_drop_peak_s: float = math.nan
    gyr_rms_radps: float = math.nan
    tilt_range_rad: float = math.nan
    obliquity_range_rad: float = math.nan
    hold_s: float = math.nan
    messages: list[str] = field(default_factory=list)

    def to_dict_deg(self) -> dict:
        """The fields for a report: angles in degrees (``*_deg``), angular velocity in
        deg/s, times in s."""
        d = asdict(self)
        for k in ("drop_mean", "drop_peak", "tilt_range", "obliquity_range"):
            d[f"{k}_deg"] = _deg(d.pop(f"{k}_rad"))
        d["gyr_rms_dps"] = _deg(d.pop("gyr_rms_radps"))
        return d


class SingleLegStanceMonitor:
    """Single-leg stance: drop of the unsupported side, sway, time to stabilise, time held.

    A streaming processor: ``update(t_s, angles_rad, gyr_body_radps, acc_body_mps2=None)``
    with the task's samples as they come returns the result for the task so far (times
    held so far are marked ``held_to_end``); the offline :func:`single_leg_stance` is the
    same processor fed everything. Each update re-reads the task's buffer (a stance task
    lasts a minute at most: milliseconds).

    **Data required.** ``angles_rad`` (N, 3) relative to the standing calibration,
    ``gyr_body_radps`` (N, 3) body frame, optionally ``acc_body_mps2`` (N, 3, gravity
    removed, z up) for the foot coming down; constant rate, NaN rows for lost samples.

    **Steps.**

    1. Gaps up to ``max_gap_s`` bridged; longer ones are left out of every statistic and
       said in ``messages`` (the foot may have come down unseen).
    2. Angular speed |ω| smoothed over ``smooth_s``; its RMS over ``stable_window_s``
       (centred).
    3. *Lift*: the first sample where the smoothed speed exceeds ``lift_radps`` (the
       weight shift and the foot leaving). None: the whole task is taken as stance and
       ``messages`` says so.
    4. *First stable*: after the lift's burst (RMS above ``stable_rms_radps``), the first
       sample where the RMS is back below it (immediately if the lift never brought it
       above).
    5. *Foot down* (or loss of balance): the first sample after the first stable one and at
       least ``min_stance_s`` after the lift where the speed (smoothed over 0.1 s)
       exceeds ``touchdown_radps`` or the vertical acceleration departs from its median by more
       than ``touchdown_acc_mps2`` (heel or forefoot contact). None: the end of the data.
    6. *Time to stabilise* (after the time-to-stabilisation of landing tasks, Ross &
       Guskiewicz 2004, here with the pelvis' angular velocity): from the lift to the
       sample after the last one whose RMS is above the threshold, looking up to the end
       of the hold (foot-down less ``touchdown_margin_s``) less half the RMS window (so
       that the window does not reach into the foot coming down).
    7. Drop, sway and ranges over the stable hold (stable to foot-down less the margin);
       the peak drop over the whole stance.

    **Parameters.** smooth_s = 0.25 (s); stable_window_s = 1.0 (s); lift_radps = 0.15
    (rad/s, ~9°/s: quiet two-leg standing stays well below); stable_rms_radps = 0.10
    (rad/s, ~6°/s; healthy quiet one-leg stance sways at a few °/s at the pelvis);
    touchdown_radps = 0.3 (rad/s, ~17°/s: putting the foot down turns the pelvis back by
    its drop, a few degrees, in 0.2-0.3 s); touchdown_acc_mps2 = 3.0 (m/s²);
    min_stance_s = 0.5 (s); touchdown_margin_s = 0.5 (s: the foot starts down before it
    lands); max_gap_s = 0.25 (s); min_duration_s = 2.0 (s).
    None fitted to data (no single-leg-stance recordings here yet); thresholds are
    stated in the results' messages when they decide something.

    **Limits.** Without ``acc_body_mps2`` a foot put down without moving the pelvis
    much (a small drop, slowly) is not seen: the stance then reads as held to the end.
    Give the acceleration. A touch of the floor with the toes that neither moves the
    pelvis nor jolts the sacrum is invisible to a sacral sensor.

    **References.** P. Hardcastle, S. Nade (1985). The significance of the Trendelenburg
    test. J Bone Joint Surg Br 67:741-746. S. E. Ross, K. M. Guskiewicz (2004).
    Examination of static and dynamic postural stability in individuals with functionally
    stable and unstable ankles. Clin J Sport Med 14:332-338.
    """

    def __init__(self, side: str, *, smooth_s: float = 0.25, stable_window_s: float = 1.0,
                 lift_radps: float = 0.15, stable_rms_radps: float = 0.10,
                 touchdown_radps: float = 0.3, touchdown_acc_mps2: float = 3.0,
                 min_stance_s: float = 0.5, touchdown_margin_s: float = 0.5,
                 max_gap_s: float = 0.25, min_duration_s: float = 2.0) -> None:
        self.side = _side(side)
        self.smooth_s, self.stable_window_s = smooth_s, stable_window_s
        self.lift_radps, self.stable_rms_radps = lift_radps, stable_rms_radps
        self.touchdown_radps, self.touchdown_acc_mps2 = touchdown_radps, touchdown_acc_mps2
        self.min_stance_s, self.touchdown_margin_s = min_stance_s, touchdown_margin_s
        self.max_gap_s, self.min_duration_s = max_gap_s, min_duration_s
        self.reset()

    def reset(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._has_acc: bool | None = None

    def update(self, t_s, angles_rad, gyr_body_radps, acc_body_mps2=None,
               ) -> SingleLegStanceResult:
        t = np.asarray(t_s, float).reshape(-1)
        n = len(t)
        parts = [t[:, None], _as_rows(angles_rad, n, 3, "angles_rad"),
                 _as_rows(gyr_body_radps, n, 3, "gyr_body_radps")]
        has_acc = acc_body_mps2 is not None
        if self._has_acc is None:
            self._has_acc = has_acc
        elif has_acc != self._has_acc:
            raise TaskInputError("acc_body_mps2 must be given with every chunk or none")
        if has_acc:
            parts.append(_as_rows(acc_body_mps2, n, 3, "acc_body_mps2")[:, 2:3])
        self._chunks.append(np.hstack(parts))
        data = np.vstack(self._chunks)
        self._chunks = [data]
        return self._analyse(data)

    def flush(self) -> SingleLegStanceResult:
        """The task has ended: its result, as the last ``update`` gave it (nothing is held
        back; a stance still held at the end stays ``held_to_end``)."""
        data = np.vstack(self._chunks) if self._chunks else np.zeros((0, 7))
        return self._analyse(data)

    # ------------------------------------------------------------------------------------
    def _analyse(self, data: np.ndarray) -> SingleLegStanceResult:
        res = SingleLegStanceResult(self.side)
        msgs = res.messages
        t = data[:, 0]
        n = len(t)
        fs = _rate_hz(t)
        dur = float(t[-1] - t[0]) if n > 1 else 0.0
        if not math.isfinite(fs) or dur < self.min_duration_s:
            msgs.append(f"too short for a single-leg stance ({dur:.1f} s; at least "
                        f"{self.min_duration_s:.1f} s needed)")
            return res
        x, gaps = _bridge(t, data[:, 1:], self.max_gap_s)
        msgs += gaps.messages("data")
        ang, gyr = x[:, 0:3], x[:, 3:6]
        a_v = x[:, 6] if x.shape[1] > 6 else None
        if not gaps.valid.any():
            msgs.append("no valid samples")
            return res
        # -- 2
        speed = np.sqrt(np.einsum("ij,ij->i", gyr, gyr))
        w_s = _nan_moving_mean(speed, round(self.smooth_s * fs))
        rms = np.sqrt(_nan_moving_mean(speed ** 2, round(self.stable_window_s * fs)))
        if np.nanmax(w_s) < 1e-4:
            msgs.append("no movement at all (angular speed zero): is the sensor running "
                        "and worn?")
        # -- 3 lift
        above = np.flatnonzero(w_s > self.lift_radps)
        if len(above) == 0:
            lift = int(np.flatnonzero(gaps.valid)[0])
            msgs.append(f"no lift-off seen (angular speed never above "
                        f"{math.degrees(self.lift_radps):.0f}°/s): the whole recording is "
                        f"taken as single-leg stance - check the task mark")
        else:
            lift = int(above[0])
            if t[lift] - t[0] < self.smooth_s:
                msgs.append("moving from the first sample: the lift-off may have been "
                            "before the task mark")
        # -- 4 first stable
        burst = np.flatnonzero(rms[lift:] > self.stable_rms_radps)
        if len(burst) == 0:
            s1 = lift
        else:
            calm = np.flatnonzero(rms[lift + burst[0]:] <= self.stable_rms_radps)
            s1 = lift + int(burst[0]) + int(calm[0]) if len(calm) else None
        # -- 5 foot down
        n_min = round(self.min_stance_s * fs)
        from_i = max(s1 if s1 is not None else lift, lift + n_min)
        down = _nan_moving_mean(speed, round(0.1 * fs)) > self.touchdown_radps
        if a_v is not None and np.isfinite(a_v).any():
            down |= np.abs(a_v - np.nanmedian(a_v)) > self.touchdown_acc_mps2
        td_c = np.flatnonzero(down[from_i:]) if from_i < n else np.zeros(0, int)
        if len(td_c):
            td = from_i + int(td_c[0])
            res.held_to_end = False
        else:
            td = n - 1
            res.held_to_end = True
        res.t_lift_s, res.t_end_s = float(t[lift]), float(t[td])
        res.time_held_s = res.t_end_s - res.t_lift_s
        if res.held_to_end:
            msgs.append(f"still on one leg at the end of the data: time held at least "
                        f"{res.time_held_s:.1f} s")
        for g0, g1 in gaps.long:
            if res.t_lift_s < g1 and g0 < res.t_end_s:
                msgs.append(f"{g1 - g0:.2f}-s gap during the stance at {g0:.2f} s: the "
                            f"foot may have come down unseen")
        # -- 6 time to stabilise
        margin = round(self.touchdown_margin_s * fs)
        hold_end = td if res.held_to_end else max(lift + 1, td - margin)
        drop = contralateral_drop_rad(ang[:, 1], self.side)
        if s1 is None or s1 >= hold_end:
            msgs.append(f"never stable: the {self.stable_window_s:.0f}-s angular-velocity RMS "
                        f"stayed above {math.degrees(self.stable_rms_radps):.0f}°/s before "
                        f"the foot went down")
            hold = slice(lift, hold_end)
        else:
            look_to = max(s1 + 1, hold_end - round(self.stable_window_s * fs / 2))
            unstable = np.flatnonzero(rms[s1:look_to] > self.stable_rms_radps)
            stable = s1 + int(unstable[-1]) + 1 if len(unstable) else s1
            res.t_stable_s = float(t[stable])
            res.time_to_stabilise_s = res.t_stable_s - res.t_lift_s
            hold = slice(stable, hold_end)
            if (hold_end - stable) / fs < 1.0:
                msgs.append(f"stable hold only {(hold_end - stable) / fs:.1f} s: sway "
                            f"measured over it anyway")
        # -- 7 drop and sway
        seg = slice(lift, hold_end)
        if np.isfinite(drop[seg]).any():
            k = lift + int(np.nanargmax(drop[seg]))
            res.drop_peak_rad, res.t_drop_peak_s = float(drop[k]), float(t[k])
        if hold.stop > hold.start and np.isfinite(drop[hold]).any():
            res.hold_s = (hold.stop - hold.start) / fs
            res.drop_mean_rad = float(np.nanmean(drop[hold]))
            res.gyr_rms_radps = float(np.sqrt(np.nanmean(speed[hold] ** 2)))
            res.tilt_range_rad = float(np.nanmax(ang[hold, 0]) - np.nanmin(ang[hold, 0]))
            res.obliquity_range_rad = float(np.nanmax(ang[hold, 1]) - np.nanmin(ang[hold, 1]))
        return res


def single_leg_stance(t_s, angles_rad, gyr_body_radps, side: str, acc_body_mps2=None,
                      **params) -> SingleLegStanceResult:
    """Metrics of one single-leg stance on leg ``side`` ("L"|"R"): the task's samples
    through :class:`SingleLegStanceMonitor` (its docstring: method and parameters).
    ``acc_body_mps2`` (optional, N×3, z up) helps to see the foot come down."""
    return SingleLegStanceMonitor(side, **params).update(t_s, angles_rad, gyr_body_radps,
                                                         acc_body_mps2)
