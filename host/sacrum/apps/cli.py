"""The ``sacrum`` command line.

Exit codes and what goes to stderr (the README's "The command line" says the same):

* 0: done; 2: a usage error (argparse) or ``sacrum batch`` with failed files;
  130: interrupted (Ctrl-C).
* 1: the input or the environment is not usable: a library error (``ValueError`` and
  its kin: ``CaptureError``, ``UnitsError``, ``MountingError``, ``SessionError``, ...;
  ``RuntimeError`` such as ``SimulationError``; ``OSError``: a missing or unwritable
  file) or a missing optional package (``ImportError``). One line on stderr,
  ``sacrum COMMAND: error: ...``, that says what to do.
* 3: a bug in sacrum (any other exception). One line on stderr, ``sacrum COMMAND:
  internal error: TYPE: message (at file:line)``, and the full traceback is logged
  (shown with ``-v``): never a traceback by default, never silence.

Warnings of the libraries underneath (numpy's "mean of empty slice" and the like) go to
the log, not to stderr, so an error stays one line; ``-v`` shows them. An exception logged
with its traceback (a live session that goes on after a failed step) is logged as one
line unless ``-v``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import sacrum_protocol as sp
from sacrum import __version__
from sacrum.apps import analyze as analyze_cmd
from sacrum.apps import flash, record
from sacrum.apps.exercise import cli as exercise_cli
from sacrum.apps.live import cli as live_cli
from sacrum.apps.report import cli as report_cli
from sacrum.io.capture import CaptureError, CaptureWriter, default_header
from sacrum.io.decode import SampleTable, decode_capture
from sacrum.io.private_files import open_private
from sacrum.io.stream import StreamDecoder
from sacrum.io.transports.replay import ReplayTransport
from sacrum.resources import demo_capture

log = logging.getLogger("sacrum")

DEMO_CAPTURE = demo_capture()  # bundled with the package (sacrum.resources)
CSV_COLUMNS = ("t", "qw", "qx", "qy", "qz", "ax", "ay", "az", "gx", "gy", "gz", "flags", "lost")


def _flag_text(flags: np.ndarray) -> str:
    parts = []
    for bit, name in sp.FLAG_NAMES:
        k = int(np.count_nonzero(flags & bit))
        if k:
            parts.append(f"{name} {k:,}")
    return ", ".join(parts) or "none"


def summary_lines(path: Path, table: SampleTable) -> list[str]:
    """What `sacrum info` prints: device, duration, rate, loss, tasks."""
    dev = table.device
    hdr = table.header
    name = dev.get("name", "?")
    lines = [
        f"capture:   {path}",
        f"device:    {name} (firmware: {dev.get('firmware', '?')}; IMU: {dev.get('imu', '?')})",
        f"transport: {hdr.get('transport', '?')}"
        + (f", ATT MTU {hdr['mtu']}" if hdr.get("mtu") else ""),
        f"recorded:  {hdr.get('created_utc') or hdr.get('recording_time') or 'unknown'}",
        f"duration:  {table.duration_s:.2f} s, {len(table):,} samples at {table.rate_hz:.1f} Hz",
        f"clock:     device→host drift {table.clock.drift * 1e6:+.1f} ppm, "
        f"median delivery delay {table.clock.latency_s * 1e3:.1f} ms",
    ]
    lines += ["loss:      " + x for x in table.loss.lines()]
    for t0, dur, k in table.loss.gap_list[:5]:
        lines.append(f"  gap at {t0:8.3f} s: {k:,} samples ({dur:.3f} s)")
    lines.append(f"flags:     {_flag_text(table.flags)}")
    tasks = table.tasks()
    if tasks:
        for task, a, b in tasks:
            end = f"{b:8.2f} s" if b is not None else "  (open)"
            lines.append(f"task:      {task:<24} {a:8.2f} s → {end}")
    else:
        lines.append("tasks:     none marked")
    marks = [(t, a) for t, a in table.annotations if a.get("type") == "mark"]
    for t, a in marks:
        lines.append(f"mark:      {t:8.2f} s  {a.get('note', '')}")
    if table.header.get("source"):
        lines.append(f"source:    {table.header['source']}")
    return lines


def cmd_info(args: argparse.Namespace) -> int:
    table = decode_capture(args.capture)
    if args.json:
        loss = {k: v for k, v in vars(table.loss).items() if k != "gap_list"}
        print(json.dumps({
            "device": table.device, "header": table.header, "samples": len(table),
            "duration_s": table.duration_s, "rate_hz": table.rate_hz, "loss": loss,
            "tasks": table.tasks(),
        }, indent=2, default=str))
    else:
        print("\n".join(summary_lines(Path(args.capture), table)))
    return 0


def write_csv(table: SampleTable, out: Path | str, chunk_rows: int = 100_000) -> int:
    """Per-sample CSV in SI units; lost samples are rows of NaN with lost=1 (0600). The
    gyr columns are the sensor's rate (``SampleTable.gyr_sensor_radps``: a 1.2 device's
    bias added back), as an IMU CSV has it, so the CSV analyses as its capture does."""
    gyr = table.gyr_sensor_radps
    with open_private(out, "w", newline="") as f:
        f.write(",".join(CSV_COLUMNS) + "\n")
        for a in range(0, len(table), chunk_rows):
            b = min(a + chunk_rows, len(table))
            block = np.column_stack([
                table.t_s[a:b], table.q[a:b], table.acc_mps2[a:b], gyr[a:b],
            ])
            lost = np.isnan(table.q[a:b, 0]).astype(np.int8)
            np.savetxt(f, np.column_stack([block, table.flags[a:b], lost]),
                       fmt=["%.6f"] + ["%.9g"] * 10 + ["%d", "%d"], delimiter=",")
    return len(table)


def cmd_export(args: argparse.Namespace) -> int:
    table = decode_capture(args.capture)
    rows = write_csv(table, args.csv)
    print(f"wrote {rows:,} rows ({table.loss.samples_lost:,} lost samples as NaN) to {args.csv}")
    return 0


async def _replay(path: Path, speed: float | None, progress: bool) -> StreamDecoder:
    dec = StreamDecoder()
    last = 0.0
    t0 = time.monotonic()
    async with ReplayTransport(path, speed=speed) as transport:
        async for packet in transport:
            chunk = dec.update(packet)
            now = time.monotonic()
            if progress and chunk is not None and now - last > 0.5:
                last = now
                loss = dec.loss
                print(f"\r{now - t0:6.1f} s  samples {loss.samples_received:>9,}  "
                      f"lost {loss.samples_lost:>6,} ({100 * loss.loss_fraction:.2f} %)  "
                      f"gaps {loss.gaps:>4,}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return dec


def cmd_replay(args: argparse.Namespace) -> int:
    speed = None if args.fast else args.speed
    dec = asyncio.run(_replay(Path(args.capture), speed, progress=not args.quiet))
    print("\n".join(["replayed " + str(args.capture), *dec.loss.lines()]))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The live window on the bundled capture; without a display, the headless run."""
    path = Path(args.capture) if args.capture else DEMO_CAPTURE
    if not path.exists():
        raise CaptureError(
            f"demo capture {path} not found; run from a sacrum checkout or pass --capture FILE")
    gui, reason = live_cli.display_available(args.gui, args.headless)
    print(f"sacrum {__version__} demo: {path.name} through the replay transport")
    if gui:
        session = live_cli.make_session("replay", str(path), speed=args.speed or 1.0)
        return live_cli.run_window(session, title=f"sacrum demo — {path.name}")
    print(f"no display ({reason}): running headless; figures go to {args.out_dir}/")
    table = decode_capture(path)
    print("\n".join(summary_lines(path, table)))
    print()
    session = live_cli.make_session("replay", str(path), speed=None, history_s=3600.0,
                                    overlay_strides=400)
    code = live_cli.run_headless(session, args.out_dir)
    if args.csv:
        write_csv(table, args.csv)
        print(f"per-sample table written to {args.csv}")
    return code


