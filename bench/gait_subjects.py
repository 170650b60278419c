"""Gait events of sacrum.signal.gait vs mobgap, leave-one-subject-out over seven people.

    .venv/bin/python bench/gait_subjects.py [--data ../shared/data] [--no-cache]
        [--sweep PARAM=V1,V2,...] [--sweep-slow K1,K2] [--slow K1,K2] [--trials] [--why]

People: IPOL subjects 1-6 (34 trials of the clinical walk test: stand, 10 m, U-turn,
10 m back, stop; Voisard et al. 2023, AGPL-3.0, read from ../shared/data/ipol and never
copied) and Mobilise-D HA/001 (Test5 Trial1/2, Test11 Trial1; INDIP reference; Apache-2.0).

Data as the detector gets it:

* IPOL: ``PacketCounter`` gaps are lost samples: NaN rows on the 100 Hz packet timeline
  (time = (PacketCounter - first) / 100 Hz), never cleaned away. The reference's boundaries
  and foot events are sample indices on that timeline; each ``[start, end]`` pair of
  ``LeftFootEvents`` / ``RightFootEvents`` is [FC, IC] of that foot; the reference is the
  events inside ``TrialBoundaries`` (14 trials have foot events after the trial's end: 47 ICs
  of steps back or shuffling, not part of the walk test). Turns: ``UTurnBoundaries``.
* HA/001: ``gait_mobgap.load_trial`` (INDIP MicroWB); turns: the reference's own
  ``Turn_Start`` / ``Turn_End`` of each bout.

Ours: ``GaitEventDetector`` on the **whole recording** (standing included; it finds the
walking itself and the mounting: no ``q_sensor_to_body`` given), orientation from
``sacrum.signal.orientation.orientation_offline`` (lost samples stay NaN), fed in 1-s chunks.
"ours" are the events it returns live; "ours offline" those inside its bouts
(``events_in_bouts``, what ``detect_events`` / ``sacrum events`` return).

Peers (same trials, same run): mobgap's IcdIonescu, IcdShinImproved, IcdHKLeeImproved, each
with LrcMcCamley and LrcUllrich (default parameters, pretrained ``msproject_all``), run per
**reference** bout (IPOL: the trial boundaries; they are told where the walking is), in
mobgap's body frame (is up, ml right, pa forward), acc m/s², gyr deg/s. HA/001: the sensor
axes renamed (``to_body_frame``). IPOL: the axes are not documented, so the peers' frame is
found from the data of each trial: *up* is the mean acceleration over the first second of the
recording (the participant stands still before the trial starts), *forward* is the anterior
axis of ``sacrum.signal.mounting.estimate_mounting`` (the project's mounting stage: the horizontal
line of largest step-frequency acceleration, signed by the forward acceleration leading the
vertical one by a quarter step) made orthogonal to *up*; right = forward × up. On every
trial this forward axis is within a few tens of degrees of the sensor's -z (the script
prints the largest angle): the sensor was worn x up, y left, z back, leaning forward.
Lost samples are linearly interpolated for the peers only (mobgap cannot take NaN). Their
results are cached in ``bench/.cache/`` by trial name and a digest of the data (a replay
made another way is run again; delete it or pass ``--no-cache`` to recompute).

Figures, over the reference bouts' spans (detections from start - 0.25 s to end + 0.25 s),
per person, pooled, and the spread (min / median / max) across the seven people:
F1 of ICs matched one-to-one within 0.25 s, split into straight walking and turns (a
reference IC inside a turn span is a turn IC; a detection takes the class of the reference
IC it matches, else of its own time), F1 within 0.1 s (all ICs), median absolute timing
error (ms) and side accuracy of the ICs matched within 0.25 s, cadence error (steps/min,
mean absolute over reference bouts; each system's cadence from its ICs in the bout's span as
the mean of 120 / (IC_k+2 - IC_k), as ``gait_mobgap.cadence``; IPOL's reference cadence is
the same function of its own ICs, HA/001's the INDIP ``Cadence``).

The reference has gaps: two consecutive ICs of one foot at least ``REF_GAP_STEPS`` (1.5)
median steps apart, the other foot's landing between them missing (the foot sensor missed a
swing; 8 in the IPOL trials, 5 of them in U-turns). A detection there is counted as an extra
and the reference's cadence is too low for that bout. Two more figures, for every method
alike and for comparison only (the targets are the figures above): F1 in turns with the
unmatched detections inside a reference gap not counted, and the cadence error with the
strides over a reference gap left out of the reference's cadence (IPOL; HA/001's INDIP
cadence is kept).

Whether a pooled difference from the best peer is more than the trials' chance: for each
figure, ours − the best peer with a 90 % interval from a paired bootstrap over the 37 trials
(``paired_bootstrap``; 1000 resamples, fixed seed). A turn figure rests on about 100
reference ICs, so a difference of 0.02 is two steps.

``--why`` shows, per person, where the cadence error comes from (``cadence_why``): the error
from the timing alone (every extra taken out, every miss put in at the reference's time), and
with only the misses and extras at the bout's edges, in turns, in reference gaps, or
elsewhere left in; for ours and for mobgap's IcdShinImproved + LrcUllrich. It also prints
each person's median signed timing offsets (``offsets_table``: the ICs of ours and of each
mobgap IC detector, our FCs, the reference's own IC → FC interval) and, for the trials whose
reference sides look swapped, every method's side accuracy per trial of that person with the
mounting found from the data (``swap_evidence``).

``--sweep PARAM=V1,V2,...`` chooses a ``GaitEventDetector`` parameter leave-one-subject-out:
for each person, the value with the best pooled objective (mean of the six F1 / accuracy
figures after scaling timing and cadence errors, see ``objective``; live plus offline
events) on the other six; the
held-out figures are reported, and which value each fold chose. With ``--sweep-slow
K1,K2`` the choice is made on the trials and on their replays K times slower together
(``slowed``: the objectives summed), and the held-out figures at each K are printed beside
the defaults'.

``--slow K1,K2`` adds a table of ours and mobgap's detectors on every trial replayed K
times slower (``slowed_table``; sacrum.testing.slowed says what that stands for).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from gait_mobgap import PAD_S, G, cadence, load_trial, match
from sacrum.signal.gait import GaitEventDetector, events_in_bouts
from sacrum.signal.orientation import orientation_offline
from sacrum.testing.slowed import slow_motion

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
CACHE = REPO / "bench" / ".cache"
MOBGAP_TRIALS = [("Test5", "Trial1"), ("Test5", "Trial2"), ("Test11", "Trial1")]
FS = 100.0
PEERS = [(icd, lrc) for icd in ("IcdIonescu", "IcdShinImproved", "IcdHKLeeImproved")
         for lrc in ("LrcMcCamley", "LrcUllrich")]
FIGURES = [("F1@0.25 straight", "f1s", "{:.3f}", 0.98, "min"),
           ("F1@0.25 turns", "f1t", "{:.3f}", 0.90, "min"),
           ("F1@0.1", "f1p", "{:.3f}", 0.93, "min"),
           ("median abs err (ms)", "err", "{:.0f}", 25.0, "max"),
           ("side acc", "side", "{:.3f}", 0.98, "min"),
           ("side acc without the trials whose reference sides are swapped", "side_x",
            "{:.3f}", 0.98, "min"),
           ("cadence err (spm)", "cad", "{:.2f}", 1.5, "max"),
           ("F1@0.25 turns, detections in reference gaps not counted", "f1t_x", "{:.3f}",
            0.90, "min"),
           ("cadence err (spm), reference gaps left out of the reference's cadence", "cad_x",
            "{:.2f}", 1.5, "max")]
#: figures that set the reference's own gaps aside (printed, not the targets)
GAP_FIGURES = ("f1t_x", "cad_x")
#: two consecutive reference ICs of one foot at least this many of the bout's median steps
#: apart: the other foot's landing between them is missing from the reference (the foot
#: sensor missed a swing); a shorter same-foot pair can be a real shuffle (turns)
REF_GAP_STEPS = 1.5


# ------------------------------------------------------------------------------ data


def load_ipol(root: Path, name: str) -> dict:
    """One IPOL trial: sensor data with NaN rows for lost packets, and its reference."""
    with open(root / f"{name}_lb.txt") as f:
        f.readline()
        tab = pd.read_csv(f, sep="\t")
    pc = tab["PacketCounter"].to_numpy(float).astype(np.int64)
    pc = np.concatenate([[0], np.cumsum(np.mod(np.diff(pc), 65536))])  # unwrap uint16
    n = int(pc[-1]) + 1
    acc = np.full((n, 3), np.nan)
    gyr = np.full((n, 3), np.nan)
    acc[pc] = tab[["Acc_X", "Acc_Y", "Acc_Z"]].to_numpy(float)
    gyr[pc] = tab[["Gyr_X", "Gyr_Y", "Gyr_Z"]].to_numpy(float)
    meta = json.loads((root / f"{name}.json").read_text())
    a, b = meta["TrialBoundaries"]
    # the foot events go on after the trial in some recordings (steps back to the start,
    # shuffling: 47 ICs in 14 trials); the reference is the trial
    ic = [(e[1] / FS, "L") for e in meta["LeftFootEvents"] if a <= e[1] <= b]
    ic += [(e[1] / FS, "R") for e in meta["RightFootEvents"] if a <= e[1] <= b]
    ic.sort()
    fc = sorted(e[0] / FS for e in meta["LeftFootEvents"] + meta["RightFootEvents"]
                if a <= e[0] <= b)
    t_ic = np.array([x[0] for x in ic])
    u0, u1 = meta["UTurnBoundaries"]
    ref = [{"start": a / FS, "end": b / FS, "ic": t_ic, "side": np.array([x[1] for x in ic]),
            "fc": np.array(fc), "cadence": cadence(t_ic), "cadence_from_ic": True,
            "turns": [(u0 / FS, u1 / FS)]}]
    return {"name": f"ipol {name}", "subject": f"ipol {meta['Subject']}", "acc": acc,
            "gyr": gyr, "fs": FS, "ref": ref, "lost": float(np.isnan(acc[:, 0]).mean())}


def load_ha001(root: Path, test: str, trial: str) -> dict:
    tr = load_trial(root, test, trial)
    import scipy.io as sio
    d = sio.loadmat(root / "HA" / "001" / "data.mat", simplify_cells=True)["data"]
    wbs = d["TimeMeasure1"][test][trial]["Standards"]["INDIP"]["MicroWB"]
    wbs = [wbs] if isinstance(wbs, dict) else list(wbs)
    for w, r in zip(wbs, tr["ref"], strict=True):
        s, e = np.atleast_1d(w["Turn_Start"]), np.atleast_1d(w["Turn_End"])
        r["turns"] = [(float(a), float(b)) for a, b in zip(s, e, strict=True)]
    return {"name": f"HA001 {test} {trial}", "subject": "HA001", "acc": tr["acc_g"] * G,
            "gyr": np.deg2rad(tr["gyr_dps"]), "fs": tr["fs"], "ref": tr["ref"], "lost": 0.0}


def load_all(data: Path) -> list[dict]:
    ipol = data / "ipol"
    names = sorted((p.name[:-len("_lb.txt")] for p in ipol.glob("*_lb.txt")),
                   key=lambda s: tuple(int(x) for x in s.split("-")))
    trials = [load_ipol(ipol, n) for n in names]
    trials += [load_ha001(data / "mobgap", a, b) for a, b in MOBGAP_TRIALS]
    return trials


def slowed(tr: dict, k: float) -> dict:
    """The trial replayed ``k`` times slower (``slowed.slow_motion``); the reference's times
    scale by k, its cadence by 1/k. ``prepare_ours`` must have run on ``tr`` (its
    orientation gives the earth frame)."""
    acc, gyr, _q = slow_motion(tr["acc"], tr["gyr"], tr["q"], k)
    ref = [{**w, "start": w["start"] * k, "end": w["end"] * k, "ic": w["ic"] * k,
            "fc": w["fc"] * k, "turns": [(a * k, b * k) for a, b in w["turns"]],
            "cadence": w["cadence"] / k} for w in tr["ref"]]
    out = {**tr, "name": f"{tr['name']} slowed {k:g}", "ref": ref, "acc": acc, "gyr": gyr}
    if tr["subject"] != "HA001":
        out["body_rot"] = body_frame_ipol(tr)          # the peers' frame: the same motion's
    prepare_ours(out)
    return out


def slowed_table(trials: list[dict], ks: list[float], with_peers: bool,
                 use_cache: bool) -> str:
    """Ours and mobgap's three IC detectors (with LrcUllrich) on every trial replayed k
    times slower (``slowed``): pooled F1@0.25 and its lowest person, F1@0.1, cadence error
    and its highest person, ICs found / reference."""
    subjects = list(dict.fromkeys(tr["subject"] for tr in trials))
    lines = ["| slowed | method | F1@0.25 pooled | lowest person | F1@0.1 | cadence err "
             "(spm) | highest person | ICs found / reference |",
             "| --- " * 8 + "|"]
    for k in ks:
        slow = [slowed(tr, k) if k != 1 else tr for tr in trials]
        rows: dict[str, dict[str, list[dict]]] = {"ours": {}}
        for tr in slow:
            rows["ours"].setdefault(tr["subject"], []).append(score(*run_ours(tr)["ours"],
                                                                    tr["ref"]))
        if with_peers:
            peers = peers_cached(slow, use_cache)
            for tr in slow:
                for key, (t, s) in peers[tr["name"]].items():
                    if key.endswith("LrcUllrich"):
                        rows.setdefault(f"mobgap {key.split('+')[0]}", {}).setdefault(
                            tr["subject"], []).append(score(t, s, tr["ref"]))
        for method, per in rows.items():
            each = [summarise(per[s]) for s in subjects]
            pooled = summarise([p for s in subjects for p in per[s]])
            lo = min(zip((e["f1"] for e in each), subjects, strict=True))
            hi = max(zip((e["cad"] for e in each), subjects, strict=True))
            lines.append(f"| {k:g} × | {method} | {pooled['f1']:.3f} | {lo[0]:.3f} ({lo[1]}) | "
                         f"{pooled['f1p']:.3f} | {pooled['cad']:.2f} | {hi[0]:.2f} ({hi[1]}) | "
                         f"{pooled['det']} / {pooled['ref']} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ peers


def body_frame_ipol(tr: dict) -> np.ndarray:
    """Rows (up, right, forward) in sensor coordinates, from the data (module docstring)."""
    from sacrum.signal.mounting import estimate_mounting
    from sacrum.signal.quaternion import quat_conjugate, quat_rotate

    fs = tr["fs"]
    acc = tr["acc"][: round(fs)]
    up = np.nanmean(acc, axis=0)
    up /= np.linalg.norm(up)
    q_b = estimate_mounting(tr["q"], tr["acc"], tr["gyr"], fs).q_sensor_to_body
    fwd = quat_rotate(quat_conjugate(q_b[None, :]), np.array([[1.0, 0.0, 0.0]]))[0]
    fwd -= (fwd @ up) * up
    fwd /= np.linalg.norm(fwd)
    return np.vstack([up, np.cross(fwd, up), fwd])


def run_peers(tr: dict) -> dict:
    """{(icd, lrc): (ic_t, ic_side)}, each algorithm per reference bout."""
    from mobgap.initial_contacts import IcdHKLeeImproved, IcdIonescu, IcdShinImproved
    from mobgap.laterality import LrcMcCamley, LrcUllrich
    from mobgap.utils.conversions import to_body_frame

    fs = tr["fs"]
    acc = pd.DataFrame(tr["acc"]).interpolate(limit_direction="both").to_numpy()
    gyr = np.degrees(pd.DataFrame(tr["gyr"]).interpolate(limit_direction="both").to_numpy())
    cols = ["acc_is", "acc_ml", "acc_pa", "gyr_is", "gyr_ml", "gyr_pa"]
    if tr["subject"] == "HA001":
        body = to_body_frame(pd.DataFrame(np.hstack([acc, gyr]), columns=[
            "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]))
    else:
        rot = tr["body_rot"] if "body_rot" in tr else body_frame_ipol(tr)
        body = pd.DataFrame(np.hstack([acc @ rot.T, gyr @ rot.T]), columns=cols)
    icds = {"IcdShinImproved": IcdShinImproved, "IcdIonescu": IcdIonescu,
            "IcdHKLeeImproved": IcdHKLeeImproved}
    lrcs = {"LrcMcCamley": LrcMcCamley, "LrcUllrich": LrcUllrich}
    out = {}
    for icd_name, lrc_name in PEERS:
        ts, ss = [], []
        for w in tr["ref"]:
            i0 = round(w["start"] * fs)
            i1 = round(w["end"] * fs) + 1
            seg = body.iloc[i0:i1].reset_index(drop=True)
            ics = icds[icd_name]().detect(seg, sampling_rate_hz=fs).ic_list_
            if len(ics) == 0:
                continue
            lr = lrcs[lrc_name]().predict(seg, ics, sampling_rate_hz=fs).ic_lr_list_
            ts += list((lr["ic"].to_numpy() + i0) / fs)
            ss += [str(x)[0].upper() for x in lr["lr_label"]]
        out[(icd_name, lrc_name)] = (np.array(ts), np.array(ss))
    return out


def peers_cached(trials: list[dict], use_cache: bool) -> dict[str, dict]:
    """``run_peers`` of each trial, by name, cached by the name and a digest of the data
    (a slowed replay made another way, or a changed loader, is run again)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "gait_subjects_mobgap.json"
    cache = json.loads(path.read_text()) if use_cache and path.exists() else {}
    out = {}
    for tr in trials:
        h = hashlib.sha1(np.ascontiguousarray(tr["acc"]).tobytes())
        h.update(np.ascontiguousarray(tr["gyr"]).tobytes())
        key = f"{tr['name']} {h.hexdigest()[:12]}"
        if key not in cache:
            res = run_peers(tr)
            cache[key] = {f"{a}+{b}": [t.tolist(), s.tolist()] for (a, b), (t, s) in res.items()}
            path.write_text(json.dumps(cache))
        out[tr["name"]] = {k: (np.array(v[0], float), np.array(v[1], str))
                           for k, v in cache[key].items()}
    return out


