"""The real firmware, under MicroPython, on a real BLE stack, recorded by the host.

``firmware/sim/unix_bluetooth/bluetooth.py`` relays the firmware's own ``bluetooth``
calls to a Bumble peripheral (``sacrum.testing.radio``) on Bumble's virtual link; the
host's ``BleTransport`` (bleak over the project's Bumble backend) connects, subscribes,
commands and records, through ``sacrum.apps.record.record`` as ``sacrum record --ble``
does. Nothing here is a rewrite of the firmware: the bytes in the capture are the ones
``firmware/ble.py`` notified. Runs are in real time (seconds each).
"""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest

import sacrum_protocol as sp
from cli_contract import run as run_cli
from sacrum.io.capture import CaptureReader
from sacrum.io.decode import decode_capture
from sacrum.testing.radio.firmware import FirmwareRadioError
from sacrum.testing.radio.session import record_over_radio

# paced in wall-clock time (a real-time link or pacing): run alone, not beside another worker
pytestmark = pytest.mark.realtime

RATE_HZ = 200


def walk(seconds: float, rate_hz: int = RATE_HZ, still: bool = False):
    """A recording: gravity on z, swaying and turning at walking frequencies (SI)."""
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    acc = np.column_stack([1.5 * np.sin(2 * np.pi * 0.9 * t), 0.8 * np.sin(2 * np.pi * 1.8 * t),
                           9.81 + 1.2 * np.sin(2 * np.pi * 1.8 * t + 0.3)])
    gyr = np.column_stack([0.4 * np.sin(2 * np.pi * 0.9 * t), 0.25 * np.cos(2 * np.pi * 1.8 * t),
                           0.3 * np.sin(2 * np.pi * 0.45 * t)])
    if still:
        acc[:] = (0.0, 0.0, 9.81)
        gyr[:] = 0.0
    return acc, gyr


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("mtu", [247, 23])
def test_a_short_run_arrives_whole_and_as_the_firmware_made_it(tmp_path, mtu):
    acc, gyr = walk(4.0)
    out = tmp_path / "run.sacrum"
    s = run(record_over_radio(acc, gyr, RATE_HZ, out, mtu=mtu))
    table = decode_capture(out)
    loss = table.loss
    # every sample the device took while streaming is in the capture or in a packet the
    # device counted as not sent (the stack refused it, ENOMEM: only when this machine is
    # too loaded to run the Bumble side on time); none is unaccounted
    per_packet = 11 if mtu == 247 else 4  # SPEC 2.4: 4 samples in 6 SEGMENTs at MTU 23
    assert loss.samples_received >= 4 * RATE_HZ - loss.samples_lost
    assert loss.packets_lost_in_transit == 0
    # (a drop after the last packet that got through is not yet known to the host)
    assert 0 <= s.firmware["dropped"] - loss.packets_dropped_by_device <= 2
    assert s.firmware["dropped"] <= s.firmware["radio"]["enomem"]
    assert loss.samples_lost == per_packet * loss.packets_dropped_by_device
    assert loss.corrupt_packets == loss.incomplete_segments == loss.orphan_segments == 0
    assert s.firmware["irq_errors"] == 0
    assert s.firmware["fault"] == 0 and not s.firmware["radio"]["irq_disabled"]
    assert s.stop_result == sp.RESULT_OK and s.record.reconnects == 0
    assert loss.samples_received == loss.packets_received * per_packet
    if mtu == 23:
        assert s.firmware["radio"]["notify"] >= 6 * loss.packets_received
    # the capture is a real session's: transport ble, link events, the device's GATT info
    reader = CaptureReader(out)
    assert reader.header["transport"] == "ble" and reader.header["mtu"] == mtu
    assert table.device["manufacturer"] == "sacrum" and table.device["firmware"] == "1.0.0"
    # and what Device Information does not carry, from the sensor's GET_STATUS
    assert table.device["imu"] == "ICM-42688-P" and table.device["name"] == "sacrum-sim"
    kinds = [e.get("type") for _, e in table.events]
    assert kinds[:2] == ["connected", "mtu"] and "disconnected" not in kinds
    # the samples are the recording's, through the emulated IMU and the firmware's wire
    # scaling (1/256 m/s²): find where the stream began in the recording, then compare
    # (the emulated IMU holds the first sample until streaming starts, so the capture may
    # begin with it a few times)
    got = table.acc_mps2.astype(float)  # lost samples are NaN rows in their place
    skip, start = min(((j, k) for j in range(5) for k in range(4)),
                      key=lambda jk: np.nanmax(np.abs(got[jk[0]:jk[0] + 50]
                                                      - acc[jk[1]:jk[1] + 50])))
    n = min(len(got) - skip, len(acc) - start)
    assert np.nanmax(np.abs(got[skip:skip + n] - acc[start:start + n])) < 0.02
    assert n >= len(acc) - 8