def cmd_import_btsnoop(args: argparse.Namespace) -> int:
    from sacrum.io.btsnoop import read_btsnoop

    imp = read_btsnoop(args.log, data_handle=args.data_handle,
                       response_handle=args.response_handle, control_handle=args.control_handle)
    header = default_header(
        start_time_ns=imp.start_time_ns or (imp.records[0].host_time_ns if imp.records else None),
        transport="btsnoop-import",
        # the log's file name, not its folder (a path names the account: docs/security.md)
        source={"btsnoop": Path(args.log).name, "datalink": imp.datalink, "handles": imp.handles,
                "handle_source": imp.handle_source},
    )
    with CaptureWriter(args.out, header) as w:
        for r in imp.records:
            w.write_packet(r.channel, r.value, r.host_time_ns)
    skipped = ", ".join(f"{v} {k}" for k, v in imp.skipped.items() if v) or "nothing"
    print(f"imported {len(imp.records):,} ATT values from {imp.packets_read:,} HCI packets "
          f"(handles {imp.handles} from {imp.handle_source}); skipped {skipped}"
          + ("; the log was truncated" if imp.truncated else ""))
    print(f"wrote {args.out}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from sacrum.testing.simulate import simulate_csv

    res = simulate_csv(args.imu, args.out, args.rate, link=args.link, mtu=args.mtu,
                       congestion=args.congestion, faults=args.fault or (),
                       heap_locked=args.heap_locked, imu_chip=args.imu_chip,
                       radio=args.radio, secure=args.secure or args.intruder,
                       intruder=args.intruder, bridge=args.bridge)
    print(f"firmware in the loop: {res.samples_in:,} samples at {args.rate} Hz -> "
          f"{res.values_out:,} link values; {res.stdout}")
    print(f"wrote {args.out}")
    return 0


def cmd_pair(args: argparse.Namespace) -> int:
    """Pair and bond with a sensor in its pairing window (docs/security.md)."""
    from bleak.exc import BleakError

    from sacrum.io.transports.ble import BleTransport

    try:
        name = asyncio.run(BleTransport(args.name or None, scan_timeout_s=args.timeout).pair())
    except (BleakError, OSError) as e:
        raise RuntimeError(f"cannot pair: {e}; is a Bluetooth adapter present and on?") from e
    print(f"paired and bonded with {name}: `sacrum record --ble {args.name or name}` and "
          "`sacrum live --ble` now connect to it without pairing again")
    return 0


def cmd_orient(args: argparse.Namespace) -> int:
    from sacrum.io.imucsv import rate_of, read_imu_csv
    from sacrum.signal.orientation import OrientationFilter, orientation_offline

    t, acc, gyr = read_imu_csv(args.imu_csv, check=not args.no_unit_check)
    rate = rate_of(t)
    if args.offline:
        q = orientation_offline(acc, gyr, rate)
    else:
        q = OrientationFilter(rate).update(acc, gyr)
    with open_private(args.out, "w", newline="") as f:
        np.savetxt(f, np.column_stack([t, q]), delimiter=",", fmt=["%.6f"] + ["%.9f"] * 4,
                   header="t,qw,qx,qy,qz", comments="")
    mode = "offline" if args.offline else "real-time"
    print(f"{mode} orientation of {len(t):,} samples at {rate:.1f} Hz "
          f"(q_sensor_to_earth, earth z up) written to {args.out}")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    """The gait events of the input's analysis (``sacrum.analyze``): the ICs and FCs inside
    the walking bouts, the ones its steps are made of."""
    import csv

    from sacrum.analysis import analyze

    result = analyze(args.imu_csv, mount=args.mount, check_units=not args.no_unit_check)
    events = result.events.sort_values("t_s", kind="stable")
    with open_private(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t", "event", "side"])
        for t, kind, side in zip(events["t_s"], events["kind"], events["side"], strict=True):
            w.writerow([f"{t:.3f}", kind, side])
    ics = events[events["kind"] == "IC"]
    n_bouts = events["bout"].nunique()
    print(f"{len(ics):,} initial contacts ({int((ics['side'] == 'L').sum())} L, "
          f"{int((ics['side'] == 'R').sum())} R) in {n_bouts} walking bouts; "
          f"written to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sacrum",
        description="Measure pelvic control while walking and on stairs: captures, replay, "
                    "analysis, firmware tools. `sacrum demo` shows a bundled session.")
    p.add_argument("--version", action="version", version=f"sacrum {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("info", help="device, duration, rate, loss and tasks of a capture")
    s.add_argument("capture")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("export", help="per-sample table in SI units")
    s.add_argument("capture")
    s.add_argument("--csv", required=True, help="output CSV path")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("replay", help="replay a capture through the replay transport")
    s.add_argument("capture")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--speed", type=float, default=1.0, help="1 = real time (default)")
    g.add_argument("--fast", action="store_true", help="as fast as possible")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    s.set_defaults(func=cmd_replay)

    s = sub.add_parser("demo", help="the live view on the bundled sample capture (headless: "
                                    "figures and a summary)")
    s.add_argument("--capture", help=f"capture to use instead of {DEMO_CAPTURE.name}")
    s.add_argument("--speed", type=float, default=None,
                   help="replay speed in the window (default: real time)")
    s.add_argument("--csv", help="headless: also write the per-sample table here")
    live_cli.add_display_options(s, "sacrum-demo")
    s.set_defaults(func=cmd_demo)

    imu_help = "CSV with t (s), ax ay az (m/s²), gx gy gz (rad/s), sensor frame"
    s = sub.add_parser("orient", help="orientation (q_sensor_to_earth) of an IMU recording")
    s.add_argument("imu_csv", help=imu_help)
    s.add_argument("--out", required=True, help="CSV with t, qw, qx, qy, qz")
    s.add_argument("--offline", action="store_true",
                   help="use the whole recording (smoother, for reports)")
    s.add_argument("--no-unit-check", action="store_true", help="skip the g / °/s check")
    s.set_defaults(func=cmd_orient)

    s = sub.add_parser("events", help="initial and final contacts with sides, from a sacral IMU")
    s.add_argument("imu_csv", help=imu_help)
    s.add_argument("--out", required=True, help="CSV with t, event (IC|FC), side (L|R)")
    s.add_argument("--mount", help='sensor axes in body terms, e.g. "x=up,y=left,z=back"; '
                                   "default: found from the walking itself (as sacrum analyze)")
    s.add_argument("--no-unit-check", action="store_true", help="skip the g / °/s check")
    s.set_defaults(func=cmd_events)

    s = sub.add_parser("simulate",
                       help="run the firmware under MicroPython on an IMU recording -> capture")
    s.add_argument("--imu", required=True,
                   help="CSV with t (s), ax ay az (m/s²), gx gy gz (rad/s), sensor frame")
    s.add_argument("--out", required=True, help="capture to write")
    s.add_argument("--rate", type=int, default=100, choices=sp.RATES_HZ, help="device rate, Hz")
    s.add_argument("--link", choices=("ble", "serial"), default="ble")
    s.add_argument("--mtu", type=int, default=247, help="ATT MTU of the simulated link")
    s.add_argument("--congestion", type=int, default=0,
                   help="notifications the central takes per 7.5 ms interval (0: no limit)")
    s.add_argument("--fault", action="append", metavar="KIND@SECONDS",
                   help="inject a fault (repeatable): imu-reset, bus-stuck, irq-exception, "
                        "disconnect, brownout")
    s.add_argument("--heap-locked", action="store_true",
                   help="lock the MicroPython heap around every sample step (fail on allocation)")
    s.add_argument("--imu-chip", default="icm42688", choices=("icm42688", "mpu6050", "mpu6500"),
                   help="emulated IMU (default icm42688, the BOM's: lost samples are "
                        "placed from its FIFO timestamps)")
    s.add_argument("--radio", choices=("fake", "bumble"), default="fake",
                   help="fake: scripted central, virtual time; bumble: the firmware's "
                        "bluetooth calls on a real BLE stack, recorded by this host's BLE "
                        "transport in real time (docs/ble.md)")
    s.add_argument("--secure", action="store_true",
                   help="with --radio bumble: security on in the firmware; BOOT is held 3 s "
                        "and this host bonds before recording (docs/security.md)")
    s.add_argument("--intruder", action="store_true",
                   help="with --radio bumble (implies --secure): an unpaired central and a "
                        "never-bonded host try to subscribe, read and send every command; "
                        "prints what was refused")
    s.add_argument("--bridge", action="store_true",
                   help="bridge the CSV's lost samples (linear interpolation) instead of the "
                        "sensor not delivering them (default: sample_seq gaps, as a device)")
    s.set_defaults(func=cmd_simulate)

    s = sub.add_parser("pair", help="pair and bond with a sensor (hold its BOOT button 3 s "
                                    "first: the LED blinks fast while it accepts a bond)")
    s.add_argument("name", nargs="?", default="", help="sensor name or address (default: the "
                                                      "first sacrum sensor found)")
    s.add_argument("--timeout", type=float, default=10.0, help="seconds to scan for it")
    s.set_defaults(func=cmd_pair)

    s = sub.add_parser("import-btsnoop",
                       help="convert a btsnoop HCI log (Android, btmon -w) into a capture")
    s.add_argument("log")
    s.add_argument("--out", required=True)
    for which in ("data", "response", "control"):
        s.add_argument(f"--{which}-handle", type=lambda x: int(x, 0), default=None,
                       help=f"ATT handle of the {which} characteristic if the log has no "
                            "GATT discovery")
    s.set_defaults(func=cmd_import_btsnoop)

    flash.add_parser(sub)
    analyze_cmd.add_parser(sub)
    record.add_parser(sub)
    report_cli.add_parser(sub)
    live_cli.add_parser(sub)
    exercise_cli.add_parser(sub)
    return p


EXIT_ERROR = 1
EXIT_BUG = 3


def _one_line(e: BaseException) -> str:
    """An exception's message on one line (a message of several lines is joined)."""
    text = " ".join(x.strip() for x in str(e).splitlines() if x.strip())
    return text or type(e).__name__


def _where(e: BaseException) -> str:
    """file:line of the innermost frame of a traceback (the place of a bug)."""
    import traceback

    frames = traceback.extract_tb(e.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"


class _LogFormat(logging.Formatter):
    """``LEVEL logger: message``; an exception logged with its traceback (a live session
    that logs what went wrong, a batch worker) is one line unless ``-v``."""

    def __init__(self, verbose: bool) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and record.exc_info[1] is not None and not self.verbose:
            e = record.exc_info[1]
            record = logging.makeLogRecord({
                **record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None,
                "args": None, "msg": f"{record.getMessage()}: {type(e).__name__}: "
                                     f"{_one_line(e)} (-v shows the traceback)"})
        return super().format(record)


class _StderrHandler(logging.StreamHandler):
    """A StreamHandler on the ``sys.stderr`` of the moment: ``logging.basicConfig`` keeps
    the first call's handler, and ``main`` may run again (an embedding app, tests) after
    that stream was replaced and closed ("I/O operation on closed file")."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = _StderrHandler()
    handler.setFormatter(_LogFormat(args.verbose))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        handlers=[handler])
    logging.captureWarnings(True)
    name = f"sacrum {args.command}"
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader went away (`sacrum info X | head`): not an error; stop quietly, and
        # point stdout at /dev/null so the interpreter's final flush does not complain
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        what = f"{e.strerror}: {e.filename}" if e.strerror and e.filename else _one_line(e)
        print(f"{name}: error: {what}", file=sys.stderr)
        return EXIT_ERROR
    except (CaptureError, ValueError, RuntimeError) as e:
        print(f"{name}: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_ERROR
    except ImportError as e:
        print(f"{name}: error: {_one_line(e)} (an optional package is missing: "
              f"pip install {e.name or 'it'})", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: one line, the traceback in the log (-v), exit 3
        if args.verbose:
            log.error("%s: internal error", name, exc_info=True)
        print(f"{name}: internal error (a bug in sacrum; -v shows the traceback): "
              f"{type(e).__name__}: {_one_line(e)} (at {_where(e)})", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
