"""Gait events of sacrum.signal.gait vs mobgap's algorithms on the Mobilise-D example data (HA/001).

    .venv/bin/python bench/gait_mobgap.py [--data ../shared/data/mobgap]

Trials: TimeMeasure1 Test5 Trial1/Trial2 (straight walk) and Test11 Trial1 (simulated
daily activities: bouts with turns, pauses and other tasks in between). Reference: INDIP
MicroWB (initial contacts, their sides, final contacts, bout start/end).

* mobgap (PyPI ``mobgap``): IcdShinImproved, IcdIonescu, IcdHKLeeImproved for ICs, each
  followed by LrcMcCamley and LrcUllrich (pretrained ``msproject_all`` model, mobgap's
  default) for the sides. As in mobgap's own evaluation, they run per *reference* walking
  bout (they are told where the bouts are), on the sensor data renamed to the body frame
  with ``mobgap.utils.conversions.to_body_frame`` (the sensor was worn x up, y right,
  z forward), acc in m/s², gyr in deg/s.
* ours: ``sacrum.signal.gait.GaitEventDetector`` on the whole recording (it finds the bouts
  itself), orientation from ``vqf.offlineVQF`` 6D (the project's own filter has the same
  output convention), fed in 1-s chunks as in real time, and once more one sample at a
  time for the latency (the events must be the same). "ours offline" keeps only the events
  inside the detector's bouts (``sacrum.signal.gait.events_in_bouts``, what ``detect_events`` and
  ``sacrum events`` return): a real-time run also returns the steps after a bout's last
  forward step, before it can know that walking has stopped.

Figures (per trial and pooled over the three): F1 of ICs matched to the reference within
0.1 s and 0.25 s (one-to-one, nearest first), scored over the reference bouts' time spans
(detections from Start - 0.25 s to End + 0.25 s) and, for ours, over the whole recording
(every detection outside the reference bouts is a false positive); median absolute timing
error of the ICs matched within 0.25 s; side accuracy of those matched ICs; cadence error
per reference bout (mean absolute, steps/min, against the reference bout's ``Cadence``),
with every system's cadence computed from its ICs in the bout's span the way the reference
computes its own: the mean over the bout's strides of 120 / stride time (INDIP's
``Cadence`` is 2 × ``StrideFrequency``, the mean of 60 / ``Stride_Duration``, to two
decimals in every bout here), a stride being an IC to the second IC after it (the next IC of
the same foot while the feet alternate; no system's sides are used). Also, as before, with
mobgap's ``CadFromIc`` (the Mobilise-D pipeline's method: per-second cadence from
Hampel-filtered step times, averaged), which differs from the reference's definition:
applied to the reference's own ICs it is off by 6.7 steps/min on average, by 20 and 23 in
the two bouts that end with a step after a 2-s standstill. Ours also: FC F1 at 0.25 s,
median FC timing error (mobgap has no FC detector) and latency (time from an IC to the end
of the one-sample chunk that first returns it).
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io as sio
from vqf import offlineVQF

from sacrum.signal.gait import GaitEventDetector, events_in_bouts

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mobgap"
TRIALS = [("Test5", "Trial1"), ("Test5", "Trial2"), ("Test11", "Trial1")]
G = 9.81
PAD_S = 0.25


def load_trial(root: Path, test: str, trial: str, standard: str = "INDIP") -> dict:
    d = sio.loadmat(root / "HA" / "001" / "data.mat", simplify_cells=True)["data"]
    x = d["TimeMeasure1"][test][trial]
    su = x["SU"]["LowerBack"]
    fs = float(su["Fs"]["Acc"])
    wbs = x["Standards"][standard]["MicroWB"]
    wbs = [wbs] if isinstance(wbs, dict) else list(wbs)
    ref = []
    for w in wbs:
        ic = np.atleast_1d(np.asarray(w["InitialContact_Event"], float))
        lr = np.array([str(s)[0] for s in np.atleast_1d(w["InitialContact_LeftRight"])])
        ok = np.isfinite(ic)      # the optical reference has gaps (NaN) where markers were lost
        ic, lr = ic[ok], (lr[ok] if len(lr) == len(ok) else lr)
        fc = np.atleast_1d(np.asarray(w["FinalContact_Event"], float))
        ref.append({"start": float(w["Start"]), "end": float(w["End"]), "ic": ic,
                    "side": lr, "fc": fc[np.isfinite(fc)],
                    "cadence": float(w["Cadence"])})
    return {"acc_g": np.asarray(su["Acc"], float), "gyr_dps": np.asarray(su["Gyr"], float),
            "fs": fs, "ref": ref}


def match(det: np.ndarray, ref: np.ndarray, tol: float) -> list[tuple[int, int]]:
    """One-to-one matches (i_det, i_ref) within tol, nearest pairs first."""
    cand = sorted((abs(d - r), i, j) for i, d in enumerate(det) for j, r in enumerate(ref)
                  if abs(d - r) <= tol)
    used_d, used_r, out = set(), set(), []
    for _, i, j in cand:
        if i not in used_d and j not in used_r:
            used_d.add(i)
            used_r.add(j)
            out.append((i, j))
    return out


def cadence(t: np.ndarray) -> float:
    """Bout cadence (steps/min) from ICs as the INDIP reference computes its own: the mean
    over strides (an IC to the second IC after it) of 120 / stride time."""
    t = np.sort(np.asarray(t, float))
    if len(t) < 3:
        return np.nan
    return float(np.mean(120.0 / (t[2:] - t[:-2])))


def cadence_cadfromic(t: np.ndarray, start_s: float, end_s: float, fs: float) -> float:
    """Bout cadence (steps/min) from ICs as Mobilise-D computes it: mobgap's CadFromIc
    (step times, Hampel-filtered, interpolated to 1-s values), averaged over the bout."""
    from mobgap.cadence import CadFromIc

    t = np.sort(np.asarray(t, float))
    if len(t) < 2:
        return np.nan
    i0 = round((start_s - PAD_S) * fs)
    n = round((end_s + PAD_S) * fs) - i0 + 1
    data = pd.DataFrame(np.zeros((n, 6)), columns=[
        "acc_is", "acc_ml", "acc_pa", "gyr_is", "gyr_ml", "gyr_pa"])
    ics = pd.DataFrame({"ic": np.clip(np.round(t * fs).astype(int) - i0, 0, n - 1)}
                       ).rename_axis("step_id")
    cad = CadFromIc().calculate(data, initial_contacts=ics, sampling_rate_hz=fs)
    return float(np.nanmean(cad.cadence_per_sec_["cadence_spm"].to_numpy()))


def in_spans(t: np.ndarray, ref: list[dict]) -> np.ndarray:
    m = np.zeros(len(t), bool)
    for w in ref:
        m |= (t >= w["start"] - PAD_S) & (t <= w["end"] + PAD_S)
    return m


def score(ic_t, ic_side, ref, fs: float = 100.0, *, whole: bool = False) -> dict:
    """Counts for one trial (summable): tp/det/ref at 0.1 and 0.25 s, errors, sides, cadence."""
    ic_t = np.asarray(ic_t, float)
    ic_side = np.asarray(ic_side)
    ref_t = np.concatenate([w["ic"] for w in ref])
    ref_s = np.concatenate([w["side"] for w in ref])
    keep = np.ones(len(ic_t), bool) if whole else in_spans(ic_t, ref)
    t, s = ic_t[keep], ic_side[keep]
    out = {"n_det": len(t), "n_ref": len(ref_t)}
    for tol in (0.1, 0.25):
        out[f"tp{tol}"] = len(match(t, ref_t, tol))
    m = match(t, ref_t, 0.25)
    out["err"] = [t[i] - ref_t[j] for i, j in m]
    out["side_ok"] = [s[i] == ref_s[j] for i, j in m if s[i] in ("L", "R")]
    cad_err, cad_err_cfi = [], []
    for w in ref:
        sel = (ic_t >= w["start"] - PAD_S) & (ic_t <= w["end"] + PAD_S)
        c = cadence(ic_t[sel])
        cad_err.append(abs(c - w["cadence"]) if np.isfinite(c) else np.nan)
        c = cadence_cadfromic(ic_t[sel], w["start"], w["end"], fs)
        cad_err_cfi.append(abs(c - w["cadence"]) if np.isfinite(c) else np.nan)
    out["cad_err"] = cad_err
    out["cad_err_cfi"] = cad_err_cfi
    return out


def summarise(parts: list[dict]) -> dict:
    tot = {k: sum(p[k] for p in parts) for k in ("n_det", "n_ref", "tp0.1", "tp0.25")}
    err = np.abs(np.concatenate([p["err"] for p in parts])) if parts else np.array([])
    side = np.concatenate([p["side_ok"] for p in parts]) if parts else np.array([])
    cad = np.concatenate([p["cad_err"] for p in parts])
    cad_cfi = np.concatenate([p["cad_err_cfi"] for p in parts])
    f1 = {tol: 2 * tot[f"tp{tol}"] / (tot["n_det"] + tot["n_ref"]) for tol in (0.1, 0.25)}
    return {"F1@0.1": f1[0.1], "F1@0.25": f1[0.25],
            "med_err_ms": 1000 * float(np.median(err)) if len(err) else np.nan,
            "side_acc": float(np.mean(side)) if len(side) else np.nan,
            "cad_err_spm": float(np.nanmean(cad)) if np.isfinite(cad).any() else np.nan,
            "cad_err_cfi_spm": (float(np.nanmean(cad_cfi)) if np.isfinite(cad_cfi).any()
                                else np.nan),
            "missed_bouts": int(np.isnan(cad).sum()),
            "n_det": tot["n_det"], "n_ref": tot["n_ref"]}


# ------------------------------------------------------------------------------ ours


def run_ours(tr: dict, chunk_s: float = 1.0) -> dict:
    """Events in chunks of chunk_s (timed), and again one sample at a time: the latency of
    each IC returned before flush(), as (t_ic, latency_s, bout, returned with another IC of
    its bout, i.e. at the bout's confirmation)."""
    fs = tr["fs"]
    acc = np.ascontiguousarray(tr["acc_g"] * G)
    gyr = np.ascontiguousarray(np.deg2rad(tr["gyr_dps"]))
    q = offlineVQF(gyr, acc, None, 1.0 / fs)["quat6D"]
    t = np.arange(len(acc)) / fs
    det = GaitEventDetector(fs)
    ev = []
    step = max(1, int(chunk_s * fs))
    t0 = time.perf_counter()
    for i in range(0, len(t), step):
        ev += det.update(t[i:i + step], acc[i:i + step], gyr[i:i + step], q[i:i + step])
    ev += det.flush()
    elapsed = time.perf_counter() - t0
    live = GaitEventDetector(fs)
    ev1, latency = [], []
    # IC time -> (first shown at, side shown, shown provisionally)
    shown: dict[float, tuple[float, str, bool]] = {}
    for i in range(len(t)):
        new = live.update(t[i:i + 1], acc[i:i + 1], gyr[i:i + 1], q[i:i + 1])
        ev1 += new
        for e in [*new, *live.provisional()]:
            if e.kind == "IC" and e.t_s not in shown:
                shown[e.t_s] = (t[i], e.side, e.bout < 0)
        ic_new = [e for e in new if e.kind == "IC"]
        for e in ic_new:
            together = sum(x.bout == e.bout for x in ic_new) > 1
            latency.append((e.t_s, t[i] - e.t_s, e.bout, together))
    tail = live.flush()
    for e in tail:  # returned at the end of the recording
        if e.kind == "IC" and e.t_s not in shown:
            shown[e.t_s] = (t[-1], e.side, False)
    if ev1 + tail != ev:
        raise RuntimeError("events differ between 1-s and one-sample chunks")
    ic = [e for e in ev if e.kind == "IC"]
    fc = [e for e in ev if e.kind == "FC"]
    off = [e for e in events_in_bouts(ev, det.bouts) if e.kind == "IC"]
    return {"ic_t": np.array([e.t_s for e in ic]), "ic_side": np.array([e.side for e in ic]),
            "fc_t": np.array([e.t_s for e in fc]), "det": det, "elapsed_s": elapsed,
            "duration_s": len(t) / fs, "latency": latency,
            "shown": shown,
            "offline_ic_t": np.array([e.t_s for e in off]),
            "offline_ic_side": np.array([e.side for e in off])}


def shown_summary(parts: list[tuple[dict, np.ndarray, np.ndarray]]) -> str:
    """Latency of each returned IC counted from when a live display first shows it
    (``provisional()`` or returned), the side first shown, and the provisional ICs never
    confirmed. parts: (shown, returned IC times, their sides) per trial."""
    lat, late, never, prov, prov_same = [], 0, 0, 0, 0
    for shown, ic_t, ic_side in parts:
        final = dict(zip(ic_t.tolist(), ic_side.tolist(), strict=True))
        times = sorted(final)
        for k, tic in enumerate(times):
            at, side, provisional = shown[tic]
            lat.append(at - tic)
            if k + 1 < len(times) and at > times[k + 1] + 1e-9:
                late += 1
            if provisional:
                prov += 1
                prov_same += side == final[tic]
        never += sum(tic not in final for tic in shown)
    lat = np.array(lat)
    return (f"{len(lat)} returned ICs, first shown (provisional or returned) with latency "
            f"median {np.median(lat):.2f} s, max {lat.max():.2f} s, after the next IC: {late}; "
            f"{prov} first shown provisionally, {prov_same} of them with their final side; "
            f"{never} shown provisionally and never confirmed")


def latency_summary(latency: list[tuple]) -> str:
    """Latency of the ICs (trial, t_ic, latency, bout, at confirmation) returned after their
    bout's confirmation, against the step to the next IC of the bout, and of those returned
    at the confirmation."""
    inner, late, at_conf = [], [], []
    for k, (trial, t_ic, lat, bout, together) in enumerate(latency):
        if together:
            at_conf.append(lat)
            continue
        nxt = [x[1] for x in latency[k + 1:] if x[0] == trial and x[3] == bout]
        inner.append(lat)
        if nxt and lat > nxt[0] - t_ic + 1e-9:
            late.append(f"{trial} {t_ic:.2f} s ({lat:.2f} s, step {nxt[0] - t_ic:.2f} s)")
    inner, at_conf = np.array(inner), np.array(at_conf)
    return (f"{len(inner)} ICs returned after their bout's confirmation: latency median "
            f"{np.median(inner):.2f} s, max {inner.max():.2f} s; later than the next IC: "
            f"{len(late)} ({'; '.join(late) if late else 'none'}). {len(at_conf)} ICs "
            f"returned at a bout's confirmation: latency median {np.median(at_conf):.2f} s, "
            f"max {at_conf.max():.2f} s.")


# ------------------------------------------------------------------------------ mobgap


def run_mobgap(tr: dict) -> dict:
    """{(icd, lrc): (ic_t, ic_side)} with every algorithm run per reference bout."""
    from mobgap.initial_contacts import IcdHKLeeImproved, IcdIonescu, IcdShinImproved
    from mobgap.laterality import LrcMcCamley, LrcUllrich
    from mobgap.utils.conversions import to_body_frame

    fs = tr["fs"]
    sensor = pd.DataFrame(np.hstack([tr["acc_g"] * G, tr["gyr_dps"]]),
                          columns=["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"])
    body = to_body_frame(sensor)
    icds = {"IcdShinImproved": IcdShinImproved, "IcdIonescu": IcdIonescu,
            "IcdHKLeeImproved": IcdHKLeeImproved}
    lrcs = {"LrcMcCamley": LrcMcCamley, "LrcUllrich": LrcUllrich}
    out = {}
    for icd_name, icd_cls in icds.items():
        for lrc_name, lrc_cls in lrcs.items():
            ts, ss = [], []
            for w in tr["ref"]:
                i0 = round(w["start"] * fs)
                i1 = round(w["end"] * fs) + 1
                seg = body.iloc[i0:i1].reset_index(drop=True)
                ics = icd_cls().detect(seg, sampling_rate_hz=fs).ic_list_
                if len(ics) == 0:
                    continue
                lr = lrc_cls().predict(seg, ics, sampling_rate_hz=fs).ic_lr_list_
                ts += list((lr["ic"].to_numpy() + i0) / fs)
                ss += [str(x)[0].upper() for x in lr["lr_label"]]
            out[(icd_name, lrc_name)] = (np.array(ts), np.array(ss))
    return out


# ------------------------------------------------------------------------------ report


def fmt_row(name: str, r: dict) -> str:
    return (f"| {name} | {r['F1@0.1']:.3f} | {r['F1@0.25']:.3f} | {r['med_err_ms']:.0f} | "
            f"{r['side_acc']:.3f} | {r['cad_err_spm']:.2f} | {r['cad_err_cfi_spm']:.2f} | "
            f"{r['n_det']} / {r['n_ref']} |")


HEADER = ("| method | F1 @0.1 s | F1 @0.25 s | median abs err (ms) | side acc | "
          "cadence err (spm) | cadence err, CadFromIc (spm) | det / ref ICs |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- |")


def evaluate(data: Path, standard: str, ours_by_trial: dict[str, dict], details: bool) -> None:
    """Score ours and mobgap against one reference system's walking bouts and events."""
    trials = {f"{a} {b}": load_trial(data, a, b, standard) for a, b in TRIALS}
    rows: dict[str, dict[str, dict]] = {}      # method -> trial -> score parts
    fc_parts = []
    timing = []
    latency = []
    for name, tr in trials.items():
        if name not in ours_by_trial:
            ours_by_trial[name] = run_ours(tr)
        ours = ours_by_trial[name]
        timing.append((name, ours["elapsed_s"], ours["duration_s"]))
        latency += [(name, *x) for x in ours["latency"]]
        rows.setdefault("ours, reference bout spans", {})[name] = score(
            ours["ic_t"], ours["ic_side"], tr["ref"])
        rows.setdefault("ours, whole recording", {})[name] = score(
            ours["ic_t"], ours["ic_side"], tr["ref"], whole=True)
        rows.setdefault("ours offline (bouts trimmed), whole recording", {})[name] = score(
            ours["offline_ic_t"], ours["offline_ic_side"], tr["ref"], whole=True)
        ref_fc = np.concatenate([w["fc"] for w in tr["ref"]])
        fc_in = ours["fc_t"][in_spans(ours["fc_t"], tr["ref"])]
        m = match(fc_in, ref_fc, 0.25)
        fc_parts.append((len(m), len(fc_in), len(ref_fc),
                         [abs(fc_in[i] - ref_fc[j]) for i, j in m]))
        det = ours["det"]
        if details:
            print(f"{name}: ours found {len(det.bouts)} bouts "
                  f"({', '.join(f'{b.t_start_s:.1f}-{b.t_end_s:.1f} s' for b in det.bouts)}), "
                  f"{len(det.turns)} turns, {len(det.pauses)} pauses; reference bouts: "
                  + ", ".join(f"{w['start']:.1f}-{w['end']:.1f} s" for w in tr["ref"]))
        for (icd, lrc), (t, s) in run_mobgap(tr).items():
            rows.setdefault(f"mobgap {icd} + {lrc}", {})[name] = score(t, s, tr["ref"])

    for trial in [*trials, "all three"]:
        print(f"\n### {trial}\n")
        print(HEADER)
        for method, per in rows.items():
            parts = list(per.values()) if trial == "all three" else [per[trial]]
            print(fmt_row(method, summarise(parts)))
    tp = sum(p[0] for p in fc_parts)
    nd = sum(p[1] for p in fc_parts)
    nr = sum(p[2] for p in fc_parts)
    fe = np.concatenate([p[3] for p in fc_parts])
    print(f"\nours, FC over the reference bout spans: F1 @0.25 s {2 * tp / (nd + nr):.3f} "
          f"({nd} det / {nr} ref), median abs err {1000 * np.median(fe):.0f} ms")
    if details:
        print(f"ours, latency (one-sample chunks, all three trials): "
              f"{latency_summary(latency)}")
        print("ours, live display (returned + provisional(), one-sample chunks): "
              + shown_summary([(o["shown"], o["ic_t"], o["ic_side"])
                               for o in ours_by_trial.values()]))
        for name, el, dur in timing:
            print(f"ours, {name}: {dur:.0f} s of data processed in {el * 1000:.0f} ms "
                  f"(1-s chunks)")




def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--standard", nargs="+", default=["INDIP", "Stereophoto"],
                    choices=["INDIP", "Stereophoto"],
                    help="reference systems to score against (default: both)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    ours_by_trial: dict[str, dict] = {}
    for k, standard in enumerate(args.standard):
        print(f"\n## Reference: {standard} MicroWB\n")
        evaluate(args.data, standard, ours_by_trial, details=k == 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