def test_a_link_lost_mid_stream_reconnects_and_the_gap_is_counted_exactly(tmp_path):
    acc, gyr = walk(5.0)
    out = tmp_path / "loss.sacrum"
    s = run(record_over_radio(acc, gyr, RATE_HZ, out, mtu=23, link_losses_s=(2.0,)))
    loss = decode_capture(out).loss
    assert s.record.reconnects == 1
    # the device kept sampling and counted every packet it could not send; the host's
    # count of them, from the packets' own counters, is the device's own
    assert s.firmware["dropped"] > 0
    assert loss.packets_dropped_by_device == s.firmware["dropped"]
    # what the stack had accepted but not yet sent when the link broke is lost with it
    # (NimBLE frees a dropped link's buffers too): at most the transmit buffers' worth
    assert loss.packets_lost_in_transit <= 1 + s.firmware["radio"]["tx_buffers"] // 6
    assert loss.gaps == 1 and loss.corrupt_packets == 0
    # every missing sample belongs to one of those packets: 4 samples a packet at MTU 23
    assert loss.samples_lost == 4 * (s.firmware["dropped"] + loss.packets_lost_in_transit)
    assert s.firmware["fault"] == sp.FAULT_LINK_LOST and s.firmware["fault_events"] == 1
    kinds = [e.get("type") for _, e in decode_capture(out).events]
    assert kinds.count("disconnected") == 1 and kinds.count("reconnected") == 1
    assert kinds.index("disconnected") < kinds.index("reconnected")


def test_every_command_round_trips_through_the_stack(tmp_path):
    answers: dict[str, object] = {}

    async def commands(tr, peripheral, firmware):
        c = tr.command
        answers["hello"] = await c(sp.OP_HELLO, bytes((sp.VERSION_MIN, sp.VERSION_MAX)))
        answers["status"] = await c(sp.OP_GET_STATUS)
        answers["busy"] = await c(sp.OP_SET_RATE, struct.pack("<H", 100))
        answers["identify"] = await c(sp.OP_IDENTIFY, bytes((1,)))
        q = (16384, 0, 0, 0)
        answers["mount"] = await c(sp.OP_SET_MOUNTING, struct.pack("<hhhh", *q))
        answers["calib"] = await c(sp.OP_CALIBRATE_GYRO, struct.pack("<H", 200))
        answers["name"] = await c(sp.OP_SET_NAME, b"pelvis-left-sensor-1")  # 2 writes
        answers["status2"] = await c(sp.OP_GET_STATUS)
        answers["unknown"] = await c(0x7E)
        answers["link"] = await c(sp.OP_SET_LINK, bytes((0,)))  # already BLE: no reboot
        answers["bad_rate"] = await c(sp.OP_SET_RATE, struct.pack("<H", 123))
        answers["stop"] = await c(sp.OP_STOP_STREAM)
        answers["rate"] = await c(sp.OP_SET_RATE, struct.pack("<H", 200))
        answers["start"] = await c(sp.OP_START_STREAM)

    acc, gyr = walk(5.0, still=True)
    s = run(record_over_radio(acc, gyr, RATE_HZ, tmp_path / "cmd.sacrum", mtu=23,
                              during=commands))
    a = answers
    assert a["hello"].ok and a["hello"].payload[0] == sp.VERSION_MAX
    values, name = sp.unpack_status(a["status"].payload, sp.VERSION_MAX)
    fields = dict(zip(sp.STATUS_FIELDS, values, strict=False))
    assert name == "sacrum-sim" and fields["streaming"] == 1 and fields["rate_hz"] == RATE_HZ
    assert fields["imu_type"] == sp.IMU_ICM42688  # the default emulated chip
    assert a["busy"].result == sp.RESULT_BUSY and a["identify"].ok
    assert a["mount"].ok and a["mount"].payload == struct.pack("<hhhh", 16384, 0, 0, 0)
    assert a["calib"].ok and len(a["calib"].payload) == 6  # at rest: the bias, ×1024
    assert a["name"].ok
    assert sp.unpack_status(a["status2"].payload, sp.VERSION_MAX)[1] == "pelvis-left-sensor-1"
    assert a["unknown"].result == sp.RESULT_UNKNOWN_OPCODE
    assert a["link"].ok and a["link"].payload == b"\x00"
    assert a["bad_rate"].result == sp.RESULT_BAD_VALUE
    assert a["stop"].ok and a["rate"].ok and a["rate"].payload == struct.pack("<H", 200)
    assert a["start"].ok
    assert s.firmware["irq_errors"] == 0 and s.radio.write_acks_late == 0


