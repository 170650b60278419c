"""The host's side of pairing against the real firmware on the real stack (issue 15 item 3).

``BleTransport.pair`` outside the sensor's pairing window fails with the 'pairing window
closed' error, a BleTransport that never paired fails with the 'not paired' error, and
``record_over_radio(intruder=True)`` (what ``sacrum simulate --radio bumble --intruder``
runs) bonds after BOOT 3 s, records on the bonded link, reconnects after a link loss
without pairing again (every sample accounted for) and reports the strangers' refused
attempts. Bounded: about 30 s.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import sacrum_protocol as sp
from sacrum.io.transports import TransportError
from sacrum.io.transports.ble import NOT_PAIRED, WINDOW_CLOSED, BleTransport
from sacrum.io.transports.bumble_backend import BumbleClient, BumbleScanner, VirtualRadio
from sacrum.testing.radio import RadioPeripheral
from sacrum.testing.radio.firmware import FirmwareOnRadio
from sacrum.testing.radio.peripheral import SENSOR_ADDRESS
from sacrum.testing.radio.session import record_over_radio

# paced in wall-clock time (a real-time link or pacing): run alone, not beside another worker
pytestmark = pytest.mark.realtime

RATE_HZ = 100


def _recording(seconds: float):
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    acc = np.column_stack([0.1 * np.sin(t), 0.1 * np.cos(t), 9.81 + 0 * t])
    gyr = np.column_stack([0.02 * np.sin(t), 0 * t, 0 * t])
    return acc, gyr


async def _unpaired(tmp_path) -> dict:
    radio = VirtualRadio()
    peripheral = RadioPeripheral(radio.link)
    fw = FirmwareOnRadio(peripheral, *_recording(20), RATE_HZ, bonds=tmp_path / "bonds.json")
    await fw.start()
    seen = {}

    def transport() -> BleTransport:
        return BleTransport(SENSOR_ADDRESS, backend=BumbleClient, scanner_backend=BumbleScanner,
                            bleak_kwargs={"radio": radio}, scan_timeout_s=5.0, reconnect=False)

    try:
        tr = transport()
        try:
            await tr.connect()
            seen["connect"] = "connected"
        except TransportError as e:
            seen["connect"] = str(e)
        await tr.close()
        try:
            seen["pair"] = await transport().pair()
        except TransportError as e:
            seen["pair"] = str(e)
    finally:
        seen["stats"] = await fw.stop()
    return seen


@pytest.fixture(scope="module")
def unpaired(tmp_path_factory):
    return asyncio.run(asyncio.wait_for(_unpaired(tmp_path_factory.mktemp("unpaired")), 60))


def test_a_host_that_never_paired_is_told_to_pair(unpaired):
    assert unpaired["connect"] == NOT_PAIRED


def test_pairing_outside_the_window_is_told_the_window_is_closed(unpaired):
    assert unpaired["pair"] == WINDOW_CLOSED
    assert unpaired["stats"]["security"]["refused_pairings"] >= 1
    assert unpaired["stats"]["security"]["bonds"] == 0


@pytest.fixture(scope="module")
def intruded(tmp_path_factory):
    out = tmp_path_factory.mktemp("intruder") / "secure.sacrum"
    return asyncio.run(record_over_radio(*_recording(5), RATE_HZ, out, intruder=True,
                                         link_losses_s=(2.0,)))


def test_the_secure_run_bonds_and_reconnects_by_itself_with_every_sample_accounted(intruded):
    assert intruded.paired is not None
    assert intruded.firmware["security"]["bonds"] == 1
    assert intruded.record.reconnects == 1  # the link broke once: encrypted again, no pairing
    loss = intruded.record.loss
    assert loss.samples_received > 0 and loss.packets_lost_in_transit == 0
    assert loss.packets_dropped_by_device == intruded.firmware["dropped"]
    assert intruded.firmware["security"]["refused_commands"] == len(sp.OPCODE_NAMES)


def test_the_strangers_got_nothing_and_every_command_was_refused(intruded):
    unpaired, stranger = intruded.intruders
    n = len(sp.OPCODE_NAMES)
    assert set(unpaired.outcomes.values()) == {"att:15"} and len(unpaired.outcomes) == n
    assert set(stranger.outcomes.values()) == {"NOT_BONDED"} and len(stranger.outcomes) == n
    assert unpaired.data_notifications == 0 and stranger.data_notifications == 0
    assert intruded.firmware["security"]["refused_commands"] == n
    assert intruded.radio.writes_refused_unencrypted == n
    assert intruded.firmware["fault_events"] == 1  # the one link loss, nothing else
    assert intruded.firmware["fault"] == sp.FAULT_LINK_LOST
