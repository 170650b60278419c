"""BLE GATT peripheral of protocol/SPEC.md section 3, on MicroPython's ``bluetooth``.

Thin radio glue: the link interface the app uses (``send_data``,
``send_response``, ``poll``, ``connected``, ``mtu``) over ``bluetooth.BLE``.
Tests and the simulator pass a fake BLE object at exactly this boundary.

Flow control: the ESP32's BLE stack refuses a notification (``OSError``,
ENOMEM) when its buffers are full. The packet is then dropped and counted by
the caller (the device's ``dropped`` counter goes out in every DATA packet);
nothing queues up in RAM, so a slow central costs samples, never memory.

The IRQ handler is guarded: MicroPython sets a BLE handler that lets an
exception escape to None for good (extmod/modbluetooth.c, ``invoke_irq_handler``:
"Uncaught exception, print it out ... disable the BLE IRQ handler"), which
would end all connects and commands until a reboot. So ``_irq`` catches
everything, counts it in ``irq_errors`` (the device reports it as a fault) and
does no radio calls that can fail except ``gatts_read``: advertising again
after a disconnect is left to ``poll()`` in the main loop, retried until it
works. ``conn`` is read once per notification: a disconnect IRQ may run
between any two bytecodes (the ESP32 port schedules BLE events), so a second
read could give None.

Data goes out only after the host asked for it on this connection: MicroPython
sends a notification whether or not the central subscribed (docs: "regardless
of the subscription status"), and a reconnecting host subscribes to data only
before its START_STREAM (SPEC 3), so what the firmware sent in between was
discarded by the central's stack yet counted as sent (found on a real stack:
sacrum.testing.radio). Until a START_STREAM arrives on the new connection the
link refuses DATA, and the device counts those packets as dropped.

Segmentation (MTU below 239: a DATA packet does not fit one notification)
writes each SEGMENT into one buffer allocated at start-up and notifies a
memoryview of it cached per length, so the sample path allocates nothing at
any MTU (the views a DATA packet needs are made when the MTU is known).

Security (``security``: a ``security.Security``, issue 15 item 3): the stack
is set to LE Secure Connections with bonding, Just Works (``io`` 3: the board
has no display or keyboard); the handler answers ``_IRQ_GET_SECRET`` and
``_IRQ_SET_SECRET`` from the firmware's bond store. With security enabled the
control characteristic is ``_FLAG_WRITE_ENCRYPTED`` (a plain link's write is
refused by the stack with an ATT error and never reaches the firmware), a
connection is trusted only after ``_IRQ_ENCRYPTION_UPDATE`` says encrypted,
bonded, 16-byte key, and until then every command that does arrive (an
encrypted link whose keys the store refused: paired outside the window) is
answered ``NOT_BONDED`` and counted, and no DATA goes out to it.
"""

import struct

import sacrum_protocol as sp
from micropython import const

try:
    import bluetooth
except ImportError:  # the unix port in tests: the fake is injected
    bluetooth = None

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)
_FLAG_WRITE_ENCRYPTED = const(0x1000)
_IO_NO_INPUT_OUTPUT = const(3)

_FLAG_READ = const(0x0002)
_FLAG_WRITE_NO_RESPONSE = const(0x0004)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)

_ADV_TYPE_FLAGS = const(0x01)
_ADV_TYPE_NAME = const(0x09)
_ADV_TYPE_UUID128_COMPLETE = const(0x07)
_ADV_TYPE_UUID16_COMPLETE = const(0x03)
_ADV_INTERVAL_US = const(100_000)
_PREFERRED_MTU = const(247)
_CONTROL_BUFFER = const(64)


def _uuid128_le(uuid_str):
    """Advertising carries 128-bit UUIDs little-endian."""
    h = uuid_str.replace("-", "")
    return bytes(int(h[i:i + 2], 16) for i in range(30, -1, -2))


def advertising_payload(name):
    """(adv_data, scan_response): flags + service UUID; name + Battery service."""
    uuid = _uuid128_le(sp.SERVICE_UUID)
    adv = bytes((2, _ADV_TYPE_FLAGS, 0x06, len(uuid) + 1, _ADV_TYPE_UUID128_COMPLETE)) + uuid
    raw = name.encode()[:sp.NAME_MAX_BYTES]
    resp = bytes((len(raw) + 1, _ADV_TYPE_NAME)) + raw
    resp += bytes((3, _ADV_TYPE_UUID16_COMPLETE)) + struct.pack("<H", sp.BATTERY_SERVICE_UUID16)
    return adv, resp