def test_a_link_slower_than_the_stream_costs_samples_counted_at_the_device(tmp_path):
    # one 27-byte PDU per 30 ms connection event: ~3 DATA packets/s of the 18 at 200 Hz
    acc, gyr = walk(3.0)
    out = tmp_path / "slow.sacrum"
    s = run(record_over_radio(acc, gyr, RATE_HZ, out, mtu=247,
                              peripheral_options={"pdus_per_event": 1, "interval_s": 0.03}))
    loss = decode_capture(out).loss
    assert s.firmware["radio"]["enomem"] > 0  # the stack refused what it could not hold
    assert s.firmware["dropped"] > 0.5 * loss.packets_received
    # each one counted; the host learns of a drop from the next packet sent, so only the
    # last moment's (formed after the last one that got through, before STOP) are unseen
    unseen = s.firmware["dropped"] - loss.packets_dropped_by_device
    assert 0 <= unseen <= 5
    assert loss.packets_lost_in_transit == 0 and loss.corrupt_packets == 0
    assert loss.samples_lost == 11 * loss.packets_dropped_by_device
    assert s.firmware["irq_errors"] == 0


def test_sacrum_simulate_radio_bumble_writes_a_ble_capture(capsys, tmp_path):
    acc, gyr = walk(2.0, rate_hz=100)
    csv = tmp_path / "walk.csv"
    t = np.arange(len(acc)) / 100
    np.savetxt(csv, np.column_stack([t, acc, gyr]), delimiter=",", header="t,ax,ay,az,gx,gy,gz",
               comments="", fmt="%.5f")
    out = tmp_path / "w.sacrum"
    code, printed, _ = run_cli(capsys, "simulate", "--imu", csv, "--out", out, "--rate", "100",
                               "--radio", "bumble", "--mtu", "23")
    assert code == 0 and "real firmware on Bumble" in printed
    table = decode_capture(out)
    assert CaptureReader(out).header["transport"] == "ble"
    assert table.loss.samples_received >= 190 and table.rate_hz == pytest.approx(100, rel=0.01)
    # what the real stack cannot be asked for is one clear error line, exit 1
    for bad in (["--link", "serial"], ["--fault", "imu-reset@1"], ["--heap-locked"],
                ["--mtu", "10"]):
        run_cli(capsys, "simulate", "--imu", csv, "--out", tmp_path / "x.sacrum", "--radio",
                "bumble", *bad, ok_codes=())


def test_many_link_losses_mid_packet_or_not_leave_the_firmware_streaming(tmp_path):
    """Six losses at arbitrary moments of the stream. Whether one lands between the
    firmware's ``conn`` check and its ``gatts_notify`` is up to timing (mostly the loss
    reaches the firmware while it sleeps); tests/test_radio_module.py shows the stack's
    ENOTCONN on a handle just gone deterministically, and firmware/ble.py handles it as a
    refused notify (tests/firmware/device_check.py). Every reconnect resumes the stream."""
    acc, gyr = walk(11.0)
    out = tmp_path / "many.sacrum"
    losses = (1.0, 2.6, 4.1, 5.7, 7.2, 8.8)
    s = run(record_over_radio(acc, gyr, RATE_HZ, out, mtu=23, link_losses_s=losses))
    loss = decode_capture(out).loss
    assert s.record.reconnects == len(losses)
    assert s.firmware["irq_errors"] == 0 and not s.firmware["radio"]["irq_disabled"]
    assert s.firmware["fault_events"] == len(losses)  # FAULT_LINK_LOST each time
    assert loss.packets_dropped_by_device == s.firmware["dropped"]
    assert loss.packets_lost_in_transit <= len(losses) * (1 + 24 // 6)
    assert loss.samples_lost == 4 * (loss.packets_dropped_by_device
                                     + loss.packets_lost_in_transit)
    assert s.stop_result == sp.RESULT_OK


def test_a_firmware_that_dies_mid_run_is_an_error_that_says_why_not_a_hang(tmp_path):
    acc, gyr = walk(20.0)
    acc[400:] = np.inf  # the emulated IMU cannot convert it: MicroPython raises (a NaN
    # is a lost sample, which the emulated IMU does not deliver)
    with pytest.raises(FirmwareRadioError):  # within seconds, not the recording's 20 + 30
        run(asyncio.wait_for(record_over_radio(acc, gyr, RATE_HZ, tmp_path / "x.sacrum"), 12))
