"""SerialTransport against a pseudo-terminal pair carrying real SPEC 4 frames.

The "device" end is the pty master: the test writes frames made by the shared codec
(from a SimulatedDevice, as the firmware forms them) and reads the commands the host
writes. Unplugging closes the master and removes the port's path; replugging makes a new
pty and points the same path at it, as udev does for a re-enumerated USB device.
"""

from __future__ import annotations

import asyncio
import os
import random
import tty

import pytest
from serial.tools.list_ports_common import ListPortInfo

import sacrum_protocol as sp
from sacrum.apps.connect import open_transport
from sacrum.io.stream import StreamDecoder
from sacrum.io.transports import LinkEvent, Packet, TransportError
from sacrum.io.transports.serial import SerialTransport, detect_port, find_ports
from sacrum.testing.simulator import PhantomSource, SimulatedDevice

N = sp.MAX_SAMPLES  # serial packets are never segmented: 11 samples each


class PtyPort:
    """One end of a serial cable: a pty whose slave is reachable at ``link``."""

    def __init__(self, link: str) -> None:
        self.link = link
        self.master = -1
        self.slave = -1
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tty.setraw(self.master)
        os.set_blocking(self.master, False)
        tmp = self.link + ".new"
        os.symlink(os.ttyname(self.slave), tmp)
        os.replace(tmp, self.link)

    def unplug(self) -> None:
        os.unlink(self.link)
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = -1

    async def write(self, data: bytes) -> None:
        """Write all of ``data``, yielding while the pty's small buffer is full."""
        view = memoryview(data)
        while view:
            try:
                k = os.write(self.master, view)
            except BlockingIOError:
                await asyncio.sleep(0.001)
                continue
            view = view[k:]

    def read(self) -> bytes:
        try:
            return os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return b""

    def close(self) -> None:
        if self.master >= 0:
            self.unplug()


@pytest.fixture
def port(tmp_path):
    p = PtyPort(str(tmp_path / "ttySACRUM"))
    yield p
    p.close()


@pytest.fixture(scope="module")
def source():
    return PhantomSource(200, seed=1)


async def _answer_commands(port: PtyPort, dev: SimulatedDevice, stop: asyncio.Event) -> None:
    """The device end of the cable: answer every COMMAND frame the host writes, until
    ``stop``."""
    split = sp.FrameSplitter()
    while not stop.is_set():
        for frame in split.feed(port.read()):
            await port.write(sp.encode_frame(dev.handle(sp.decode_frame(frame))))
        await asyncio.sleep(0.005)


async def _drain(tr: SerialTransport, until, timeout_s: float = 5.0):
    """Collect packets and events until ``until(decoder, events)`` holds."""
    dec = StreamDecoder()
    events: list[LinkEvent] = []
    packets: list[Packet] = []

    async def run():
        async for item in tr:
            if isinstance(item, LinkEvent):
                events.append(item)
            else:
                packets.append(item)
                dec.update(item)
            if until(dec, events):
                return

    await asyncio.wait_for(run(), timeout_s)
    return dec, events, packets


def test_frames_arrive_whole_and_in_order(port, source):
    dev = SimulatedDevice(source, seed=2)

    async def main():
        async with SerialTransport(port.link) as tr:
            sent = [dev.form_packet(N) for _ in range(200)]
            for pk in sent:  # in irregular write sizes, as USB delivers them
                await port.write(sp.encode_frame(pk))
            dec, events, packets = await _drain(
                tr, lambda d, e: d.loss.packets_received == 200)
            return sent, dec, events, packets, tr

    sent, dec, events, packets, tr = asyncio.run(main())
    assert events[0].type == "connected"
    assert [sp.decode_frame(p.data) for p in packets] == sent
    assert all(p.channel == sp.CH_SERIAL_RX for p in packets)
    assert dec.loss.samples_received == 200 * N and dec.loss.samples_lost == 0
    assert tr.stats.corrupt_frames == 0 and tr.stats.frames == 200


def test_garbage_costs_only_the_frames_it_touches(port, source):
    dev = SimulatedDevice(source, seed=3)
    rng = random.Random(7)
    bad = 0
    stream = bytearray()
    good = 0
    for i in range(300):
        frame = sp.encode_frame(dev.form_packet(N))
        r = i % 6
        if r == 1:  # line noise between frames (no zero byte: it merges into the next frame)
            stream += bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40)))
            bad += 1  # ... which then fails its CRC/COBS
        elif r == 2:  # one flipped byte inside a frame
            frame = bytearray(frame)
            k, bit = rng.randrange(len(frame) - 1), 1 << rng.randrange(8)
            if frame[k] == bit:  # would make a 0x00: a delimiter, i.e. two bad frames
                bit = bit << 1 if bit < 0x80 else bit >> 1
            frame[k] ^= bit
            bad += 1
        elif r == 3:  # a burst of noise ending in a zero: its own corrupt frame
            stream += bytes(rng.randrange(1, 256) for _ in range(20)) + b"\x00"
            bad += 1
            good += 1
        else:
            good += 1
        stream += frame
    stream += b"\x55" * 700 + b"\x00"  # 700 bytes without a delimiter: an oversize run
    tail = dev.form_packet(N)
    stream += sp.encode_frame(tail)

    async def main():
        async with SerialTransport(port.link) as tr:
            for k in range(0, len(stream), 333):
                await port.write(bytes(stream[k:k + 333]))
            dec, _, _ = await _drain(tr, lambda d, e: d.loss.packets_received == good + 1)
            await asyncio.sleep(0.1)  # nothing more may arrive
            return dec, tr

    dec, tr = asyncio.run(main())
    assert dec.loss.corrupt_packets == bad == tr.stats.corrupt_frames
    assert tr.stats.oversize_runs == 1
    assert dec.loss.packets_received == good + 1
    # every destroyed packet shows as lost samples: nothing vanishes silently
    assert dec.loss.samples_lost == (300 - good) * N
    assert dec.loss.samples_received + dec.loss.samples_lost == 301 * N