# ------------------------------------------------------------------------------ ours


def prepare_ours(tr: dict) -> None:
    """Orientation once per trial (the detector's parameters do not change it)."""
    tr["q"] = orientation_offline(tr["acc"], tr["gyr"], tr["fs"])
    tr["t"] = np.arange(len(tr["acc"])) / tr["fs"]


def run_ours(tr: dict, chunk_s: float = 1.0, **params) -> dict:
    fs = tr["fs"]
    det = GaitEventDetector(fs, **params)
    ev = []
    step = max(1, round(chunk_s * fs))
    t, acc, gyr, q = tr["t"], tr["acc"], tr["gyr"], tr["q"]
    for i in range(0, len(t), step):
        ev += det.update(t[i:i + step], acc[i:i + step], gyr[i:i + step], q[i:i + step])
    ev += det.flush()
    ic = [e for e in ev if e.kind == "IC"]
    off = [e for e in events_in_bouts(ev, det.bouts) if e.kind == "IC"]
    return {"ours": (np.array([e.t_s for e in ic]), np.array([e.side for e in ic])),
            "ours offline": (np.array([e.t_s for e in off]), np.array([e.side for e in off])),
            "fc": np.array([e.t_s for e in ev if e.kind == "FC"]), "det": det}


# ------------------------------------------------------------------------------ scoring


