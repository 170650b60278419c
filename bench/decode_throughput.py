"""Decoding throughput: sacrum's vectorised decoder vs a per-packet struct.unpack loop.

Makes a one-hour, 200 Hz capture (ATT MTU 247, 11 samples a packet, 0.5 %
packets lost so the gap handling is exercised) and decodes it both ways in one
run, each in a fresh subprocess so peak memory is measured separately
(tracemalloc: numpy reports its buffers to it). A 15-minute capture is decoded
too, to show peak memory tracks the output arrays, not the capture length.

Target (issue 2): >= 20x the loop, a whole hour in < 1 s on the 2-core machine.
Run: make bench   (or .venv/bin/python bench/decode_throughput.py [--minutes 60])
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RATE = 200

BASELINE = r'''
import struct, zlib, numpy as np, sacrum_protocol as sp

def decode_loop(path):
    """Straightforward decoding: one struct.unpack per record and per packet."""
    with open(path, "rb") as f:
        buf = f.read()
    p = sp.CAPTURE_FILE_HEADER_SIZE
    t, q, acc, gyr, flags = [], [], [], [], []
    while p + 16 <= len(buf):
        sync, kind, ch, _, length, _, host_ns = struct.unpack_from(sp.RECORD_HEADER_FMT, buf, p)
        end = p + 16 + length
        (crc,) = struct.unpack_from("<I", buf, end)
        if zlib.crc32(buf[p + 1:end]) != crc:
            raise ValueError("corrupt")
        if kind == sp.KIND_PACKET and ch == sp.CH_BLE_DATA:
            n = buf[p + 16 + 15]
            v = struct.unpack_from("<BBHHIHHBB" + "10h" * n, buf, p + 16)
            t_us, period, fl = v[4], v[5], v[7]
            for i in range(n):
                s = v[9 + 10 * i: 19 + 10 * i]
                t.append((t_us + i * period) * 1e-6)
                q.append(s[0:4])
                acc.append(s[4:7])
                gyr.append(s[7:10])
                flags.append(fl)
        p = end + 4
    return (np.array(t), np.array(q, np.float32) / sp.Q_SCALE,
            np.array(acc, np.float32) / sp.ACC_SCALE, np.array(gyr, np.float32) / sp.GYR_SCALE,
            np.array(flags, np.uint8))
'''

RUNNER = r'''
import json, sys, time, tracemalloc
import numpy, sacrum_protocol
from sacrum.io.decode import decode_capture
path, which = sys.argv[1], sys.argv[2]
tracemalloc.start()  # after the imports: measure decoding, not module loading
t0 = time.perf_counter()
if which == "sacrum":
    tab = decode_capture(path)
    n = len(tab)
    out = sum(a.nbytes for a in (tab.t_s, tab.q, tab.acc_mps2, tab.gyr_radps, tab.flags))
else:
    exec(compile(open(sys.argv[3]).read(), "baseline", "exec"))
    arrays = decode_loop(path)
    n = len(arrays[0])
    out = sum(a.nbytes for a in arrays)
dt = time.perf_counter() - t0
_, peak = tracemalloc.get_traced_memory()
print(json.dumps({"seconds": dt, "samples": n, "peak_bytes": peak, "output_bytes": out}))
'''


def make(path: Path, minutes: float) -> None:
    from sacrum.testing.generator import LinkModel, make_capture, synthetic_walk

    q, acc, gyr = synthetic_walk(minutes * 60, RATE)
    make_capture(path, q, acc, gyr, RATE, link=LinkModel(p_transit_loss=0.005), seed=1)


def run(path: Path, which: str, baseline_file: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", RUNNER, str(path), which, str(baseline_file)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = tmp / "baseline.py"
        base.write_text(BASELINE)
        print(f"making a {args.minutes:g}-minute {RATE} Hz capture ...", flush=True)
        t0 = time.perf_counter()
        cap = tmp / "hour.sacrum"
        make(cap, args.minutes)
        print(f"  {cap.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s")
        ours = min((run(cap, "sacrum", base) for _ in range(args.repeat)),
                   key=lambda r: r["seconds"])
        loop = min((run(cap, "loop", base) for _ in range(max(1, args.repeat - 1))),
                   key=lambda r: r["seconds"])
        quarter = tmp / "quarter.sacrum"
        make(quarter, args.minutes / 4)
        small = run(quarter, "sacrum", base)
    print(f"\n{'decoder':<28}{'seconds':>9}{'samples/s':>14}{'peak MB':>10}{'output MB':>11}"
          f"{'peak/output':>13}")
    for name, r in (("sacrum (vectorised)", ours), ("per-packet struct.unpack", loop),
                    (f"sacrum, {args.minutes / 4:g}-min capture", small)):
        print(f"{name:<28}{r['seconds']:>9.3f}{r['samples'] / r['seconds']:>14,.0f}"
              f"{r['peak_bytes'] / 1e6:>10.1f}{r['output_bytes'] / 1e6:>11.1f}"
              f"{r['peak_bytes'] / r['output_bytes']:>13.2f}")
    ratio = loop["seconds"] / ours["seconds"]
    print(f"\nspeed-up over the per-packet loop: {ratio:.1f}x (target >= 20x)")
    print(f"whole capture decoded in {ours['seconds']:.3f} s (target < 1 s for an hour)")


if __name__ == "__main__":
    main()
