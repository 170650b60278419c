"""``sacrum record``, ``sacrum scan`` and ``sacrum emulate``: the link-facing commands.

record: any transport → a capture. Every Packet is written as it arrived (write_packet),
every LinkEvent as an EVENT record ("device" as a DEVICE record), each flushed as written,
so Ctrl-C, a killed process or a dropped link never loses what was already received. A
progress line shows duration, samples and where the missing ones went (lost on the air,
dropped at the device, corrupt) and reconnects, from the live decoder (SPEC 2.1 rules).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sacrum.apps.connect import open_transport
from sacrum.io.capture import CaptureWriter, default_header
from sacrum.io.decode import LossReport
from sacrum.io.stream import StreamDecoder
from sacrum.io.transports import LinkEvent, Transport, TransportError

log = logging.getLogger(__name__)
_PROGRESS_EVERY_S = 0.5
_HEADER_TRANSPORT = {"ble": "ble", "serial": "serial", "simulator": "simulator"}


@dataclass
class RecordResult:
    path: Path
    duration_s: float
    packets: int
    events: int
    loss: LossReport
    reconnects: int
    interrupted: bool


def progress_line(duration_s: float, loss: LossReport, reconnects: int) -> str:
    return (f"{duration_s:7.1f} s  samples {loss.samples_received:>9,}  "
            f"lost on air {loss.packets_lost_in_transit:>5,} pk  "
            f"dropped at device {loss.packets_dropped_by_device:>5,} pk  "
            f"corrupt {loss.corrupt_packets:>4,}  "
            f"missing samples {loss.samples_lost:>6,} ({100 * loss.loss_fraction:.2f} %)  "
            f"reconnects {reconnects}")


async def record(transport: Transport, out: str | Path, duration_s: float | None = None, *,
                 progress: bool = True, note: str = "") -> RecordResult:
    """Record ``transport`` into ``out`` for ``duration_s`` seconds of session time
    (host receive time from the first record; None = until the link ends or Ctrl-C)."""
    dec = StreamDecoder()
    interrupted = False
    packets = events = 0
    t_first: int | None = None
    t_last = 0
    last_print = 0.0
    writer: CaptureWriter | None = None
    try:
        await transport.connect()
        info = transport.info
        kind = _HEADER_TRANSPORT.get(info.kind)
        if kind is None and hasattr(transport, "reader"):  # replay: keep the source's kind
            kind = transport.reader.header.get("transport", "unknown")
        header = default_header(transport=kind or info.kind, device=dict(info.device),
                                note=note)
        if info.mtu:
            header["mtu"] = info.mtu
        writer = CaptureWriter(out, header)
        async for item in transport:
            if isinstance(item, LinkEvent):
                events += 1
                if item.type == "device":
                    writer.device_info(item.fields, item.host_time_ns)
                else:
                    writer.event(item.type, item.host_time_ns, **item.fields)
                continue
            writer.write_packet(item.channel, item.data, item.host_time_ns)
            packets += 1
            dec.update(item)
            t_first = item.host_time_ns if t_first is None else t_first
            t_last = item.host_time_ns
            now = time.monotonic()
            if progress and now - last_print > _PROGRESS_EVERY_S:
                last_print = now
                print("\r" + progress_line((t_last - t_first) * 1e-9, dec.loss,
                                           transport.info.reconnects),
                      end="", file=sys.stderr, flush=True)
            if duration_s is not None and (t_last - t_first) * 1e-9 >= duration_s:
                break
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted = True
    finally:
        try:
            await transport.close()
        finally:
            if writer is not None:
                writer.close()
    if progress:
        print(file=sys.stderr)
    dur = (t_last - t_first) * 1e-9 if t_first is not None else 0.0
    return RecordResult(Path(out), dur, packets, events, dec.loss, transport.info.reconnects,
                        interrupted)


def _transport_from_args(args: argparse.Namespace) -> Transport:
    speed = None if getattr(args, "fast", False) else (args.speed or None)  # None: no pacing
    if args.simulate:
        if speed is None and not args.duration:
            raise ValueError("the simulator never ends: with --fast (or --speed 0) give "
                             "--duration S")
        return open_transport("simulate", speed=speed, rate_hz=args.rate)
    if args.replay:
        return open_transport("replay", args.replay, speed=speed, restamp=True)
    if args.serial is not None:
        return open_transport("serial", args.serial or None, start_stream=True)
    return open_transport("ble", args.ble or None)


def cmd_record(args: argparse.Namespace) -> int:
    transport = _transport_from_args(args)
    try:
        res = asyncio.run(record(transport, args.out, args.duration, progress=not args.quiet,
                                 note=args.note or ""))
    except KeyboardInterrupt:  # the records written so far are flushed and stay readable
        print(f"sacrum record: interrupted; {args.out} holds everything received",
              file=sys.stderr)
        return 130
    print(f"recorded {res.duration_s:.1f} s, {res.packets:,} packets, {res.events} link "
          f"events, {res.reconnects} reconnects to {res.path}"
          + (" (interrupted)" if res.interrupted else ""))
    print("\n".join(res.loss.lines()))
    return 130 if res.interrupted else 0


# -- scan ------------------------------------------------------------------------------
def cmd_scan(args: argparse.Namespace) -> int:
    from bleak.exc import BleakError

    from sacrum.io.transports.ble import scan

    try:
        found = asyncio.run(scan(args.timeout))
    except (BleakError, OSError) as e:
        raise TransportError(f"cannot scan: {e}; is a Bluetooth adapter present and on? "
                             "(Linux: `bluetoothctl power on`)") from e
    if not found:
        print(f"no sacrum sensor found in {args.timeout:g} s")
        return 1
    print(f"{'name':<22} {'address':<20} {'RSSI':>8} {'battery':>8} firmware")
    for r in found:
        rssi = f"{r.rssi_dbm} dBm" if r.rssi_dbm is not None else "?"
        batt = f"{r.battery_percent} %" if r.battery_percent is not None else "?"
        print(f"{r.name or '?':<22} {r.address:<20} {rssi:>8} {batt:>8} {r.firmware or '?'}")
    return 0


# -- emulate ---------------------------------------------------------------------------
def _emulated_device(args: argparse.Namespace) -> Any:
    from sacrum.testing.simulator import CaptureSource, PhantomSource, SimulatedDevice

    if args.imu:  # the real firmware under MicroPython makes what the sensor streams
        import tempfile

        from sacrum.testing.simulate import simulate_csv

        made = Path(tempfile.mkdtemp(prefix="sacrum-emulate-")) / "firmware.sacrum"
        simulate_csv(args.imu, made, rate_hz=args.rate)
        print(f"firmware in the loop: {args.imu} -> {made}", file=sys.stderr)
        source = CaptureSource(made)
    else:
        source = CaptureSource(args.capture) if args.capture else PhantomSource(args.rate)
    return SimulatedDevice(source, name=args.name, streaming=False)


async def _emulate_hardware(args: argparse.Namespace) -> None:
    from bumble.device import Device
    from bumble.transport import open_transport as open_hci

    from sacrum.testing.virtual_sensor import SENSOR_ADDRESS, VirtualSensor

    try:
        hci = await open_hci(args.transport)
    except Exception as e:
        raise TransportError(
            f"no Bluetooth controller at {args.transport!r} ({e}). Plug in a USB BLE dongle "
            "(`--transport usb:0`; on Linux give your user access to it, or stop bluetoothd "
            "for it) or an HCI UART controller (`--transport serial:/dev/ttyUSB0,1000000`); "
            "see docs/ble.md") from e
    async with hci:
        device = Device.with_hci(args.name, SENSOR_ADDRESS, hci.source, hci.sink)
        sensor = VirtualSensor(device, _emulated_device(args), speed=1.0)
        await sensor.start()
        print(f"emulating sacrum sensor {args.name!r} on {args.transport}; Ctrl-C to stop")
        try:
            await asyncio.sleep(args.duration if args.duration else 1e9)
        finally:
            await sensor.stop()


async def _emulate_virtual(args: argparse.Namespace) -> RecordResult | None:
    """The sensor on Bumble's virtual radio, with this host's BleTransport connected to it
    and recording: a self-test of the whole BLE path without hardware."""
    from sacrum.io.transports.ble import BleTransport
    from sacrum.io.transports.bumble_backend import BumbleClient, BumbleScanner, VirtualRadio
    from sacrum.testing.virtual_sensor import SENSOR_ADDRESS, VirtualSensor

    radio = VirtualRadio()
    sensor = VirtualSensor(radio.device(args.name, SENSOR_ADDRESS), _emulated_device(args),
                           speed=args.speed or None)
    await sensor.start()
    try:
        tr = BleTransport(SENSOR_ADDRESS, backend=BumbleClient, scanner_backend=BumbleScanner,
                          bleak_kwargs={"radio": radio}, scan_timeout_s=3.0)
        out = args.out or "emulated.sacrum"
        return await record(tr, out, args.duration or 10.0, progress=True)
    finally:
        await sensor.stop()


def cmd_emulate(args: argparse.Namespace) -> int:
    if args.transport == "virtual":
        res = asyncio.run(_emulate_virtual(args))
        if res is not None:
            print(f"virtual link self-test: {res.duration_s:.1f} s recorded to {res.path}")
            print("\n".join(res.loss.lines()))
        return 0
    try:
        asyncio.run(_emulate_hardware(args))
    except KeyboardInterrupt:
        print("sacrum emulate: stopped", file=sys.stderr)
    return 0


def add_parser(sub: Any) -> None:
    """Register ``record``, ``scan`` and ``emulate`` on the CLI's subparsers."""
    s = sub.add_parser("record", help="record a sensor (BLE, serial), the simulator or a "
                                      "replay into a capture, with live loss accounting")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--ble", nargs="?", const="", metavar="NAME|ADDR",
                   help="a BLE sensor by name or address (default: the first found)")
    g.add_argument("--serial", nargs="?", const="", metavar="PORT",
                   help="a USB serial sensor (default: found by USB id)")
    g.add_argument("--simulate", action="store_true", help="the walking-phantom simulator")
    g.add_argument("--replay", metavar="CAPTURE", help="re-record a capture as a live link")
    s.add_argument("--out", required=True, help="capture file to write")
    s.add_argument("--duration", type=float, help="seconds to record (default: until Ctrl-C)")
    pace = s.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0,
                      help="simulate/replay speed: 1 = real time, 0 = as fast as possible")
    pace.add_argument("--fast", action="store_true",
                      help="simulate/replay as fast as possible (as sacrum replay --fast)")
    s.add_argument("--rate", type=int, default=200, choices=(50, 100, 200),
                   help="simulator sample rate, Hz")
    s.add_argument("--note", help="free text for the capture header")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    s.set_defaults(func=cmd_record)

    s = sub.add_parser("scan", help="list sacrum sensors advertising nearby (BLE)")
    s.add_argument("--timeout", type=float, default=5.0, help="seconds to scan")
    s.set_defaults(func=cmd_scan)

    s = sub.add_parser("emulate", help="act as a sacrum sensor on a Bluetooth controller "
                                       "(USB dongle) for hosts without hardware")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--capture", help="stream this capture's samples (looped)")
    g.add_argument("--simulate", action="store_true",
                   help="stream the walking phantom (default)")
    g.add_argument("--imu", metavar="CSV",
                   help="run the firmware under MicroPython on this IMU recording (t, ax..gz, "
                        "SI; as sacrum simulate) and stream what it sends (looped)")
    s.add_argument("--transport", default="usb:0",
                   help="Bumble HCI transport of the controller: usb:0, "
                        "serial:/dev/ttyUSB0,1000000, hci-socket:0, ... or 'virtual' "
                        "(Bumble's in-process link, with this host recording: a self-test)")
    s.add_argument("--name", default="sacrum-emu", help="advertised name")
    s.add_argument("--rate", type=int, default=200, choices=(50, 100, 200))
    s.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C)")
    s.add_argument("--speed", type=float, default=1.0, help="virtual only: device speed-up")
    s.add_argument("--out", help="virtual only: capture of the self-test")
    s.set_defaults(func=cmd_emulate)