def ref_gaps(r_t: np.ndarray, r_s: np.ndarray) -> list[tuple[float, float]]:
    """Reference gaps of a bout: (t_a, t_b) of consecutive ICs of one foot at least
    ``REF_GAP_STEPS`` median steps apart (the other foot's IC between is missing)."""
    if len(r_t) < 3:
        return []
    med = float(np.median(np.diff(r_t)))
    return [(float(r_t[i]), float(r_t[i + 1])) for i in range(len(r_t) - 1)
            if r_s[i] == r_s[i + 1] and r_t[i + 1] - r_t[i] >= REF_GAP_STEPS * med]


def cadence_without_gaps(r_t: np.ndarray, gaps: list[tuple[float, float]]) -> float:
    """``cadence`` of the reference ICs over the strides that span none of its gaps."""
    r_t = np.sort(np.asarray(r_t, float))
    if len(r_t) < 3:
        return np.nan
    ok = np.ones(len(r_t) - 2, bool)
    for a, b in gaps:
        ok &= ~((r_t[:-2] <= a) & (r_t[2:] >= b))
    return float(np.mean(120.0 / (r_t[2:] - r_t[:-2])[ok])) if ok.any() else np.nan


def in_gap(x: np.ndarray, gaps: list[tuple[float, float]]) -> np.ndarray:
    """Times inside a reference gap, more than the match tolerance from both its ends."""
    x = np.asarray(x, float)
    m = np.zeros(len(x), bool)
    for a, b in gaps:
        m |= (x > a + 0.25) & (x < b - 0.25)
    return m


