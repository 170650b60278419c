"""The real firmware on a real BLE stack (issue 15).

MicroPython's ``bluetooth`` module for the unix port (``firmware/sim/unix_bluetooth``)
relays the firmware's calls to a Bumble peripheral in this process
(:class:`RadioPeripheral`, on a controller with air time, :class:`AirtimeController`),
on Bumble's virtual link with the host's own ``BleTransport`` (bleak over the project's
Bumble backend) as the central. :class:`FirmwareOnRadio` starts and stops the firmware;
``docs/ble.md`` says what the module reproduces and what it does not.
"""

from sacrum.testing.radio.airtime import AirtimeController
from sacrum.testing.radio.firmware import FirmwareOnRadio, FirmwareRadioError
from sacrum.testing.radio.peripheral import SENSOR_ADDRESS, RadioPeripheral, RadioStats

__all__ = ["SENSOR_ADDRESS", "AirtimeController", "FirmwareOnRadio", "FirmwareRadioError",
           "RadioPeripheral", "RadioStats"]
