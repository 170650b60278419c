"""A whole session over the real stack: the firmware streams, the host records a capture.

:func:`record_over_radio` is ``sacrum simulate --radio bumble``: the firmware under
MicroPython (:class:`~sacrum.testing.radio.firmware.FirmwareOnRadio`) on a
:class:`~sacrum.testing.radio.peripheral.RadioPeripheral`, and the host's own recorder
(``sacrum.apps.record.record``, as ``sacrum record --ble`` runs it) on a ``BleTransport``
over the project's Bumble backend, both on one Bumble ``LocalLink``. The capture is the
one a real session writes (transport "ble", link events, DEVICE records, every
notification and command as it crossed the air, host receive times). Time is real: a
recording of N seconds takes N seconds (plus connecting).

``link_losses_s``: seconds after the host first connected at which the link breaks
(:meth:`RadioPeripheral.lose_link`); the host reconnects by itself, the firmware
advertises again, and the gap is counted by the decoder from the packets' own counters.
At the end the host sends STOP_STREAM (a real command round trip) and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import sacrum_protocol as sp
from sacrum.io.transports.ble import BleTransport
from sacrum.io.transports.bumble_backend import BumbleClient, BumbleScanner, VirtualRadio
from sacrum.testing.radio.firmware import FirmwareOnRadio, FirmwareRadioError
from sacrum.testing.radio.peripheral import SENSOR_ADDRESS, RadioPeripheral, RadioStats

_CONNECT_TIMEOUT_S = 30.0
_DRAIN_TIMEOUT_S = 5.0


@dataclass
class RadioSession:
    """What a run over the real stack did.

    record: the recorder's result (loss report, reconnects, packets, events);
    firmware: the device's counters at the end (``radio_run.py``'s stats: fault code,
    disconnects, packets dropped at the device, the module's notify/ENOMEM/ENOTCONN counts);
    radio: the stack side's counts; stop_result: STOP_STREAM's result code (None if the
    link was down at the end); wall_s: how long it took.
    """

    path: Path
    record: Any
    firmware: dict[str, Any]
    radio: RadioStats
    stop_result: int | None
    wall_s: float
    firmware_lines: list[str] = field(default_factory=list)
    paired: str | None = None  # secure: the bonded sensor's name
    intruders: list[Any] = field(default_factory=list)  # intruder.Attempt per stranger

    def lines(self) -> list[str]:
        fw = self.firmware
        r = fw.get("radio", {})
        return [
            f"real firmware on Bumble: {self.record.duration_s:.1f} s recorded in "
            f"{self.wall_s:.1f} s, {self.record.packets:,} packets, "
            f"{self.record.reconnects} reconnects",
            f"device: {fw.get('dropped', 0)} packets dropped (no buffer or no host), "
            f"{r.get('enomem', 0)} ENOMEM, {r.get('enotconn', 0)} ENOTCONN, "
            f"{fw.get('disconnects', 0)} disconnects, {fw.get('irq_errors', 0)} IRQ errors",
            *self.record.loss.lines(),
            *self._security_lines(),
        ]

    def _security_lines(self) -> list[str]:
        out = []
        if self.paired is not None:
            out.append(f"bonded with {self.paired} in its pairing window (BOOT held 3 s); "
                       "the recording ran on the encrypted, bonded link")
        out += [a.line() for a in self.intruders]
        sec = self.firmware.get("security")
        if sec is not None and (self.intruders or self.paired):
            out.append(f"firmware counted: {sec['refused_commands']} commands refused "
                       f"(NOT_BONDED), {sec['refused_pairings']} bonds refused outside the "
                       f"window, {sec['bonds']} bond(s) stored; the stack refused "
                       f"{self.radio.writes_refused_unencrypted} plain writes")
        return out


async def _wait(predicate, timeout_s: float, step_s: float = 0.01) -> bool:
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout_s:
            return False
        await asyncio.sleep(step_s)
    return True


async def record_over_radio(acc_mps2: np.ndarray, gyr_radps: np.ndarray, rate_hz: int,
                            out: str | Path, *, mtu: int = 247,
                            link_losses_s: tuple[float, ...] = (), name: str = "sacrum-sim",
                            note: str = "", progress: bool = False,
                            peripheral_options: dict[str, Any] | None = None,
                            during: Any = None, secure: bool = False,
                            intruder: bool = False,
                            imu_chip: str = "icm42688") -> RadioSession:
    """Stream the recording through the real firmware and stack into the capture ``out``.

    mtu: the largest ATT MTU the central accepts (23: every DATA packet in SEGMENTs);
    during: an optional ``async def during(transport, peripheral, firmware)`` run once the
    host streams (tests: commands, bad writes) while the recording plays; when it returns
    before the recording ends, the session ends there.
    secure: the firmware with security on (a new board): BOOT is held 3 s and the host
    pairs (``BleTransport.pair``) before recording; intruder (implies secure): then an
    unpaired central and a second host that pairs outside the window try to subscribe,
    read and send every command (:mod:`sacrum.testing.radio.intruder`); imu_chip: the
    emulated IMU (``sacrum.testing.simulate.IMU_CHIPS``).
    """
    from sacrum.apps.record import record

    t_start = time.monotonic()
    radio = VirtualRadio()
    central = await radio.central()
    central.gatt_server.max_mtu = mtu  # a central that cannot do more (e.g. MTU 23)
    peripheral = RadioPeripheral(radio.link, **(peripheral_options or {}))
    secure = secure or intruder
    bond_dir = tempfile.TemporaryDirectory(prefix="sacrum-bonds-") if secure else None
    firmware = FirmwareOnRadio(peripheral, acc_mps2, gyr_radps, rate_hz, name=name,
                               bonds=Path(bond_dir.name) / "bonds.json" if bond_dir else None,
                               imu_chip=imu_chip)
    await firmware.start()
    transport = BleTransport(SENSOR_ADDRESS, backend=BumbleClient, scanner_backend=BumbleScanner,
                             bleak_kwargs={"radio": radio}, scan_timeout_s=5.0, mtu=mtu,
                             backoff_s=(0.1, 1.0))
    paired = None
    intruders = []
    try:
        if secure:
            await firmware.press_boot(3.2)  # the pairing window opens at 3 s
            paired = await transport.pair()
        if intruder:
            from sacrum.testing.radio.intruder import try_everything

            address = peripheral.device.random_address
            intruders.append(await try_everything(radio, address, "unpaired central",
                                                  "C0:5A:C1:00:00:66", pair=False))
            intruders.append(await try_everything(radio, address, "never-bonded host",
                                                  "C0:5A:C1:00:00:77", pair=True))
    except BaseException:
        with contextlib.suppress(Exception):
            await firmware.stop()
        raise
    transport = BleTransport(SENSOR_ADDRESS, backend=BumbleClient, scanner_backend=BumbleScanner,
                             bleak_kwargs={"radio": radio}, scan_timeout_s=5.0, mtu=mtu,
                             backoff_s=(0.1, 1.0))
    rec = asyncio.get_running_loop().create_task(
        record(transport, out, None, progress=progress, note=note))
    stop_result = None
    try:
        if not await _wait(lambda: transport.info.connected or rec.done(), _CONNECT_TIMEOUT_S):
            raise FirmwareRadioError("the host did not connect to the firmware in "
                                     f"{_CONNECT_TIMEOUT_S:g} s")
        if rec.done():
            rec.result()  # the recorder's own error
        t0 = time.monotonic()
        extra = asyncio.get_running_loop().create_task(
            during(transport, peripheral, firmware)) if during else None
        for at_s in sorted(link_losses_s):
            await asyncio.sleep(max(0.0, t0 + at_s - time.monotonic()))
            await peripheral.lose_link()
        duration_s = acc_mps2.shape[0] / rate_hz
        done = asyncio.get_running_loop().create_task(firmware.done.wait())
        ended = firmware.ended  # the MicroPython process exited (a crash): stop waiting
        await asyncio.wait([done, rec, ended, *([extra] if extra else [])],
                           timeout=duration_s + _CONNECT_TIMEOUT_S,
                           return_when=asyncio.FIRST_COMPLETED)
        if extra is not None and extra.done() and not firmware.done.is_set():
            done.cancel()
            extra.result()  # its error, if it failed
        elif not firmware.done.is_set():
            done.cancel()
            if rec.done():
                rec.result()
            raise FirmwareRadioError(f"the recording did not finish playing: "
                                     f"{firmware.error()}")
        if extra is not None:
            await extra
        queue = peripheral.device.host.le_acl_packet_queue
        await _wait(lambda: queue.pending == 0, _DRAIN_TIMEOUT_S)
        await _wait(lambda: transport.info.connected, _CONNECT_TIMEOUT_S)
        await asyncio.sleep(0.05)  # the last notifications cross the link
        if transport.info.connected:
            with contextlib.suppress(Exception):
                stop_result = (await transport.command(sp.OP_STOP_STREAM)).result
        await transport.close()
        result = await rec
    except BaseException:
        if not rec.done():
            await transport.close()
            with contextlib.suppress(Exception):
                await rec
        with contextlib.suppress(Exception):  # the first error is the one to tell
            await firmware.stop()
        raise
    stats = await firmware.stop()
    if bond_dir is not None:
        bond_dir.cleanup()
    return RadioSession(Path(out), result, stats, peripheral.stats, stop_result,
                        time.monotonic() - t_start, list(firmware.lines), paired, intruders)