WHY_KINDS = ("edge", "turn", "gap", "other")


def cadence_why(t: np.ndarray, r_t: np.ndarray, m: list[tuple[int, int]], w: dict,
                gaps: list[tuple[float, float]], in_turn) -> dict:
    """Where one bout's cadence error comes from. Each missed reference IC (FN) and each
    unmatched detection (FP) gets a kind: *edge* (the bout's first or last reference IC;
    a detection before the first or after the last), *gap* (a detection inside a reference
    gap, ``ref_gaps``), *turn* (in a turn span), else *other*. ``timing``: the |cadence
    error| with every FP taken out and every FN put in at the reference's time (what the
    timing alone does); ``only_<kind>``: the same with that kind's misses and extras left
    in; ``n_fp_<kind>``, ``n_fn_<kind>``: the counts."""
    mi, mj = {i for i, _ in m}, {j for _, j in m}
    kinds_fp, kinds_fn = {}, {}
    r0, r1 = (r_t[0], r_t[-1]) if len(r_t) else (np.inf, -np.inf)
    g = in_gap(t, gaps)
    turn_d, turn_r = in_turn(t), in_turn(r_t)
    for i in range(len(t)):
        if i not in mi:
            kinds_fp[i] = ("edge" if t[i] < r0 or t[i] > r1 else "gap" if g[i]
                           else "turn" if turn_d[i] else "other")
    for j in range(len(r_t)):
        if j not in mj:
            kinds_fn[j] = ("edge" if j in (0, len(r_t) - 1) else "turn" if turn_r[j]
                           else "other")

    def err(keep: str | None) -> float:
        x = [t[i] for i, _ in m]
        x += [t[i] for i, k in kinds_fp.items() if k == keep]
        x += [r_t[j] for j, k in kinds_fn.items() if k != keep]
        c = cadence(np.array(x))
        return abs(c - w["cadence"]) if np.isfinite(c) else np.nan

    out = {"timing": err(None)}
    for k in WHY_KINDS:
        out[f"only_{k}"] = err(k)
        out[f"n_fp_{k}"] = sum(v == k for v in kinds_fp.values())
        out[f"n_fn_{k}"] = sum(v == k for v in kinds_fn.values())
    return out


def why_table(per: dict[str, list[dict]], subjects: list[str]) -> str:
    """Per person: the cadence error (mean |error| over bouts) as it is, from the timing
    alone, and with only one kind of miss/extra left in; and the misses (FN) and extras
    (FP) of each kind."""
    rows = ["| person | bouts | cadence err | timing only | "
            + " | ".join(f"{k} only" for k in WHY_KINDS) + " | "
            + " | ".join(f"{k} FN / FP" for k in WHY_KINDS) + " |",
            "| --- " * (4 + 2 * len(WHY_KINDS)) + "|"]
    for s in [*subjects, "pooled"]:
        parts = [p for x in subjects for p in per[x]] if s == "pooled" else per[s]
        why = [b for p in parts for b in p["why"]]
        cad = summarise(parts)["cad"]

        def mean(key, why=why):
            v = np.array([b[key] for b in why], float)
            return float(np.mean(np.where(np.isfinite(v), v, 60.0)))
        rows.append(f"| {s} | {len(why)} | {cad:.2f} | {mean('timing'):.2f} | "
                    + " | ".join(f"{mean(f'only_{k}'):.2f}" for k in WHY_KINDS) + " | "
                    + " | ".join(f"{sum(b[f'n_fn_{k}'] for b in why)} / "
                                 f"{sum(b[f'n_fp_{k}'] for b in why)}" for k in WHY_KINDS)
                    + " |")
    return "\n".join(rows)