def test_unplug_replug_survived_and_gap_counted_exactly(port, source):
    dev = SimulatedDevice(source, seed=5)

    async def main():
        dec = StreamDecoder()
        events = []
        async with SerialTransport(port.link, backoff_s=(0.02, 0.1)) as tr:

            async def consume():
                async for item in tr:
                    if isinstance(item, LinkEvent):
                        events.append(item.type)
                    else:
                        dec.update(item)
                    if dec.loss.packets_received == 60:
                        return

            task = asyncio.create_task(consume())
            for _ in range(30):
                await port.write(sp.encode_frame(dev.form_packet(N)))
            await asyncio.sleep(0.2)
            port.unplug()
            for _ in range(25):
                dev.form_packet(N)
                dev.dropped_packet()
            await asyncio.sleep(0.2)
            port.plug()
            while "reconnected" not in events:
                await asyncio.sleep(0.02)
            for _ in range(30):
                await port.write(sp.encode_frame(dev.form_packet(N)))
            await asyncio.wait_for(task, 5)
        return dec, events, tr

    dec, events, tr = asyncio.run(main())
    assert events == ["connected", "disconnected", "reconnected"]
    assert tr.info.reconnects == 1 and tr.stats.reopen_attempts >= 2  # backoff retried
    assert dec.loss.samples_lost == 25 * N and dec.loss.gaps == 1
    assert dec.loss.packets_dropped_by_device == 25 and dec.loss.packets_lost_in_transit == 0


def test_command_round_trip_and_timeout(port, source):
    dev = SimulatedDevice(source, name="pelvis-1", streaming=False)

    async def main():
        stop = asyncio.Event()
        async with SerialTransport(port.link) as tr:
            devtask = asyncio.create_task(_answer_commands(port, dev, stop))
            status = await tr.command(sp.OP_GET_STATUS)
            rate = await tr.command(sp.OP_SET_RATE, b"\x7b\x00")  # 123 Hz: BAD_VALUE
            stop.set()
            await devtask
            with pytest.raises(TransportError, match="no response to HELLO"):
                await tr.command(sp.OP_HELLO, bytes((0x10, 0x1F)), timeout_s=0.2)
            return status, rate

    status, rate = asyncio.run(main())
    assert status.ok and sp.unpack_status(status.payload)[1] == "pelvis-1"
    assert rate.result == sp.RESULT_BAD_VALUE and rate.payload == b""


def _port_info(device: str, vid: int | None, pid: int | None) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid = vid, pid
    return info


def test_port_detection_by_usb_id():
    ports = [_port_info("/dev/ttyS0", None, None), _port_info("/dev/ttyUSB3", 0x1A86, 0x7523),
             _port_info("/dev/ttyACM0", 0x303A, 0x1001), _port_info("/dev/ttyUSB9", 0x1234, 1)]
    assert [d for d, _ in find_ports(lambda: ports)] == ["/dev/ttyACM0", "/dev/ttyUSB3"]
    assert detect_port(lambda: ports) == "/dev/ttyACM0"
    with pytest.raises(TransportError, match=r"no ESP32 USB serial port.*--serial"):
        detect_port(lambda: ports[:1])
    with pytest.raises(TransportError, match="cannot open serial port"):
        asyncio.run(SerialTransport("/nonexistent/tty").connect())
    assert isinstance(open_transport("serial", "/dev/null"), SerialTransport)


def test_the_devices_name_and_imu_come_from_its_status_after_hello(port, source):
    """Device Information is a BLE service: over USB serial the device's name and IMU come
    from the GET_STATUS sent after HELLO (not waited for), as a "device" event for the
    capture's DEVICE record."""
    dev = SimulatedDevice(source, name="pelvis-2", streaming=False)

    async def main():
        stop = asyncio.Event()
        async with SerialTransport(port.link, start_stream=True) as tr:
            devtask = asyncio.create_task(_answer_commands(port, dev, stop))
            _, events, _ = await _drain(tr, lambda d, ev: any(e.type == "device" for e in ev))
            stop.set()
            await devtask
            return events, dict(tr.info.device)

    events, info = asyncio.run(main())
    device = next(e for e in events if e.type == "device")
    assert device.fields == {"imu": sp.IMU_NAMES[sp.IMU_OTHER], "name": "pelvis-2"}
    assert info["name"] == "pelvis-2" and info["imu"] == "other"
