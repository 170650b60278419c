"""The real firmware, under MicroPython, on a Bumble peripheral: start it, stop it, read it.

:class:`FirmwareOnRadio` writes the recording in the simulator's input format, starts
``firmware/sim/radio_run.py`` under the unix MicroPython port with
``firmware/sim/unix_bluetooth`` first on MICROPYPATH (its ``bluetooth`` module relays to a
:class:`~sacrum.testing.radio.peripheral.RadioPeripheral` listening on localhost), and
follows its stdout: ``ready`` (the firmware built its GATT server and advertises),
``done N`` (the recording has played since streaming began), ``stats {...}`` (the
device's counters when the radio closed). Everything belongs to the running event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from sacrum import resources
from sacrum.testing.radio.peripheral import RadioPeripheral

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 20.0


class FirmwareRadioError(RuntimeError):
    """The firmware under MicroPython could not be started or ended badly (says why)."""


def micropython_binary() -> str:
    """The unix-port ``micropython`` ``sacrum simulate`` uses (its search, its message)."""
    from sacrum.testing.simulate import SimulationError
    from sacrum.testing.simulate import micropython_binary as find

    try:
        return find()
    except SimulationError as e:
        raise FirmwareRadioError(str(e)) from None


class FirmwareOnRadio:
    """The firmware streaming a recording over a real BLE stack.

    peripheral: the :class:`RadioPeripheral` it drives (on the central's ``LocalLink``);
    acc_mps2, gyr_radps: the recording at ``rate_hz`` (sensor frame, SI); name: the
    device name the firmware advertises; bonds: the firmware's bond file (security on, as
    on a new board; kept across runs: a restart with the same file is a reboot), None for
    no security; imu_chip: the emulated IMU the firmware finds by its WHO_AM_I
    (``sacrum.testing.simulate.IMU_CHIPS``).
    """

    def __init__(self, peripheral: RadioPeripheral, acc_mps2: np.ndarray,
                 gyr_radps: np.ndarray, rate_hz: int, name: str = "sacrum-sim",
                 bonds: Path | None = None, imu_chip: str = "icm42688") -> None:
        self.peripheral = peripheral
        self.imu_chip = imu_chip
        self.bonds = bonds
        self.samples = np.hstack([acc_mps2, gyr_radps]).astype("<f4")
        self.rate_hz = rate_hz
        self.name = name
        self.lines: list[str] = []
        self.stats: dict[str, Any] = {}
        self.returncode: int | None = None
        self.ready = asyncio.Event()
        self.done = asyncio.Event()
        self.samples_streamed: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr = b""

    async def start(self) -> None:
        port = await self.peripheral.listen()
        self._tmp = tempfile.TemporaryDirectory(prefix="sacrum-radio-")
        tmp = Path(self._tmp.name)
        with open(tmp / "imu.bin", "wb") as f:
            f.write(struct.pack("<4sII", b"SIMI", self.samples.shape[0], self.rate_hz))
            f.write(self.samples.tobytes())
        # the codec beside the samples: in a wheel its folder is site-packages
        shutil.copy(resources.protocol_file(), tmp)
        fw = resources.firmware_dir()
        env = dict(os.environ, SACRUM_RADIO_PORT=str(port), MICROPYPATH=os.pathsep.join(
            [str(fw / "sim" / "unix_bluetooth"), str(fw / "sim"), str(fw), str(tmp)]))
        extra = ([] if self.bonds is None else [str(self.bonds)]) + ["--imu-chip", self.imu_chip]
        env["SACRUM_BOOT_FILE"] = str(tmp / "boot.pressed")
        self._proc = await asyncio.create_subprocess_exec(
            micropython_binary(), str(fw / "sim" / "radio_run.py"), str(tmp / "imu.bin"),
            str(self.rate_hz), self.name, *extra, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        self._reader = asyncio.get_running_loop().create_task(self._follow())
        ready = asyncio.get_running_loop().create_task(self.ready.wait())
        await asyncio.wait([ready, self._reader], timeout=_START_TIMEOUT_S,
                           return_when=asyncio.FIRST_COMPLETED)
        if not self.ready.is_set():
            ready.cancel()
            await self.stop()
            raise FirmwareRadioError(f"the firmware did not start on the radio: {self.error()}")
        for _ in range(200):  # BleLink advertises at the end of its constructor
            if self.peripheral.advertising:
                break
            await asyncio.sleep(0.01)

    async def _follow(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for raw in self._proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            if line == "ready":
                self.ready.set()
            elif line.startswith("done "):
                self.samples_streamed = int(line[5:])
                self.done.set()
            elif line.startswith("stats "):
                self.stats = json.loads(line[6:])
            else:
                log.info("firmware: %s", line)
        if self._proc.stderr is not None:
            self._stderr = await self._proc.stderr.read()
        self.returncode = await self._proc.wait()

    async def press_boot(self, seconds: float) -> None:
        """Hold the emulated board's BOOT button (3 s: pairing window; 10 s: forget bonds)."""
        assert self._tmp is not None, "start() first"
        pressed = Path(self._tmp.name) / "boot.pressed"
        pressed.touch()
        try:
            await asyncio.sleep(seconds)
        finally:
            pressed.unlink(missing_ok=True)

    @property
    def ended(self) -> asyncio.Task[None]:
        """Done when the MicroPython process has exited (its output read)."""
        assert self._reader is not None, "start() first"
        return self._reader

    def error(self) -> str:
        """The firmware's last words: MicroPython prints an uncaught exception to stdout."""
        text = (self._stderr.decode("utf-8", "replace").strip()
                or "\n".join(x for x in self.lines if x.strip()))
        return text[-2000:] or f"exit status {self.returncode}, no output"

    @property
    def irq_exceptions(self) -> list[str]:
        """'Unhandled exception in IRQ callback handler' reports the module printed."""
        return [x for x in self.lines if x.startswith("Unhandled exception in IRQ")]

    async def stop(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """Close the radio (the firmware's run ends), wait for its stats."""
        await self.peripheral.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._reader), timeout_s)
            except TimeoutError:
                if self._proc is not None and self._proc.returncode is None:
                    self._proc.kill()
                with contextlib.suppress(Exception):
                    await self._reader
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if self.returncode not in (0, None) or (self._reader is not None and not self.stats):
            raise FirmwareRadioError(f"the firmware ended badly: {self.error()}")
        return self.stats