def score(ic_t: np.ndarray, ic_side: np.ndarray, ref: list[dict]) -> dict:
    """Summable counts for one trial over its reference bouts' spans."""
    ic_t = np.asarray(ic_t, float)
    ic_side = np.asarray(ic_side)
    out = {"tp_s": 0, "det_s": 0, "ref_s": 0, "tp_t": 0, "det_t": 0, "ref_t": 0, "tp01": 0,
           "det": 0, "ref": 0, "err": [], "side_ok": [], "cad": [], "fn": [], "fp": [],
           "det_t_x": 0, "cad_x": [], "why": []}
    for w in ref:
        sel = (ic_t >= w["start"] - PAD_S) & (ic_t <= w["end"] + PAD_S)
        t, s = ic_t[sel], ic_side[sel]
        r_t, r_s = w["ic"], w["side"]

        def in_turn(x, w=w):
            x = np.asarray(x, float)
            m = np.zeros(len(x), bool)
            for a, b in w["turns"]:
                m |= (x >= a) & (x <= b)
            return m

        r_turn = in_turn(r_t)
        d_turn = in_turn(t)
        m = match(t, r_t, 0.25)
        for i, j in m:
            d_turn[i] = r_turn[j]
        gaps = ref_gaps(r_t, r_s)
        mi = {i for i, _ in m}
        gap_fp = in_gap(t, gaps) & np.array([i not in mi for i in range(len(t))], bool)
        out["det_t_x"] += int((d_turn & ~gap_fp).sum())
        out["tp_t"] += sum(r_turn[j] for _, j in m)
        out["tp_s"] += sum(not r_turn[j] for _, j in m)
        out["det_t"] += int(d_turn.sum())
        out["det_s"] += int((~d_turn).sum())
        out["ref_t"] += int(r_turn.sum())
        out["ref_s"] += int((~r_turn).sum())
        out["tp01"] += len(match(t, r_t, 0.1))
        out["det"] += len(t)
        out["ref"] += len(r_t)
        out["err"] += [abs(t[i] - r_t[j]) for i, j in m]
        out["side_ok"] += [s[i] == r_s[j] for i, j in m if s[i] in ("L", "R")]
        c = cadence(t)
        out["cad"].append(abs(c - w["cadence"]) if np.isfinite(c) else np.nan)
        # IPOL's reference cadence is cadence() of its ICs: without the strides over its gaps
        c_ref_x = (w["cadence"] if "cadence_from_ic" not in w or not gaps
                   else cadence_without_gaps(r_t, gaps))
        out["cad_x"].append(abs(c - c_ref_x) if np.isfinite(c) and np.isfinite(c_ref_x)
                            else np.nan)
        out["why"].append(cadence_why(t, r_t, m, w, gaps, in_turn))
        mi, mj = {i for i, _ in m}, {j for _, j in m}
        out["fn"] += [float(r_t[j]) for j in range(len(r_t)) if j not in mj]
        out["fp"] += [float(t[i]) for i in range(len(t)) if i not in mi]
    return out


def summarise(parts: list[dict]) -> dict:
    def tot(k):
        return sum(p[k] for p in parts)

    def f1(tp, d, r):
        return 2 * tp / (d + r) if d + r else np.nan

    err = np.concatenate([p["err"] for p in parts]) if parts else np.zeros(0)
    side = np.concatenate([p["side_ok"] for p in parts]) if parts else np.zeros(0)
    side_x = (np.concatenate([p["side_ok"] for p in parts if not p.get("swapped")])
              if parts else np.zeros(0))
    cad = np.concatenate([p["cad"] for p in parts]) if parts else np.zeros(0)
    cad = np.where(np.isfinite(cad), cad, 60.0)      # a bout with no cadence: 60 spm off
    cad_x = np.concatenate([p["cad_x"] for p in parts]) if parts else np.zeros(0)
    cad_x = np.where(np.isfinite(cad_x), cad_x, 60.0)
    return {"f1t_x": f1(tot("tp_t"), tot("det_t_x"), tot("ref_t")),
            "cad_x": float(np.mean(cad_x)) if len(cad_x) else np.nan,
            "f1s": f1(tot("tp_s"), tot("det_s"), tot("ref_s")),
            "f1t": f1(tot("tp_t"), tot("det_t"), tot("ref_t")),
            "f1p": f1(tot("tp01"), tot("det"), tot("ref")),
            "f1": f1(tot("tp_s") + tot("tp_t"), tot("det"), tot("ref")),
            "err": 1000 * float(np.median(err)) if len(err) else np.nan,
            "side": float(np.mean(side)) if len(side) else np.nan,
            "side_x": float(np.mean(side_x)) if len(side_x) else np.nan,
            "cad": float(np.mean(cad)) if len(cad) else np.nan,
            "det": tot("det"), "ref": tot("ref")}


def objective(s: dict) -> float:
    """One number to choose a parameter on (higher is better): the mean of the F1s, side
    accuracy, 1 - timing error / 100 ms and 1 - cadence error / 10 spm."""
    return float(np.mean([s["f1s"], s["f1t"], s["f1p"], s["side"],
                          1 - s["err"] / 100.0, 1 - min(s["cad"], 10.0) / 10.0]))


