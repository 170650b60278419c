"""The virtual sacrum sensor: a Bumble GATT peripheral that behaves as the firmware does.

It has exactly the GATT layout of protocol/SPEC.md section 3 (sacrum service with data,
control and response; Device Information 0x180A; Battery 0x180F), advertises the sacrum
service UUID with the name and Battery service in the scan response (as firmware/ble.py),
and streams DATA packets made by the shared codec from a
:class:`~sacrum.testing.simulator.SimulatedDevice` (phantom walk, a capture, or the
firmware-in-the-loop simulator's output), SEGMENTed when the MTU is small. It answers
COMMANDs per SPEC 2.2 on the response characteristic.

Like the firmware it never queues data in RAM: a packet the link cannot take is dropped
and counted in the DATA header's ``dropped`` field. While no host is connected (or
subscribed) the device keeps forming packets and drops them -- so a host that reconnects
sees the outage as an exact, device-accounted gap. The link's capacity is the one faked
part: ``link_rate_per_s`` notifications per second of device time drain ``tx_buffers``
transmit buffers (a token bucket standing in for the ESP32's notification buffers and the
connection events); None = limited only by the Bumble stack itself.

Runs on Bumble's in-process virtual radio (tests, ``sacrum emulate`` without hardware) or
on a physical controller through any Bumble transport (``usb:0``, ``serial:/dev/ttyUSB0``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from dataclasses import dataclass

from bumble import att, gatt, hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device

import sacrum_protocol as sp
from sacrum.testing.simulator import SimulatedDevice

log = logging.getLogger(__name__)

SENSOR_ADDRESS = "F0:5A:C1:00:00:01"
_ADV_INTERVAL_MS = 20.0  # short, so tests and reconnects find the sensor quickly


def advertising_data(name: str) -> tuple[bytes, bytes]:
    """(advertising data, scan response): flags + sacrum service UUID; name + Battery."""
    t = AdvertisingData.Type
    raw_name = name.encode("utf-8")[:sp.NAME_MAX_BYTES]
    adv = [(t.FLAGS, bytes((0x06,))),
           (t.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, UUID(sp.SERVICE_UUID).to_bytes())]
    # Deviation from the firmware: Bumble's virtual controller answers a scan request with
    # the advertising data, so a name only in the scan response never reaches a scanner on
    # the virtual link. A name that fits (<= 8 bytes) also goes in the advertising data.
    if 21 + 2 + len(raw_name) <= 31:
        adv.append((t.COMPLETE_LOCAL_NAME, raw_name))
    resp = AdvertisingData([
        (t.COMPLETE_LOCAL_NAME, raw_name),
        (t.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
         struct.pack("<H", sp.BATTERY_SERVICE_UUID16)),
    ])
    return bytes(AdvertisingData(adv)), bytes(resp)


@dataclass
class SensorStats:
    """What the sensor did, for checking the host's accounting against."""

    notifications: int = 0
    packets_sent: int = 0
    packets_dropped: int = 0  # formed, not sent (no host, not subscribed, no buffer)
    samples_dropped: int = 0
    # the drops a host can know of: those before the last packet sent (the DATA header
    # carries the count, so drops after it are invisible until the next one)
    packets_dropped_visible: int = 0
    samples_dropped_visible: int = 0
    responses: int = 0
    connections: int = 0
    malformed_sent: int = 0


