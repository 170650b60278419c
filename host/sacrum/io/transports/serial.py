"""USB serial transport: SPEC 4 frames (COBS + CRC-16, 0x00-delimited) over pyserial.

The port is found by USB vendor/product id (:data:`USB_IDS`) unless one is given. A
background task reads the port (in a worker thread: pyserial blocks) and splits the byte
stream into frames with the codec's ``FrameSplitter``; every frame is yielded as it
arrived, on channel SERIAL_RX, good or bad -- the decoder counts a bad one as corrupt and
the next 0x00 resynchronises, so garbage costs the frames it touches, not the stream.
When the port vanishes (unplugged, device reset) the transport yields a "disconnected"
event, reopens the port with exponential backoff and yields "reconnected".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import serial
import serial.tools.list_ports

import sacrum_protocol as sp
from sacrum.io.transports import LinkEvent, Packet, Transport, TransportError, TransportInfo, drain
from sacrum.io.transports._commands import PendingCommands, Response, device_facts, send_command

log = logging.getLogger(__name__)

#: USB (vendor id, product id) of the USB-serial bridges and native USB ports ESP32 boards
#: carry, searched in this order by auto-detection.
USB_IDS: dict[tuple[int, int], str] = {
    (0x303A, 0x1001): "Espressif USB Serial/JTAG (ESP32-S3/C3/C6 native USB)",
    (0x303A, 0x4001): "Espressif TinyUSB CDC (MicroPython on ESP32-S2/S3)",
    (0x10C4, 0xEA60): "Silicon Labs CP210x (most ESP32 DevKits)",
    (0x1A86, 0x7523): "WCH CH340",
    (0x1A86, 0x55D4): "WCH CH9102",
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6015): "FTDI FT231X",
}
DEFAULT_BAUDRATE = 115200  # ignored by native USB CDC; the UART bridges need it
_READ_TIMEOUT_S = 0.05  # worker-thread read slice: bounds how long close() waits


def find_ports(comports: Callable[[], Iterable[Any]] | None = None) -> list[tuple[str, str]]:
    """(device path, description) of every port whose USB id is in :data:`USB_IDS`."""
    ports = list((comports or serial.tools.list_ports.comports)())
    order = list(USB_IDS)
    found = [(order.index((p.vid, p.pid)), p.device, USB_IDS[(p.vid, p.pid)])
             for p in ports if (p.vid, p.pid) in USB_IDS]
    return [(dev, desc) for _, dev, desc in sorted(found)]


def detect_port(comports: Callable[[], Iterable[Any]] | None = None) -> str:
    """The one sacrum-capable serial port, or a TransportError saying what to do."""
    found = find_ports(comports)
    if not found:
        ids = ", ".join(f"{v:04x}:{p:04x}" for v, p in USB_IDS)
        raise TransportError(f"no ESP32 USB serial port found (looked for USB ids {ids}); "
                             "plug the sensor in, or name the port: --serial /dev/ttyUSB0")
    if len(found) > 1:
        log.warning("several candidate ports (%s); using %s; choose one with --serial PORT",
                    ", ".join(d for d, _ in found), found[0][0])
    return found[0][0]


@dataclass
class SerialStats:
    """Counters of the byte stream (the decoder counts packets)."""

    bytes_received: int = 0
    frames: int = 0
    corrupt_frames: int = 0  # failed COBS or CRC: dropped by the decoder, resync at next 0x00
    oversize_runs: int = 0  # > 512 bytes without a delimiter (garbage), discarded
    reopen_attempts: int = 0


class SerialTransport(Transport):
    """Sacrum packets over a USB serial port.

    port: device path (e.g. /dev/ttyACM0, COM5); None = auto-detect by USB id.
    baudrate: for UART bridges (CP210x, CH340); native USB ignores it.
    reconnect: reopen the port after it vanishes, waiting backoff_s[0] doubling up to
        backoff_s[1] (s) between attempts.
    start_stream: send HELLO, GET_STATUS and START_STREAM after every (re)open.
    comports: the port lister (tests); default pyserial's.
    """

    def __init__(self, port: str | None = None, *, baudrate: int = DEFAULT_BAUDRATE,
                 reconnect: bool = True, backoff_s: tuple[float, float] = (0.05, 2.0),
                 start_stream: bool = False,
                 comports: Callable[[], Iterable[Any]] | None = None) -> None:
        self.port = port
        self.baudrate = baudrate
        self.reconnect = reconnect
        self.backoff_s = backoff_s
        self.start_stream = start_stream
        self._comports = comports
        self.info = TransportInfo("serial", {"address": port} if port else {})
        self.stats = SerialStats()
        self._ser: serial.Serial | None = None
        self._queue: asyncio.Queue[Packet | LinkEvent | None] = asyncio.Queue()
        self._pending = PendingCommands()
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    # -- opening -------------------------------------------------------------------------
    def _open_port(self) -> serial.Serial:
        port = self.port or detect_port(self._comports)
        ser = serial.Serial(port, self.baudrate, timeout=_READ_TIMEOUT_S, write_timeout=1.0)
        self.info.device.setdefault("address", port)
        self._port_in_use = port
        return ser

    async def connect(self) -> None:
        try:
            self._ser = await asyncio.to_thread(self._open_port)
        except (serial.SerialException, OSError) as e:
            raise TransportError(f"cannot open serial port {self.port or '(auto)'}: {e}; "
                                 "check the cable and that no other program holds the port "
                                 "(e.g. a serial monitor)") from e
        self._closing = False
        self.info.connected = True
        self._event("connected", port=self._port_in_use)
        self._reader = asyncio.create_task(self._run())
        if self.start_stream:
            await self._hello_and_start()

    async def _hello_and_start(self) -> None:
        """HELLO with this host's versions (a 1.2 device then sends its BIAS packets, SPEC
        2.5), GET_STATUS (its answer gives the device's name and IMU: ``_frame``), then
        START_STREAM; none is waited for, and their responses go into the capture like any."""
        await self.send(sp.encode_command(0, sp.OP_HELLO, bytes((sp.VERSION_MIN, sp.VERSION_MAX))))
        await self.send(sp.encode_command(0, sp.OP_GET_STATUS))
        await self.send(sp.encode_command(0, sp.OP_START_STREAM))

    async def close(self) -> None:
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._close_port()
        self.info.connected = False
        self._pending.fail_all(TransportError("the serial transport was closed"))
        self._queue.put_nowait(None)

    def _close_port(self) -> None:
        if self._ser is not None:
            with contextlib.suppress(Exception):
                self._ser.close()
            self._ser = None

    def _event(self, kind: str, **fields: Any) -> None:
        self._queue.put_nowait(LinkEvent(time.time_ns(), kind, fields))

    # -- reading -------------------------------------------------------------------------
    async def _run(self) -> None:
        splitter = sp.FrameSplitter()
        while not self._closing:
            ser = self._ser
            try:
                if ser is None:
                    raise serial.SerialException("port closed")
                data = await asyncio.to_thread(_read_some, ser)
            except (serial.SerialException, OSError, TypeError, AttributeError) as e:
                # TypeError/AttributeError: pyserial's read on a port closed under it
                if self._closing:
                    return
                splitter = sp.FrameSplitter()  # a partial frame across an unplug is lost
                if not await self._reopen(str(e)):
                    return
                continue
            if not data:
                continue
            t_ns = time.time_ns()
            self.stats.bytes_received += len(data)
            before = splitter.oversize
            for frame in splitter.feed(data):
                self._frame(frame, t_ns)
            self.stats.oversize_runs += splitter.oversize - before

    def _frame(self, frame: bytes, t_ns: int) -> None:
        self.stats.frames += 1
        try:
            packet = sp.decode_frame(frame)
        except sp.ProtocolError:
            self.stats.corrupt_frames += 1
            packet = b""
        if packet[:1] == bytes((sp.PTYPE_RESPONSE,)):
            resp = self._pending.resolve(packet)
            if (resp is not None and resp.token == 0 and resp.opcode == sp.OP_GET_STATUS
                    and resp.ok):  # the answer to _hello_and_start's: a device record
                facts = device_facts(packet[1], resp.payload)
                if facts:
                    self.info.device.update(facts)
                    self._event("device", **facts)
        self._queue.put_nowait(Packet(t_ns, sp.CH_SERIAL_RX, frame))

    async def _reopen(self, reason: str) -> bool:
        self._close_port()
        self.info.connected = False
        self._event("disconnected", reason=reason)
        self._pending.fail_all(TransportError(f"the serial port went away ({reason})"))
        if not self.reconnect:
            self._queue.put_nowait(None)
            return False
        delay = self.backoff_s[0]
        while not self._closing:
            await asyncio.sleep(delay)
            self.stats.reopen_attempts += 1
            try:
                self._ser = await asyncio.to_thread(self._open_port)
            except (serial.SerialException, OSError, TransportError) as e:
                log.info("serial reopen failed (%s); retrying in %.2f s", e, delay)
                delay = min(delay * 2, self.backoff_s[1])
                continue
            self.info.connected = True
            self.info.reconnects += 1
            self._event("reconnected", port=self._port_in_use, attempts=self.stats.reopen_attempts)
            if self.start_stream:
                await self._hello_and_start()
            return True
        return False

    def __aiter__(self) -> AsyncIterator[Packet | LinkEvent]:
        return drain(self._queue)

    # -- writing -------------------------------------------------------------------------
    async def send(self, packet: bytes) -> None:
        """Write one packet (a COMMAND) in a SPEC 4 frame."""
        ser = self._ser
        if ser is None:
            raise TransportError("the serial port is not open (unplugged?); try again when it "
                                 "has reconnected")
        try:
            await asyncio.to_thread(ser.write, sp.encode_frame(packet))
        except (serial.SerialException, OSError) as e:
            raise TransportError(f"writing to {self._port_in_use} failed: {e}") from e

    async def command(self, opcode: int, payload: bytes = b"",
                      timeout_s: float | None = None) -> Response:
        """Send a COMMAND and wait for its RESPONSE (SPEC 2.2 timeouts by default)."""
        return await send_command(self.send, self._pending, opcode, payload, timeout_s)


def _read_some(ser: serial.Serial) -> bytes:
    """Whatever has arrived, waiting at most one read timeout for the first byte."""
    first = ser.read(1)
    if not first:
        if ser.port.startswith("/") and not os.path.exists(ser.port):
            # some platforms report an unplug as silence; the device node tells
            raise serial.SerialException(f"{ser.port} disappeared")
        return b""
    waiting = ser.in_waiting
    return first + (ser.read(waiting) if waiting else b"")