def offsets_table(trials: list[dict], ours: dict[str, dict], peers: dict[str, dict] | None,
                  subjects: list[str]) -> str:
    """Per person, the median signed timing error (detection − reference, ms) of the ICs
    matched within 0.25 s, for ours and for each mobgap IC detector (the laterality does not
    move the ICs), and of our FCs matched one-to-one to the reference's FCs within 0.25 s;
    and the reference's own median IC → next FC interval (its double support, ms and % of
    its median stride). A synchronisation offset between the trunk sensor and the reference
    would move the IC and the FC errors alike; a landmark that differs (ours or the
    reference's) moves one of them."""
    icds = [] if peers is None else [icd for icd, _ in PEERS[::2]]
    rows = ["| person | ours IC | " + " | ".join(f"{k} IC" for k in icds)
            + " | ours FC | reference IC → FC (ms) | reference IC → FC / stride (%) |",
            "| --- " * (5 + len(icds)) + "|"]
    for s in subjects:
        ic_err: dict[str, list[float]] = {k: [] for k in ["ours", *icds]}
        fc_err, ds, stride = [], [], []
        for tr in (x for x in trials if x["subject"] == s):
            res = ours[tr["name"]]
            dets = {"ours": res["ours"][0]}
            for k in icds:
                dets[k] = peers[tr["name"]][f"{k}+{PEERS[1][1]}"][0]
            for w in tr["ref"]:
                r_ic = np.asarray(w["ic"], float)
                r_fc = np.sort(np.asarray(w["fc"], float))
                for k, t in dets.items():
                    t = t[(t >= w["start"] - PAD_S) & (t <= w["end"] + PAD_S)]
                    ic_err[k] += [t[i] - r_ic[j] for i, j in match(t, r_ic, 0.25)]
                f = res["fc"][(res["fc"] >= w["start"] - PAD_S) & (res["fc"] <= w["end"] + PAD_S)]
                fc_err += [f[i] - r_fc[j] for i, j in match(f, r_fc, 0.25)]
                for x in r_ic:
                    after = r_fc[r_fc > x]
                    if len(after) and after[0] - x < 0.4:
                        ds.append(after[0] - x)
                st = np.diff(np.sort(r_ic))
                stride += list(2 * st[st < 1.0])

        def med(v):
            return f"{1000 * np.median(v):+.0f}" if len(v) else "–"
        rows.append(f"| {s} | " + " | ".join(med(ic_err[k]) for k in ["ours", *icds])
                    + f" | {med(fc_err)} | {1000 * np.median(ds):.0f} | "
                    f"{100 * np.median(ds) / np.median(stride):.1f} |")
    return "\n".join(rows)


def swap_evidence(trials: list[dict], rows: dict[str, dict[str, list[dict]]],
                  swapped_at: set[tuple[str, int]]) -> str:
    """For each person with trials whose reference sides look swapped, per trial: every
    method's side accuracy and the mounting found from the data (up: the first second's
    mean acceleration; forward: ``body_frame_ipol``), in sensor coordinates. The methods'
    side rules are unrelated (ours: the pelvis' medio-lateral velocity; McCamley: the sign
    of the band-passed yaw rate; Ullrich: a trained classifier); each reads left and right
    from the body frame, so only the walking direction found backwards or the reference's
    labels could flip all of them at once."""
    people = sorted({s for s, _ in swapped_at})
    methods = list(rows)
    out = []
    for s in people:
        out.append(f"\n{s}:\n")
        out.append("| trial | up (sensor x, y, z) | forward (sensor x, y, z) | "
                   + " | ".join(methods) + " |")
        out.append("| --- " * (3 + len(methods)) + "|")
        for k, tr in enumerate(x for x in trials if x["subject"] == s):
            rot = body_frame_ipol(tr) if s != "HA001" else None
            ax = (["–", "–"] if rot is None else
                  ["(" + ", ".join(f"{v:+.2f}" for v in rot[i]) + ")" for i in (0, 2)])
            acc = [np.mean(rows[m][s][k]["side_ok"]) if rows[m][s][k]["side_ok"] else np.nan
                   for m in methods]
            out.append(f"| {tr['name']}{' (swapped?)' if (s, k) in swapped_at else ''} | "
                       + " | ".join(ax) + " | " + " | ".join(f"{a:.2f}" for a in acc) + " |")
    return "\n".join(out)


# ------------------------------------------------------------------------------ report


def turns_line(trials: list[dict], ours: dict[str, dict]) -> str:
    """The reference's turns (IPOL: the U-turn of each trial; HA/001: the turns inside its
    bouts) that a turn of ours (``GaitEventDetector.turns``, what ``analyze`` reports)
    overlaps, with the angles of those of IPOL (a U-turn is about 180°)."""
    found, n, angles = 0, 0, []
    for tr in trials:
        got = ours[tr["name"]]["det"].turns
        for w in tr["ref"]:
            for a, b in w["turns"]:
                n += 1
                hit = [x for x in got if x.t_start_s < b and x.t_end_s > a]
                found += bool(hit)
                if hit and tr["subject"] != "HA001":
                    angles.append(max(abs(x.angle_deg) for x in hit))
    q = np.percentile(angles, [0, 50, 100]) if angles else [np.nan] * 3
    return (f"reference turns overlapped by a turn of ours: {found} of {n}; IPOL U-turn angle "
            f"min / median / max {q[0]:.0f} / {q[1]:.0f} / {q[2]:.0f}°")


def table(rows: dict[str, dict[str, dict]], subjects: list[str]) -> str:
    """One table per figure: methods × (people, pooled, min / median / max across people)."""
    out = []
    for title, key, fmt, target, kind in FIGURES:
        out.append(f"\n#### {title} (target {'≥' if kind == 'min' else '≤'} {target:g})\n")
        out.append("| method | " + " | ".join(subjects) + " | pooled | min / median / max |")
        out.append("| --- " * (len(subjects) + 3) + "|")
        for method, per in rows.items():
            vals = [summarise(per[s])[key] for s in subjects]
            pooled = summarise([p for s in subjects for p in per[s]])[key]
            v = np.array(vals, float)
            spread = " / ".join(fmt.format(x) for x in (np.nanmin(v), np.nanmedian(v),
                                                         np.nanmax(v)))
            out.append(f"| {method} | " + " | ".join(fmt.format(x) for x in vals)
                       + f" | {fmt.format(pooled)} | {spread} |")
    return "\n".join(out)


def targets_line(per: dict[str, list[dict]], subjects: list[str],
                 peers: dict[str, dict[str, list[dict]]]) -> str:
    """Which targets ours meets pooled and for every person, and where a peer is better."""
    lines = []
    pooled = summarise([p for s in subjects for p in per[s]])
    for title, key, fmt, target, kind in FIGURES:
        vals = [summarise(per[s])[key] for s in subjects] + [pooled[key]]

        def ok(v, target=target, kind=kind):
            return v >= target if kind == "min" else v <= target

        bad = [s for s, v in zip([*subjects, "pooled"], vals, strict=True) if not ok(v)]
        def beats(pv, v, kind=kind):
            return pv > v if kind == "min" else pv < v

        better = []
        for name, pp in peers.items():
            pv = summarise([p for s in subjects for p in pp[s]])[key]
            if beats(pv, pooled[key]):
                better.append(f"{name} {fmt.format(pv)}")
        people = [s for s in subjects if any(
            beats(summarise(pp[s])[key], summarise(per[s])[key]) for pp in peers.values())]
        lines.append(f"- {title}: pooled {fmt.format(pooled[key])}; target "
                     f"{'met' if not bad else 'NOT met for ' + ', '.join(bad)}; "
                     f"peers better pooled: {', '.join(better) if better else 'none'}; "
                     f"people for whom a peer is better: "
                     f"{', '.join(people) if people else 'none'}")
    return "\n".join(lines)