class VirtualSensor:
    """A sacrum sensor on a Bumble ``Device`` (virtual or physical controller).

    device: the Bumble device (not yet powered on); sim: the device model streaming.
    max_mtu: largest ATT MTU accepted (23 forces SEGMENTs); speed: device time runs this
    many times faster than wall time (None: as fast as the stack takes notifications).
    link_rate_per_s, tx_buffers: the radio's capacity (see the module docstring).
    """

    def __init__(self, device: Device, sim: SimulatedDevice, *, max_mtu: int = 247,
                 speed: float | None = 1.0, link_rate_per_s: float | None = None,
                 tx_buffers: int = 12, model: str = "virtual sacrum (Bumble)") -> None:
        self.device = device
        self.sim = sim
        self.max_mtu = max_mtu
        self.speed = speed
        self.link_rate_per_s = link_rate_per_s
        self.tx_buffers = tx_buffers
        self.model = model
        self.stats = SensorStats()
        self.conn: Connection | None = None
        self.mtu = sp.MIN_MTU
        self.dev_s = 0.0  # device time streamed, s
        self._credits = float(tx_buffers)
        self._offline = False
        self._running = False
        self._task: asyncio.Task[None] | None = None
        self._adv_task: asyncio.Task[None] | None = None
        self._reasm = sp.Reassembler()
        self._tags = {"data": 0, "response": 0}
        self.connected = asyncio.Event()
        self._build_gatt()

    # -- GATT database (SPEC 3) ----------------------------------------------------------
    def _build_gatt(self) -> None:
        props = gatt.Characteristic.Properties
        readable = gatt.Characteristic.READABLE
        self.data_char = gatt.Characteristic(UUID(sp.DATA_CHAR_UUID), props.NOTIFY, readable,
                                             b"")
        self.control_char = gatt.Characteristic(
            UUID(sp.CONTROL_CHAR_UUID), props.WRITE | props.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.WRITEABLE, gatt.CharacteristicValue(write=self._on_control))
        self.response_char = gatt.Characteristic(UUID(sp.RESPONSE_CHAR_UUID), props.NOTIFY,
                                                 readable, b"")
        dis = [gatt.Characteristic(UUID.from_16_bits(u), props.READ, readable, v.encode())
               for u, v in ((0x2A29, "sacrum"), (0x2A24, self.model),
                            (0x2A26, self.sim.firmware))]
        self.battery_char = gatt.Characteristic(
            UUID.from_16_bits(0x2A19), props.READ | props.NOTIFY, readable,
            bytes((self.sim.battery_percent,)))
        self.device.add_service(gatt.Service(
            UUID(sp.SERVICE_UUID), [self.data_char, self.control_char, self.response_char]))
        self.device.add_service(gatt.Service(UUID.from_16_bits(sp.DEVICE_INFO_SERVICE_UUID16),
                                             dis))
        self.device.add_service(gatt.Service(UUID.from_16_bits(sp.BATTERY_SERVICE_UUID16),
                                             [self.battery_char]))

    # -- life cycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Power on, advertise, and run the sampling loop."""
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        await self.device.power_on()
        self.device.gatt_server.max_mtu = self.max_mtu
        await self.advertise()
        self._running = True
        self._task = asyncio.create_task(self._stream())

    async def stop(self) -> None:
        self._running = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.disconnect()
        if self._adv_task is not None:
            with contextlib.suppress(Exception):
                await self._adv_task
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()

    async def advertise(self) -> None:
        adv, resp = advertising_data(self.sim.name)
        await self.device.start_advertising(
            own_address_type=hci.OwnAddressType.RANDOM, advertising_data=adv,
            scan_response_data=resp, advertising_interval_min=_ADV_INTERVAL_MS,
            advertising_interval_max=_ADV_INTERVAL_MS)

    def _on_connection(self, conn: Connection) -> None:
        self.conn = conn
        self.mtu = sp.MIN_MTU
        self.stats.connections += 1
        self._reasm = sp.Reassembler()
        conn.on(Connection.EVENT_CONNECTION_ATT_MTU_UPDATE, self._on_mtu)
        conn.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        self.connected.set()

    def _on_mtu(self, *_: object) -> None:
        if self.conn is not None:
            self.mtu = self.conn.att_mtu

    def _on_disconnection(self, reason: int) -> None:
        self.conn = None
        self.mtu = sp.MIN_MTU
        self.connected.clear()
        if self._running and not self._offline:  # a host can reconnect without a reboot
            self._adv_task = asyncio.get_running_loop().create_task(self.advertise())

    async def outage(self, duration_s: float) -> None:
        """Drop the connection from the sensor's side, stay unreachable for ``duration_s``
        of device time (streaming on, every packet dropped and counted), then advertise."""
        self._offline = True
        start = self.dev_s
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        if self.conn is not None:
            await self.conn.disconnect()
        while self.dev_s - start < duration_s:
            await asyncio.sleep(0.002)
        self._offline = False
        await self.advertise()

    # -- data path ----------------------------------------------------------------------
    def _subscribed(self, char: gatt.Characteristic) -> bool:
        conn = self.conn
        if conn is None:
            return False
        cccd = self.device.gatt_server.subscribers.get(conn, {}).get(char.handle)
        return bool(cccd) and cccd[0] & 0x01 == 1

    def _notify(self, char: gatt.Characteristic, value: bytes) -> None:
        """Send one notification now (the connection exists: checked by callers)."""
        # what Device.notify_subscriber does, without a coroutine per notification
        pdu = att.ATT_Handle_Value_Notification(attribute_handle=char.handle,
                                                attribute_value=value)
        self.device.gatt_server.send_gatt_pdu(self.conn, bytes(pdu))
        self.stats.notifications += 1

    def _send_packet(self, char: gatt.Characteristic, packet: bytes, key: str,
                     budget: bool) -> bool:
        if not self._subscribed(char):
            return False
        parts = sp.segment(packet, self.mtu, self._tags[key])
        if len(parts) > 1:
            self._tags[key] = (self._tags[key] + 1) & 0xFF
        if budget and self.link_rate_per_s is not None:
            if self._credits < len(parts):
                return False  # ENOMEM: no transmit buffer free
            self._credits -= len(parts)
        for part in parts:
            self._notify(char, part)
        return True

    async def _stream(self) -> None:
        t0 = time.monotonic()
        since_yield = 0
        while self._running:
            sim = self.sim
            if not sim.streaming:
                await asyncio.sleep(0.005)
                if self.speed:  # device time runs on while stopped
                    idle = (time.monotonic() - t0) * self.speed - self.dev_s
                    if idle > 0:
                        sim.t_us = (sim.t_us + round(idle * 1e6)) % sp.T_US_MOD
                        self.dev_s += idle
                continue
            n = sp.samples_per_packet(self.mtu)
            ready_s = self.dev_s + n / sim.rate_hz
            if self.speed:
                wait = t0 + ready_s / self.speed - time.monotonic()
                if wait > 0.001:
                    await asyncio.sleep(wait)
                    continue
            packet = sim.form_packet(n)
            self.dev_s = ready_s
            if self.link_rate_per_s is not None:
                self._credits = min(self.tx_buffers,
                                    self._credits + n / sim.rate_hz * self.link_rate_per_s)
            if self._send_packet(self.data_char, packet, "data", budget=True):
                st = self.stats
                st.packets_sent += 1
                st.packets_dropped_visible = st.packets_dropped
                st.samples_dropped_visible = st.samples_dropped
            else:
                sim.dropped_packet()
                self.stats.packets_dropped += 1
                self.stats.samples_dropped += n
            since_yield += 1
            if since_yield >= 4 or not self.speed:
                since_yield = 0
                await asyncio.sleep(0)  # let the stack move the notifications

    # -- control path --------------------------------------------------------------------
    def _on_control(self, connection: Connection, value: bytes) -> None:
        try:
            packet = self._reasm.push(bytes(value))
        except sp.ProtocolError:
            packet = bytes(value)  # the handler answers BAD_PACKET
        if packet is None:
            return
        was_streaming = self.sim.streaming
        response = self.sim.handle(packet)
        if self.sim.streaming and not was_streaming:
            log.info("streaming started")
        if packet[3:4] == bytes((sp.OP_SET_NAME,)) and response[4:5] == b"\x00":
            log.info("renamed to %s", self.sim.name)
        if self._send_packet(self.response_char, response, "response", budget=False):
            self.stats.responses += 1

    # -- test hooks ----------------------------------------------------------------------
    def send_malformed(self, value: bytes) -> bool:
        """Notify ``value`` on the data characteristic as it is (tests of bad input)."""
        if not self._subscribed(self.data_char):
            return False
        self._notify(self.data_char, value[:self.mtu - sp.ATT_OVERHEAD])
        self.stats.malformed_sent += 1
        return True

    async def set_battery(self, percent: int) -> None:
        self.sim.battery_percent = percent
        self.battery_char.value = bytes((percent,))
        if self.conn is not None:
            await self.device.notify_subscriber(self.conn, self.battery_char)
