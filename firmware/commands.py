"""COMMAND -> RESPONSE for every opcode of protocol/SPEC.md 2.2.

The handler validates with the shared codec and calls the device; it never
raises on bad input: every command gets exactly one response, with the result
code saying what was wrong.
"""

import struct

import sacrum_protocol as sp


class CommandHandler:
    """``handle(packet)`` returns the RESPONSE bytes, or None when the device
    answers later (CALIBRATE_GYRO answers when the calibration ends)."""

    def __init__(self, device):
        self.device = device
        self.version = sp.VERSION  # 1.0 until a HELLO negotiates (1.1 adds the health block)

    def handle(self, packet):
        token = packet[2] if len(packet) > 2 else 0
        opcode = packet[3] if len(packet) > 3 else 0
        try:
            _, token, opcode, args = sp.decode_command(packet)
            values = sp.check_args(opcode, args)
        except sp.ProtocolError as e:
            if e.result == sp.RESULT_UNSUPPORTED_VERSION:
                return sp.encode_response(token, opcode, e.result,
                                          bytes((0, sp.VERSION_MIN, sp.VERSION_MAX)))
            return sp.encode_response(token, opcode, e.result)
        try:
            result, payload = self._dispatch(token, opcode, values)
        except Exception as e:  # a device fault must not kill the command loop
            self.device.log_error("command 0x%02x failed: %r" % (opcode, e))
            result, payload = sp.RESULT_FAILED, b""
        if result is None:
            return None
        return sp.encode_response(token, opcode, result, payload if result == 0 else b"",
                                  self.version)

    def _dispatch(self, token, op, values):
        dev = self.device
        if op == sp.OP_HELLO:
            chosen = sp.negotiate_version(values[0], values[1])
            if chosen is None:
                return sp.RESULT_UNSUPPORTED_VERSION, b""
            self.version = chosen
            return sp.RESULT_OK, bytes((chosen, sp.VERSION_MIN, sp.VERSION_MAX))
        if op == sp.OP_START_STREAM:
            return dev.start_stream(), b""
        if op == sp.OP_STOP_STREAM:
            return dev.stop_stream(), b""
        if op == sp.OP_SET_RATE:
            result = dev.set_rate(values[0])
            return result, struct.pack("<H", values[0])
        if op == sp.OP_CALIBRATE_GYRO:
            ms = values[0] or sp.CALIBRATE_DEFAULT_MS
            return dev.calibrate_gyro(token, ms), b""  # None: answered when done
        if op == sp.OP_SET_MOUNTING:
            result, q = dev.set_mounting(values if values else None)
            return result, struct.pack("<hhhh", *q) if result == 0 else b""
        if op == sp.OP_IDENTIFY:
            return dev.identify(values[0] or sp.IDENTIFY_DEFAULT_S), b""
        if op == sp.OP_GET_STATUS:  # 1.1: with the health block (SPEC 2.2)
            status, name = dev.status()
            return sp.RESULT_OK, sp.pack_status(status, name, self.version)
        if op == sp.OP_SET_NAME:
            return dev.set_name(values[0]), b""
        if op == sp.OP_REBOOT:
            return dev.reboot(), b""
        if op == sp.OP_SET_LINK:
            return dev.set_link(values[0]), bytes((values[0],))
        if op == sp.OP_SECURITY:  # reaches here only from a bonded link (ble.py) when on
            return dev.set_security(values[0]), bytes((values[0],))
        return sp.RESULT_UNKNOWN_OPCODE, b""
