"""Bad bytes over the air, to the real firmware through the real stack (issue 15 item 5).

Hypothesis writes generated values to every characteristic the firmware serves, through
bleak, the two Bumble stacks and the MicroPython ``bluetooth`` module, while the
firmware streams to the host. Specification: no crash, no reboot, no handler error;
every malformed COMMAND on the control characteristic is answered with exactly the
result code the protocol gives it (computed here by the shared codec from the bytes the
stack delivered, i.e. truncated to the firmware's 64-byte control buffer); writes to
characteristics without the write property are refused by the stack; and the stream
goes on without a lost sample. CCCDs are left out: they belong to the host's own stack,
and unsubscribing oneself is not a firmware fault. Values starting with 0x04 (a SEGMENT)
are left out too: a valid first segment waits for the rest by design
(tests/test_ble_virtual.py covers segmented writes).

Bounded: one session of at most ~40 s of real time.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from bleak.exc import BleakError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sacrum_protocol as sp
from sacrum.io.decode import decode_capture
from sacrum.testing.radio.session import record_over_radio

# paced in wall-clock time (a real-time link or pacing): run alone, not beside another worker
pytestmark = pytest.mark.realtime

RATE_HZ = 200
_CONTROL_BUFFER = 64  # firmware/ble.py's gatts_set_buffer for the control characteristic
_OPCODES_THAT_CHANGE_THE_SESSION = (sp.OP_HELLO, sp.OP_STOP_STREAM, sp.OP_REBOOT, sp.OP_SET_LINK,
                                    sp.OP_SET_NAME, sp.OP_CALIBRATE_GYRO, sp.OP_SET_RATE,
                                    sp.OP_SET_MOUNTING, sp.OP_START_STREAM)


def expected_result(value: bytes) -> int | None:
    """The RESULT the firmware must answer ``value`` with; None if it is a valid command."""
    value = value[:_CONTROL_BUFFER]
    try:
        _, _, opcode, args = sp.decode_command(value)
        sp.check_args(opcode, args)
    except sp.ProtocolError as e:
        return e.result
    return None


class Air:
    """The session, in a thread with its own event loop; the test thread hands it writes."""

    def __init__(self, out) -> None:
        self.out = out
        self.ready = threading.Event()
        self.responses: list[bytes] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.session = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        t = np.arange(40 * RATE_HZ) / RATE_HZ
        acc = np.column_stack([np.sin(t), 0.5 * np.cos(t), 9.81 + 0.3 * np.sin(3 * t)])
        gyr = np.column_stack([0.2 * np.sin(2 * t), 0.1 * np.cos(t), 0.05 * np.sin(t)])
        try:
            self.session = asyncio.run(record_over_radio(acc, gyr, RATE_HZ, self.out, mtu=247,
                                                         during=self._during))
        except BaseException as e:  # handed to the test thread
            self.error = e
            self.ready.set()

    async def _during(self, tr, peripheral, firmware) -> None:
        self.loop = asyncio.get_running_loop()
        self.tr, self.peripheral, self.firmware = tr, peripheral, firmware
        self.finish = asyncio.Event()
        response = tr.client.services.get_characteristic(sp.RESPONSE_CHAR_UUID)
        # a second subscriber beside the transport's: every RESPONSE, raw
        await response.obj.subscribe(lambda v: self.responses.append(bytes(v)))
        chars = []
        for service in tr.client.services:
            for ch in service.characteristics:
                chars.append(ch)
        self.chars = chars
        self.status_before = await tr.command(sp.OP_GET_STATUS)
        self.ready.set()
        await self.finish.wait()
        self.status_after = await tr.command(sp.OP_GET_STATUS)

    async def _write(self, uuid: str, value: bytes) -> tuple[str, list[bytes]]:
        before = len(self.responses)
        try:
            await self.tr.client.write_gatt_char(uuid, value, response=True)
        except BleakError as e:  # ATT errors arrive as BleakError, as from every backend
            return f"refused: {type(e).__name__}", []
        for _ in range(100 if uuid == sp.CONTROL_CHAR_UUID else 10):
            if len(self.responses) > before:  # within a main-loop step or two
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)  # and only one
        return "written", self.responses[before:]

    def write(self, uuid: str, value: bytes):
        return asyncio.run_coroutine_threadsafe(self._write(uuid, value), self.loop).result(10)

    def end(self):
        self.loop.call_soon_threadsafe(self.finish.set)
        self.thread.join(60)


@pytest.fixture(scope="module")
def air(tmp_path_factory):
    a = Air(tmp_path_factory.mktemp("fuzz") / "fuzz.sacrum")
    a.thread.start()
    assert a.ready.wait(60), "the session did not start"
    if a.error is not None:
        raise a.error
    yield a
    if a.thread.is_alive():
        a.end()


commands = st.builds(
    lambda ver, token, op, args: bytes((sp.PTYPE_COMMAND, ver, token, op)) + args,
    st.sampled_from([0x10, 0x11, 0x1F, 0x20, 0x00, 0xFF]), st.integers(0, 255),
    st.integers(0, 255), st.binary(max_size=70))
raw = st.binary(min_size=0, max_size=90).filter(lambda v: not v.startswith(b"\x04"))
control_values = st.one_of(commands, raw).filter(lambda v: expected_result(v) is not None
                                                 or v[3] not in _OPCODES_THAT_CHANGE_THE_SESSION)


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=control_values)
def test_every_malformed_command_is_answered_with_its_result_code(air, value):
    how, answers = air.write(sp.CONTROL_CHAR_UUID, value)
    assert how == "written"
    assert len(answers) >= 1
    packet = sp.Reassembler().push(answers[0]) if answers[0][0] != sp.PTYPE_SEGMENT else None
    if packet is None:  # a long answer (GET_STATUS) in SEGMENTs: reassemble them
        r = sp.Reassembler()
        for a in answers:
            packet = r.push(a) or packet
    _, token, opcode, result, _ = sp.decode_response(packet)
    want = expected_result(value)
    if want is None:
        assert result == sp.RESULT_OK  # a valid command (GET_STATUS, IDENTIFY)
    else:
        assert result == want
        short = value[:_CONTROL_BUFFER]
        assert token == (short[2] if len(short) > 2 else 0)
        assert opcode == (short[3] if len(short) > 3 else 0)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(index=st.integers(0, 63), value=st.binary(max_size=40))
def test_writes_to_the_other_characteristics_are_refused_or_harmless(air, index, value):
    chars = [c for c in air.chars if c.uuid != sp.CONTROL_CHAR_UUID]
    ch = chars[index % len(chars)]
    how, answers = air.write(ch.uuid, value)
    if not ({"write", "write-without-response"} & set(ch.properties)):
        assert how.startswith("refused")  # the stack: ATT Write Not Permitted
    assert answers == []  # nothing the firmware answers


def _bad_command_vectors() -> list[dict]:
    path = Path(__file__).parents[1] / "protocol" / "vectors" / "commands.json"
    return [v for v in json.loads(path.read_text()) if v["result"] != "OK"]


@pytest.mark.parametrize("vector", _bad_command_vectors(), ids=lambda v: v["name"])
def test_the_firmware_answers_the_golden_bad_commands_over_the_air(air, vector):
    """The same vectors the emulator is checked against (tests/test_ble_virtual.py)."""
    command = bytes.fromhex(vector["hex"])
    how, answers = air.write(sp.CONTROL_CHAR_UUID, command)
    assert how == "written" and len(answers) == 1
    _, token, opcode, result, _ = sp.decode_response(answers[0])
    assert sp.RESULT_NAMES[result] == vector["result"]
    assert (token, opcode) == (command[2] if len(command) > 2 else 0,
                               command[3] if len(command) > 3 else 0)


def test_the_stream_went_on_untouched(air):
    air.end()
    assert air.error is None, air.error
    s = air.session
    loss = decode_capture(air.out).loss
    assert loss.samples_received > 0
    # nothing lost on the way and nothing corrupted; the only gaps allowed are packets the
    # device could not hand to a congested stack (ENOMEM, when this machine's load starves
    # the Bumble side), each counted by the device itself
    assert loss.packets_lost_in_transit == 0 and loss.incomplete_segments == 0
    assert loss.packets_dropped_by_device == s.firmware["dropped"]
    assert s.firmware["dropped"] <= s.firmware["radio"]["enomem"]
    assert loss.corrupt_packets == 0 and loss.device_restarts == 0
    assert s.firmware["irq_errors"] == 0 and s.firmware["fault"] == 0
    assert not s.firmware["radio"]["irq_disabled"]
    assert s.firmware["watchdog_resets"] == 0
    before = sp.unpack_status(air.status_before.payload, sp.VERSION_MAX)[0]
    after = sp.unpack_status(air.status_after.payload, sp.VERSION_MAX)[0]
    uptime = sp.STATUS_FIELDS.index("uptime_s")
    streaming = sp.STATUS_FIELDS.index("streaming")
    assert after[uptime] >= before[uptime] and after[streaming] == 1  # no reboot, streaming
    assert s.radio.writes_refused > 0