class BleLink:
    serial = False

    def __init__(self, ble, name, model="ESP32 + MPU-6050", firmware="1.0.0", uuid=None,
                 security=None):
        uuid = uuid or bluetooth.UUID
        self.security = security
        self.secure = security is not None and security.enabled  # fixed at boot (GATT flags)
        self.trusted = False  # this connection is encrypted and bonded
        self.ble = ble
        self.name = name
        self.conn = None
        self.mtu = sp.MIN_MTU
        self.notify_failures = 0
        self.escape = False  # only the serial link has a REPL escape
        self.irq_errors = 0  # exceptions caught in the IRQ handler
        self.disconnects = 0
        self.battery_pct = -1
        self._adv_due = True
        self._host_ready = False  # a START_STREAM came on this connection (DATA allowed)
        self._cmds = []
        self._out = []  # reused by poll()
        self._reasm = sp.Reassembler()
        self._tag = 0
        self._seg = bytearray(_PREFERRED_MTU - sp.ATT_OVERHEAD)
        self._seg_mv = memoryview(self._seg)
        self._seg_views = {}  # length -> memoryview of _seg
        ble.active(True)
        ble.config(mtu=_PREFERRED_MTU)
        ble.config(gap_name=name)  # else the GAP name stays "MPY ESP32" until a rename
        ble.irq(self._irq)
        if security is not None:  # keys kept, whether or not commands need them now
            ble.config(bond=True, le_secure=True, mitm=False, io=_IO_NO_INPUT_OUTPUT)
        control = _FLAG_WRITE | _FLAG_WRITE_NO_RESPONSE
        if self.secure:
            control |= _FLAG_WRITE_ENCRYPTED
        service = (uuid(sp.SERVICE_UUID), (
            (uuid(sp.DATA_CHAR_UUID), _FLAG_NOTIFY),
            (uuid(sp.CONTROL_CHAR_UUID), control),
            (uuid(sp.RESPONSE_CHAR_UUID), _FLAG_NOTIFY),
        ))
        dis = (uuid(sp.DEVICE_INFO_SERVICE_UUID16), (
            (uuid(0x2A29), _FLAG_READ), (uuid(0x2A24), _FLAG_READ), (uuid(0x2A26), _FLAG_READ),
        ))
        bas = (uuid(sp.BATTERY_SERVICE_UUID16), ((uuid(0x2A19), _FLAG_READ | _FLAG_NOTIFY),))
        ((self.h_data, self.h_control, self.h_response), (h_mfr, h_model, h_fw),
         (self.h_battery,)) = ble.gatts_register_services((service, dis, bas))
        ble.gatts_set_buffer(self.h_control, _CONTROL_BUFFER)
        ble.gatts_write(h_mfr, b"sacrum")
        ble.gatts_write(h_model, model.encode())
        ble.gatts_write(h_fw, firmware.encode())
        ble.gatts_write(self.h_battery, b"\x00")  # until the first ADC reading
        self.advertise()

    @property
    def connected(self):
        return self.conn is not None

    def advertise(self):
        """Start advertising; False (retried by ``poll``) if the stack refuses."""
        adv, resp = advertising_payload(self.name)
        try:
            self.ble.gap_advertise(_ADV_INTERVAL_US, adv_data=adv, resp_data=resp)
        except OSError:
            self._adv_due = True
            return False
        self._adv_due = False
        return True

    def set_name(self, name):
        self.name = name
        self.ble.config(gap_name=name)
        if self.conn is None:
            self.advertise()

    def set_battery(self, percent):
        """Battery Level (0x2A19), 0-100 %; notified to a subscribed central on change."""
        percent = max(0, min(percent, 100))
        if percent == self.battery_pct:
            return
        self.battery_pct = percent
        try:
            self.ble.gatts_write(self.h_battery, bytes((percent,)), True)
        except OSError:
            self.battery_pct = -1  # try again with the next reading

    def _irq(self, event, data):
        try:
            return self._on_event(event, data)
        except Exception:  # escaping would disable the handler for good
            self.irq_errors += 1
            return None

    def _on_event(self, event, data):
        if event == _IRQ_CENTRAL_CONNECT:
            conn = data[0]
            self.conn = conn
            self.mtu = sp.MIN_MTU
            self._host_ready = False
            self.trusted = False
            try:  # ask for the larger MTU ourselves: some centrals never do
                self.ble.gattc_exchange_mtu(conn)
            except OSError:
                pass  # the central's MTU stays; packets are sized to it
        elif event == _IRQ_CENTRAL_DISCONNECT:
            self.conn = None
            self.mtu = sp.MIN_MTU
            self._host_ready = False
            self.trusted = False
            self.disconnects += 1
            self._reasm.reset()
            self._adv_due = True  # advertised again from poll(): a host can reconnect
        elif event == _IRQ_GATTS_WRITE:
            conn, handle = data[0], data[1]
            if handle == self.h_control and conn == self.conn:
                self._cmds.append(bytes(self.ble.gatts_read(self.h_control)))
        elif event == _IRQ_MTU_EXCHANGED:
            self.mtu = data[1]
            self._prepare_segments(data[1])
        elif event == _IRQ_ENCRYPTION_UPDATE:
            conn, encrypted, _, bonded, key_size = data
            if conn == self.conn:
                self.trusted = bool(encrypted and bonded and key_size >= 16)
        elif event == _IRQ_GET_SECRET and self.security is not None:
            return self.security.get_secret(data[0], data[1], data[2])
        elif event == _IRQ_SET_SECRET and self.security is not None:
            return self.security.set_secret(data[0], data[1], data[2])
        return None

    def may_command(self):
        """Whether commands (and DATA) are for this connection."""
        return self.trusted or not self.secure

    def _refuse(self, packet):
        """A command from a link that is not bonded and encrypted: NOT_BONDED, counted."""
        self.security.refused_commands += 1
        token = packet[2] if len(packet) > 2 else 0
        opcode = packet[3] if len(packet) > 3 else 0
        self._notify(self.h_response, sp.encode_response(token, opcode, sp.RESULT_NOT_BONDED))

    def _view(self, length):
        v = self._seg_views.get(length)
        if v is None:
            v = self._seg_views[length] = self._seg_mv[:length]
        return v

    def _prepare_segments(self, mtu):
        """Make the segment views a full DATA packet needs at this MTU."""
        size = mtu - sp.ATT_OVERHEAD - sp.SEGMENT_HEADER_SIZE
        if size <= 0 or mtu - sp.ATT_OVERHEAD >= len(self._seg):
            return
        total = sp.data_packet_size(sp.samples_per_packet(mtu))
        self._view(size + sp.SEGMENT_HEADER_SIZE)
        self._view((total - 1) % size + 1 + sp.SEGMENT_HEADER_SIZE)

    def poll(self):
        """Commands written since the last poll (segments reassembled); advertises
        again if a disconnect (or a refused attempt) left the device silent."""
        if self._adv_due and self.conn is None:
            self.advertise()
        out = self._out
        del out[:]
        while self._cmds:
            value = self._cmds.pop(0)
            try:
                packet = self._reasm.push(value)
            except sp.ProtocolError:
                packet = value  # the command handler answers BAD_PACKET
            if packet is not None and not self.may_command():
                self._refuse(packet)
                continue
            if packet is not None:
                if len(packet) > 3 and packet[0] == sp.PTYPE_COMMAND \
                        and packet[3] == sp.OP_START_STREAM:
                    self._host_ready = True  # SPEC 3: subscribed to data before this
                out.append(packet)
        return out

    def _notify(self, handle, value):
        conn = self.conn  # once: a disconnect IRQ may set it to None at any time
        if conn is None:
            return False
        mtu = self.mtu
        if len(value) <= mtu - sp.ATT_OVERHEAD:
            try:
                self.ble.gatts_notify(conn, handle, value)
                return True
            except OSError:
                self.notify_failures += 1
                return False
        size = mtu - sp.ATT_OVERHEAD - sp.SEGMENT_HEADER_SIZE
        total = len(value)
        count = (total + size - 1) // size if size > 0 else 0
        if not 0 < count <= sp.MAX_SEGMENTS or mtu - sp.ATT_OVERHEAD > len(self._seg):
            self.notify_failures += 1
            return False
        seg = self._seg
        seg[0] = sp.PTYPE_SEGMENT
        seg[1] = sp.VERSION
        seg[2] = self._tag
        self._tag = (self._tag + 1) & 0xFF
        start = 0
        for i in range(count):
            end = start + size
            if end > total:
                end = total
            seg[3] = (i << 4) | (count - 1)
            j = sp.SEGMENT_HEADER_SIZE
            for k in range(start, end):
                seg[j] = value[k]
                j += 1
            start = end
            try:
                self.ble.gatts_notify(conn, handle, self._view(j))
            except OSError:
                self.notify_failures += 1
                return False
        return True

    def send_data(self, packet):
        if not self._host_ready or not (self.trusted or not self.secure):
            return False  # not asked for on this connection (or not bonded): dropped, counted
        return self._notify(self.h_data, packet)

    def send_response(self, packet):
        return self._notify(self.h_response, packet)