def paired_bootstrap(per: dict[str, list[dict]], peers: dict[str, dict[str, list[dict]]],
                     subjects: list[str], n_boot: int = 1000, seed: int = 0) -> str:
    """Is ours better or worse than the best peer by more than the trials' chance?

    For each figure, the peer with the best pooled value, and the pooled difference ours −
    that peer (signed so that > 0 is ours better) with its 90 % interval from resampling
    the trials (all people's, with replacement, the same trials for both: a paired
    bootstrap; a trial's bouts stay together). An interval that holds 0 says the trials
    cannot tell the two apart."""
    names = list(peers)
    trials = [(s, k) for s in subjects for k in range(len(per[s]))]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(trials), size=(n_boot, len(trials)))

    def pooled(rows, pick):
        return summarise([rows[trials[i][0]][trials[i][1]] for i in pick])

    ours_b = [pooled(per, ix) for ix in idx]
    full_ours = pooled(per, range(len(trials)))
    full = {m: pooled(peers[m], range(len(trials))) for m in names}
    boot: dict[str, list[dict]] = {}                 # a peer's resamples, once it is best
    lines = ["| figure | best peer | ours | peer | ours better by | 90 % interval |",
             "| --- | --- | --- | --- | --- | --- |"]
    for title, key, fmt, _target, kind in FIGURES:
        sign = 1.0 if kind == "min" else -1.0
        best = max(names, key=lambda m, key=key, sign=sign: sign * full[m][key])
        full_peer = full[best][key]
        if best not in boot:
            boot[best] = [pooled(peers[best], ix) for ix in idx]
        d = np.array([sign * (o[key] - b[key])
                      for o, b in zip(ours_b, boot[best], strict=True)])
        lo, hi = np.nanpercentile(d, [5, 95])
        diff = sign * (full_ours[key] - full_peer)
        lines.append(f"| {title} | {best} | {fmt.format(full_ours[key])} | "
                     f"{fmt.format(full_peer)} | {fmt.format(diff)} | "
                     f"{fmt.format(lo)} to {fmt.format(hi)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--no-cache", action="store_true", help="recompute the mobgap results")
    ap.add_argument("--no-peers", action="store_true", help="ours only")
    ap.add_argument("--sweep", action="append", default=[],
                    help="PARAM=V1,V2,...: choose a detector parameter leave-one-subject-"
                         "out (PARAM_A+PARAM_B=A1:B1,A2:B2,...: two together)")
    ap.add_argument("--trials", action="store_true", help="per-trial lines (misses, extras)")
    ap.add_argument("--slow", type=lambda s: [float(x) for x in s.split(",")], default=[],
                    metavar="K1,K2,...", help="also every trial replayed K times slower "
                                              "(slowed): ours and mobgap's IC detectors")
    ap.add_argument("--sweep-slow", type=lambda s: [float(x) for x in s.split(",")],
                    default=[], metavar="K1,K2,...",
                    help="--sweep chooses on the trials and on their replays K times slower "
                         "together, and prints the held-out figures at each K")
    ap.add_argument("--why", action="store_true",
                    help="where the cadence error comes from, per person (cadence_why)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    t0 = time.perf_counter()
    trials = load_all(args.data)
    subjects = list(dict.fromkeys(tr["subject"] for tr in trials))
    for tr in trials:
        prepare_ours(tr)
    print(f"{len(trials)} trials of {len(subjects)} people loaded; lost samples "
          f"{100 * np.mean([tr['lost'] for tr in trials]):.1f} % on average "
          f"(max {100 * max(tr['lost'] for tr in trials):.1f} %) "
          f"[{time.perf_counter() - t0:.1f} s]")

    rows: dict[str, dict[str, list[dict]]] = {"ours": {}, "ours offline": {}}
    ours_res: dict[str, dict] = {}
    t1 = time.perf_counter()
    for tr in trials:
        res = ours_res[tr["name"]] = run_ours(tr)
        for k in ("ours", "ours offline"):
            rows[k].setdefault(tr["subject"], []).append(score(*res[k], tr["ref"]))
        if args.trials:
            sc = score(*res["ours"], tr["ref"])
            b = res["det"].bouts
            print(f"{tr['name']}: lost {100 * tr['lost']:.0f} %, ref {sc['ref']} det "
                  f"{sc['det']}, bouts {len(b)}; missed "
                  + " ".join(f"{x:.2f}" for x in sc["fn"])
                  + "; extra " + " ".join(f"{x:.2f}" for x in sc["fp"]))
    t_ours = time.perf_counter() - t1

    peer_rows: dict[str, dict[str, list[dict]]] = {}
    peers = None
    if not args.no_peers:
        t2 = time.perf_counter()
        peers = peers_cached(trials, not args.no_cache)
        for tr in trials:
            for k, (t, s) in peers[tr["name"]].items():
                peer_rows.setdefault(f"mobgap {k.replace('+', ' + ')}", {}).setdefault(
                    tr["subject"], []).append(score(t, s, tr["ref"]))
        ang = [np.degrees(np.arccos(-body_frame_ipol(tr)[2, 2])) for tr in trials
               if tr["subject"] != "HA001"]
        print(f"mobgap peers: {time.perf_counter() - t2:.1f} s (cached in {CACHE}); IPOL "
              f"peers' forward axis vs the sensor's -z: median {np.median(ang):.0f}°, "
              f"max {np.max(ang):.0f}°")
    rows.update(peer_rows)
    # a trial where every method gets fewer than half the sides right: the reference's
    # left and right are swapped there (the foot sensors' labels)
    n_tr = {s: len(rows["ours"][s]) for s in subjects}
    swapped, swapped_at = [], set()
    for s in subjects:
        for k in range(n_tr[s]):
            acc = [np.mean(per[s][k]["side_ok"]) if per[s][k]["side_ok"] else 1.0
                   for per in rows.values()]
            if max(acc) < 0.5:
                swapped.append(f"{s} trial {k + 1} (best {max(acc):.2f})")
                swapped_at.add((s, k))
                for per in rows.values():
                    per[s][k]["swapped"] = True
    print("reference sides swapped (every method < 0.5): "
          + (", ".join(swapped) if swapped else "none"))

    print(f"\n### All seven people (ours with default parameters; {t_ours:.1f} s for "
          f"{sum(len(tr['t']) for tr in trials) / FS / 60:.1f} min of data)")
    print(table(rows, subjects))
    print("\n" + turns_line(trials, ours_res))
    print("\nours against the targets and the peers (the targets are the figures as they are; "
          "those that set the reference's gaps aside are for comparison):")
    print(targets_line(rows["ours"], subjects, peer_rows))
    if peer_rows:
        print("\n### Ours against the best peer, pooled, with a 90 % interval from a paired "
              "bootstrap over the trials (paired_bootstrap; > 0: ours better)\n")
        print(paired_bootstrap(rows["ours"], peer_rows, subjects))
    if args.why:
        for method in ("ours", *(k for k in rows if "Shin" in k and "Ullrich" in k)):
            print(f"\n### Where the cadence error comes from: {method}\n")
            print(why_table(rows[method], subjects))
        print("\n### Timing offsets per person: median signed error (ms, detection − "
              "reference; ICs and our FCs matched within 0.25 s) and the reference's "
              "own IC → FC interval\n")
        print(offsets_table(trials, ours_res, peers, subjects))
        if swapped_at:
            print("\n### The trials whose reference sides look swapped: side accuracy of "
                  "every method per trial of that person, and the mounting found from the "
                  "data")
            print(swap_evidence(trials, rows, swapped_at))

    if args.slow:
        print("\n### Every trial replayed k times slower (slowed: the same motion, "
              "acceleration / k², rate / k)\n")
        print(slowed_table(trials, args.slow, not args.no_peers, not args.no_cache))

    slow_sets: dict[float, list[dict]] = {}

    def rows_slow(k: float) -> dict[str, list[dict]]:
        """Ours with the default parameters on the trials replayed k times slower."""
        per: dict[str, list[dict]] = {}
        for tr in slow_sets[k]:
            per.setdefault(tr["subject"], []).append(score(*run_ours(tr)["ours"], tr["ref"]))
        return per

    for spec in args.sweep:
        # PARAM=V1,V2 or, to choose two together, PARAM_A+PARAM_B=A1:B1,A2:B2
        name, vals = spec.split("=")
        names = name.split("+")
        values = [tuple(float(x) for x in v.split(":")) if len(names) > 1 else float(v)
                  for v in vals.split(",")]

        def kwargs(v, names=names):
            return dict(zip(names, v if len(names) > 1 else (v,), strict=True))
        # the trials at their own speed and, with --sweep-slow, replayed slower: a value is
        # chosen on all of them (the objectives summed), the same people held out
        sets = {1.0: trials, **{k: slow_sets.setdefault(k, [slowed(tr, k) for tr in trials])
                                for k in args.sweep_slow if k != 1}}
        per_value: dict = {v: {k: {} for k in sets} for v in values}
        per_value_off: dict = {v: {k: {} for k in sets} for v in values}
        for v in values:
            for k, these in sets.items():
                for tr in these:
                    res = run_ours(tr, **kwargs(v))
                    per_value[v][k].setdefault(tr["subject"], []).append(
                        score(*res["ours"], tr["ref"]))
                    per_value_off[v][k].setdefault(tr["subject"], []).append(
                        score(*res["ours offline"], tr["ref"]))
                for per in (per_value[v][k], per_value_off[v][k]):
                    for s, j in swapped_at:
                        per[s][j]["swapped"] = True

        def both(v, people, per_value=per_value, per_value_off=per_value_off, sets=sets):
            return sum(objective(summarise([p for x in people for p in per_value[v][k][x]]))
                       + objective(summarise([p for x in people
                                              for p in per_value_off[v][k][x]]))
                       for k in sets)

        held: dict[float, dict[str, list[dict]]] = {k: {} for k in sets}
        held_off: dict[float, dict[str, list[dict]]] = {k: {} for k in sets}
        chosen = []
        for s in subjects:
            train = [x for x in subjects if x != s]
            best = max(values, key=lambda v, train=train: both(v, train))
            chosen.append(f"{s}: {best}")
            for k in sets:
                held[k][s] = per_value[best][k][s]
                held_off[k][s] = per_value_off[best][k][s]
        on = "" if len(sets) == 1 else " (on the trials and their replays " + ", ".join(
            f"{k:g} ×" for k in sets if k != 1) + " slower together)"
        print(f"\n### Leave-one-subject-out choice of {name} among {values}{on}\n")
        print("chosen per held-out person: " + "; ".join(chosen))
        for v in values:
            sm = summarise([p for x in subjects for p in per_value[v][1.0][x]])
            so = summarise([p for x in subjects for p in per_value_off[v][1.0][x]])
            print(f"- {name}={v}: pooled objective live + offline {both(v, subjects):.4f}; "
                  f"live F1@0.25 {sm['f1']:.3f}, F1@0.1 {sm['f1p']:.3f}, cadence "
                  f"{sm['cad']:.2f}; offline F1@0.25 {so['f1']:.3f}, F1@0.1 {so['f1p']:.3f}, "
                  f"cadence {so['cad']:.2f}")
        print(table({f"ours, {name} chosen on the other six": held[1.0],
                     f"ours offline, {name} chosen on the other six": held_off[1.0]},
                    subjects))
        for k in sets:
            if k == 1:
                continue
            for label, per in (("held out", held[k]), ("defaults", rows_slow(k))):
                sm = summarise([p for x in subjects for p in per[x]])
                print(f"- replayed {k:g} × slower, {label}: F1@0.25 {sm['f1']:.3f} (lowest "
                      f"person {min(summarise(per[x])['f1'] for x in subjects):.3f}), F1@0.1 "
                      f"{sm['f1p']:.3f}, cadence {sm['cad']:.2f} spm")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
