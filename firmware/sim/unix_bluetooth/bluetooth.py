"""MicroPython's ``bluetooth`` module for the unix port, on a real BLE stack.

The unix port has no radio. This module has the ``bluetooth.BLE`` API the
firmware uses, with the semantics MicroPython documents (docs/library/
bluetooth.rst) and implements (extmod/modbluetooth.c, extmod/nimble/
modbluetooth_nimble.c), and relays the calls over a TCP socket on localhost
to a CPython process that runs a Bumble peripheral on Bumble's virtual link
(``sacrum.testing.radio``). So the firmware's own ``ble.py`` meets a real
host stack (ATT, GATT, L2CAP, HCI flow control) and a real central (bleak).

Put its folder first on MICROPYPATH and set ``SACRUM_RADIO_PORT`` to the
port the CPython side listens on (``sacrum.testing.radio`` does both).

What is reproduced, as the ESP32 port (NimBLE, synchronous events) does it:

- ``BLE()`` is a singleton; every method but ``active`` and ``irq`` raises
  OSError(ENODEV) until ``active(True)``.
- IRQ codes and data tuples: ``_IRQ_CENTRAL_CONNECT``/``DISCONNECT``
  ``(conn_handle, addr_type, addr)`` with ``addr`` a memoryview of a buffer
  the module reuses (copy it to keep it, as the docs say),
  ``_IRQ_GATTS_WRITE`` ``(conn_handle, attr_handle)``, ``_IRQ_MTU_EXCHANGED``
  ``(conn_handle, mtu)``. An exception escaping the handler is printed
  ("Unhandled exception in IRQ callback handler") and the handler is set to
  None for good, as ``invoke_irq_handler`` does.
- Events run the way the port runs them: a reader thread notices the socket
  and ``micropython.schedule``s the pump, so a handler runs between any two
  bytecodes of the main program (and during ``time.sleep_ms``); the pump also
  runs at every call into this module. Handlers never nest. The stack learns
  of a connect or disconnect when the message arrives, before the handler
  runs, so ``gatts_notify`` on a handle that just went away raises
  OSError(ENOTCONN) even though the app has not heard of it yet.
- ``gatts_register_services`` returns the value handles of the characteristics
  and their descriptors in registration order (the handles Bumble assigned;
  CCCDs are added by the stack and not returned); OSError(EBUSY) while a
  central is connected (NimBLE's ``ble_gatts_reset``).
- The attribute database lives here, as in MicroPython: ``gatts_write`` and
  ``gatts_read`` are local; a central's write is stored truncated to the
  ``gatts_set_buffer`` size (20 bytes by default), appended in append mode
  (and a read empties it then), just before the IRQ runs.
- ``config(mtu=)`` sets the MTU this side offers (23-517, else EINVAL; 256
  until set, ESP-IDF's default);
  ``gattc_exchange_mtu`` starts an exchange; ``_IRQ_MTU_EXCHANGED`` follows
  either side's exchange.
- ``gap_advertise``: legacy payloads of at most 31 bytes (else
  OSError(EINVAL)); ``adv_data``/``resp_data`` None reuse the previous ones;
  ``interval_us`` None stops advertising.
- ``gatts_notify`` sends whether or not the central subscribed (as the docs
  say); the value is truncated to MTU - 3 by the peer side. Notifications
  take the stack's transmit buffers (ACL fragments); when the controller has
  not sent enough of them the call raises OSError(ENOMEM), as NimBLE does
  when its mbufs run out. ``gatts_write(..., send_update=True)`` notifies
  a subscribed central.
- Security, the stack's part: ``config(bond=, mitm=, io=, le_secure=)``,
  ``gap_pair``, ``_IRQ_ENCRYPTION_UPDATE`` ``(conn_handle, encrypted,
  authenticated, bonded, key_size)``; ``_FLAG_*_ENCRYPTED``/``_AUTHENTICATED``
  attributes are refused on a link without it.
- Key storage, as MicroPython documents it: the stack keeps no keys of its own
  and asks the handler. ``_IRQ_SET_SECRET`` ``(sec_type, key, value)`` (value
  None: delete) must return True once stored; ``_IRQ_GET_SECRET``
  ``(sec_type, index, key)`` returns the value for ``key``, or with ``key``
  None the ``index``-th value of that type, or None. Keys and values are
  memoryviews of buffers the module reuses (copy them to keep them). These
  run at once, even while a call into the stack waits (the stack needs the
  answer to go on), and a handler that returns anything but True to a set
  leaves the peer without a bond. One record per peer, sec_type 2: the key is
  the peer's address as Bumble names it, the value a JSON object of the
  pairing keys (an opaque blob to the program, as NimBLE's are).
  Not relayed: passkeys, indications, the central role, L2CAP channels.
"""

import _thread
import binascii
import json
import os
import select
import socket
import struct
import sys

import micropython
from micropython import const

_ENOMEM = const(12)
_EBUSY = const(16)
_ENODEV = const(19)
_EINVAL = const(22)
_ENOTCONN = const(107)

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)

FLAG_BROADCAST = const(0x0001)
FLAG_READ = const(0x0002)
FLAG_WRITE_NO_RESPONSE = const(0x0004)
FLAG_WRITE = const(0x0008)
FLAG_NOTIFY = const(0x0010)
FLAG_INDICATE = const(0x0020)

_DEFAULT_BUFFER = const(20)  # MP_BLUETOOTH_DEFAULT_ATTR_LEN
_ADV_MAX = const(31)  # legacy advertising and scan response payloads
_L2CAP_ATT_HEADER = const(7)  # L2CAP (4) + ATT notification (3)

# socket messages: u8 kind, u16 length (little endian), payload
_K_CALL = const(0x43)  # 'C': json [method, args...]; answered by 'R'
_K_REPLY = const(0x52)  # 'R': json [errno, result]
_K_NOTIFY = const(0x4E)  # 'N': u16 conn, u16 handle, value
_K_VALUE = const(0x56)  # 'V': u16 handle, u8 send_update, value (gatts_write)
_K_EXCHANGE = const(0x4D)  # 'M': u16 conn (gattc_exchange_mtu)
_K_ACK = const(0x41)  # 'A': u16 conn, u16 handle: the write's IRQ has run
_K_EVENT = const(0x45)  # 'E': u8 event, then its fields
_K_FLOW = const(0x46)  # 'F': u16 conn, u16 fragments the controller sent
_K_SECRET = const(0x53)  # 'S': json [id, "get", type, index, key|None] or [id, "set", type,
#                           key, value|None] (hex); answered by 's' json [id, hex|bool|None]
_K_SECRET_REPLY = const(0x73)


class UUID:
    """bluetooth.UUID: a 16-bit int, or a 128-bit str / 16 bytes (little endian)."""

    def __init__(self, value):
        if isinstance(value, UUID):
            value = value._v
        if isinstance(value, int):
            if not 0 <= value <= 0xFFFF:
                raise ValueError("invalid UUID")
        elif isinstance(value, (bytes, bytearray)):
            if len(value) == 2:
                value = value[0] | value[1] << 8
            elif len(value) == 16:
                h = binascii.hexlify(bytes(reversed(value))).decode()
                value = "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])
            else:
                raise ValueError("invalid UUID")
        else:
            value = str(value).lower()
            if len(value.replace("-", "")) != 32:
                raise ValueError("invalid UUID")
        self._v = value

    def __eq__(self, other):
        return isinstance(other, UUID) and other._v == self._v

    def __hash__(self):
        return hash(self._v)

    def __str__(self):
        return "UUID(%s)" % (("0x%04x" % self._v) if isinstance(self._v, int) else
                             "'%s'" % self._v)

    __repr__ = __str__


def _stack_call(method):
    """A call into the stack: pending events are handled first (the handler may run
    between the caller's bytecodes, up to the call), none while it runs (a C call of the
    real module holds the GIL). OSError(ENODEV) until ``active(True)``."""

    def call(self, *args, **kw):
        if not self._active:
            raise OSError(_ENODEV)
        self._pump()
        self._busy += 1
        try:
            return method(self, *args, **kw)
        finally:
            self._busy -= 1
            self._kick()

    return call


def _hex(data):
    return binascii.hexlify(bytes(data)).decode()


class _Attr:
    __slots__ = ("append", "size", "value")

    def __init__(self):
        self.value = b""
        self.size = _DEFAULT_BUFFER
        self.append = False


class BLE:
    _instance = None

    def __new__(cls):
        if BLE._instance is None:
            BLE._instance = object.__new__(cls)
            BLE._instance._setup()
        return BLE._instance

    def __init__(self):
        pass

    # -- the socket to the Bumble side --------------------------------------------------
    def _setup(self):
        port = int(os.getenv("SACRUM_RADIO_PORT") or 0)
        if not port:
            raise OSError(_ENODEV)  # no radio: the CPython side did not start us
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
        self._sock.setblocking(False)
        self._poll = select.poll()
        self._poll.register(self._sock, select.POLLIN)
        self._rx = b""
        self._events = []  # (event, fields) waiting for the handler
        self._handler = None
        self._active = False
        self._in_irq = False
        self._in_call = False
        self._busy = 0  # inside a call into the stack (no handler runs then)
        self._pumping = False
        self._reading = False
        self._scheduled = [0]  # 1 while a pump is scheduled (the reader thread waits)
        self._reply = None
        # conn handle -> [addr_type, addr, fragments the stack holds, of ours it has seen]
        self._conns = {}
        self._sent = 0  # fragments of our notifications, sent to the stack since start
        self._db = {}  # value handle -> _Attr
        self._mtu = 256  # ESP-IDF's CONFIG_BT_NIMBLE_ATT_PREFERRED_MTU default
        self._gap_name = "MPY ESP32"
        self._adv = b""
        self._resp = b""
        self._fragment = 27  # ACL payload per fragment (the controller's, from the peer side)
        self._tx_buffers = 24  # fragments the stack holds before ENOMEM (from the peer side)
        self._addr = bytearray(6)
        self._addr_mv = memoryview(self._addr)
        self._pump_ref = self._pump_scheduled  # one bound method, allocated once
        self.closed = False  # the Bumble side closed the radio (the run is over)
        self.irq_disabled = False  # set when a handler let an exception escape
        self.stats = {"notify": 0, "enomem": 0, "enotconn": 0, "events": 0, "writes": 0}
        _thread.start_new_thread(self._reader, ())

    def _reader(self):
        """Thread: wait for bytes from the socket, schedule the pump on the main thread."""
        poller = select.poll()
        poller.register(self._sock, select.POLLIN)
        sched = micropython.schedule
        flag = self._scheduled
        import time

        while True:
            if flag[0]:
                time.sleep_ms(1)
                continue
            ready = poller.poll(200)
            if not ready:
                continue
            if ready[0][1] & (select.POLLHUP | select.POLLERR):
                return
            flag[0] = 1
            try:
                sched(self._pump_ref, None)
            except RuntimeError:  # the schedule queue is full: try again
                flag[0] = 0
                time.sleep_ms(1)

    def _send(self, kind, payload):
        if self.closed:
            return
        msg = struct.pack("<BH", kind, len(payload)) + payload
        view = memoryview(msg)
        while view:
            try:
                n = self._sock.send(view)
            except OSError as e:
                if e.errno == 11:  # EAGAIN: the peer is busy; wait until it reads
                    self._poll.modify(self._sock, select.POLLOUT)
                    self._poll.poll(100)
                    self._poll.modify(self._sock, select.POLLIN)
                    continue
                self._gone("send: %r" % (e,))
                return
            view = view[n:]

    def _call(self, method, *args):
        """Synchronous call into the Bumble side; events that arrive meanwhile queue (a C
        call of the real module is not preempted by the handler either)."""
        self._reply = None  # before sending: a scheduled pump may read the reply first
        self._in_call = True
        try:
            self._send(_K_CALL, json.dumps([method] + list(args)).encode())  # noqa: RUF005
            while self._reply is None and not self.closed:
                self._poll.poll(1000)
                self._take()
        finally:
            self._in_call = False
            self._kick()
        err, result = self._reply or (_ENODEV, None)
        self._reply = None
        if err:
            raise OSError(err)
        return result

    def _read(self):
        if self.closed:
            return
        try:
            while True:
                chunk = self._sock.recv(4096)
                if not chunk:
                    self._gone("closed")
                    return
                self._rx += chunk
        except OSError as e:
            if e.errno != 11:
                self._gone("recv: %r" % (e,))

    def _gone(self, why):
        """The Bumble side ended the run (socket closed or reset): as if powered off."""
        if not self.closed:
            print("sacrum radio: the Bumble side is gone (%s)" % why)
        self.closed = True
        self._conns.clear()
        self._reply = [_ENODEV, None]

    def _apply(self):
        """Parse what arrived: replies, flow credits and the stack's own view of the
        link now; IRQ events are queued for the handler."""
        rx = self._rx
        p = 0
        while len(rx) - p >= 3:
            kind, n = struct.unpack_from("<BH", rx, p)
            if len(rx) - p - 3 < n:
                break
            body = rx[p + 3:p + 3 + n]
            p += 3 + n
            if kind == _K_REPLY:
                self._reply = json.loads(body)
            elif kind == _K_FLOW:  # fragments queued in the stack, and ours it has seen
                conn, pending, seen = struct.unpack_from("<HII", body)
                c = self._conns.get(conn)
                if c is not None:
                    c[2] = pending
                    c[3] = seen
            elif kind == _K_EVENT:
                self._stack_event(body)
            elif kind == _K_SECRET:
                self._secret(body)
        self._rx = rx[p:]

    def _secret(self, body):
        """The stack needs a key (or stores one): ask the handler now and answer."""
        req = json.loads(body)
        rid, op, sec_type = req[0], req[1], req[2]
        handler = self._handler
        result = None
        if handler is not None:
            self.stats["secrets"] = self.stats.get("secrets", 0) + 1
            was = self._in_irq
            self._in_irq = True
            try:
                if op == "get":
                    key = None if req[4] is None else memoryview(binascii.unhexlify(req[4]))
                    result = handler(_IRQ_GET_SECRET, (sec_type, req[3], key))
                else:
                    key = memoryview(binascii.unhexlify(req[3]))
                    value = None if req[4] is None else memoryview(binascii.unhexlify(req[4]))
                    result = handler(_IRQ_SET_SECRET, (sec_type, key, value))
            except Exception as e:  # modbluetooth.c: print it, disable the handler
                print("Unhandled exception in IRQ callback handler")
                sys.print_exception(e)
                self._handler = None
                self.irq_disabled = True
                result = None
            finally:
                self._in_irq = was
        if op == "get":
            answer = None if result is None else _hex(result)
        else:
            answer = result is True
        self._send(_K_SECRET_REPLY, json.dumps([rid, answer]).encode())

    def _stack_event(self, body):
        event = body[0]
        if event in (_IRQ_CENTRAL_CONNECT, _IRQ_CENTRAL_DISCONNECT):
            conn, addr_type = struct.unpack_from("<HB", body, 1)
            addr = bytes(body[4:10])
            if event == _IRQ_CENTRAL_CONNECT:
                self._conns[conn] = [addr_type, addr, 0, self._sent]
            else:
                self._conns.pop(conn, None)  # the stack frees the link's buffers
            self._events.append((event, (conn, addr_type, addr)))
        elif event == _IRQ_GATTS_WRITE:
            conn, handle, ack = struct.unpack_from("<HHB", body, 1)
            self._events.append((event, (conn, handle, bytes(body[6:]), ack)))
        elif event == _IRQ_MTU_EXCHANGED:
            self._events.append((event, struct.unpack_from("<HH", body, 1)))
        elif event == _IRQ_ENCRYPTION_UPDATE:
            conn, enc, auth, bonded, size = struct.unpack_from("<HBBBB", body, 1)
            self._events.append((event, (conn, bool(enc), bool(auth), bool(bonded), size)))

    def _kick(self):
        """Events taken while a call ran: handled at the next bytecode boundary."""
        if self._events and not (self._busy or self._in_call or self._in_irq):
            try:
                micropython.schedule(self._pump_ref, None)
            except RuntimeError:
                pass  # the queue is full: the next call into the module handles them

    def _pump_scheduled(self, _):
        self._scheduled[0] = 0
        self._pump()

    def _take(self):
        """Read what arrived and apply it; not re-entered (a scheduled pump that
        preempts it leaves the bytes to it, so the stream is never reordered)."""
        if self._reading:
            return
        self._reading = True
        try:
            self._read()
            self._apply()
        finally:
            self._reading = False

    def _pump(self):
        """Take what arrived; run the handler for every queued event, unless a
        handler or a call into the stack is running (handlers never nest)."""
        self._take()
        if self._in_irq or self._in_call or self._busy or self._pumping:
            return
        self._pumping = True
        try:
            while self._events:
                self._dispatch(*self._events.pop(0))
        finally:
            self._pumping = False

    def _dispatch(self, event, fields):
        self.stats["events"] += 1
        ack = None
        if event == _IRQ_GATTS_WRITE:
            conn, handle, value, want_ack = fields
            self._store_write(handle, value)
            self.stats["writes"] += 1
            data = (conn, handle)
            if want_ack:
                ack = struct.pack("<HH", conn, handle)
        elif event in (_IRQ_CENTRAL_CONNECT, _IRQ_CENTRAL_DISCONNECT):
            conn, addr_type, addr = fields
            self._addr[:] = addr
            data = (conn, addr_type, self._addr_mv)
        else:
            data = fields
        handler = self._handler
        if handler is not None:
            self._in_irq = True
            try:
                handler(event, data)
            except Exception as e:  # modbluetooth.c: print it, disable the handler
                print("Unhandled exception in IRQ callback handler")
                sys.print_exception(e)
                self._handler = None
                self.irq_disabled = True
            finally:
                self._in_irq = False
        if ack is not None:  # the ATT write response goes out after the handler (sync events)
            self._send(_K_ACK, ack)

    def _store_write(self, handle, value):
        a = self._db.get(handle)
        if a is None:
            return
        if a.append:
            a.value = (a.value + value)[:a.size]
        else:
            a.value = value[:a.size]

    # -- configuration ------------------------------------------------------------------
    def active(self, active=None):
        if active is None:
            return self._active
        active = bool(active)
        if active != self._active:
            info = self._call("active", active)
            self._active = active
            if active:
                self._fragment = info["fragment"]
                self._tx_buffers = info["tx_buffers"]
            else:
                self._conns.clear()
                self._events = []
        return self._active

    @_stack_call
    def config(self, *args, **kw):
        if args:
            if kw or len(args) != 1:
                raise TypeError("must query one param")
            key = args[0]
            if key == "mtu":
                return self._mtu
            if key == "gap_name":
                return self._gap_name.encode()
            if key == "mac":
                return (0, bytes(self._call("mac")))
            raise ValueError("unknown config param")
        for key, value in kw.items():
            if key == "mtu":
                if not 23 <= value <= 517:
                    raise OSError(_EINVAL)
                self._call("mtu", value)
                self._mtu = value
            elif key == "gap_name":
                name = value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
                self._call("gap_name", name)
                self._gap_name = name
            elif key in ("rxbuf", "addr_mode", "bond", "mitm", "io", "le_secure"):
                self._call("config", key, value)
            else:
                raise ValueError("unknown config param")

    def irq(self, handler):
        if handler is not None and not callable(handler):
            raise ValueError("invalid handler")
        self._handler = handler

    # -- GAP ------------------------------------------------------------------------------
    @_stack_call
    def gap_advertise(self, interval_us, adv_data=None, resp_data=None, connectable=True):
        if interval_us is None:
            self._call("advertise", None)
            return
        if adv_data is not None:
            self._adv = bytes(adv_data)
        if resp_data is not None:
            self._resp = bytes(resp_data)
        if len(self._adv) > _ADV_MAX or len(self._resp) > _ADV_MAX:
            raise OSError(_EINVAL)  # ble_gap_adv_set_data: BLE_HS_EINVAL
        self._call("advertise", [interval_us, _hex(self._adv), _hex(self._resp),
                                 bool(connectable)])

    @_stack_call
    def gap_pair(self, conn_handle):
        """Start pairing (with the config(bond=, mitm=, io=, le_secure=) in force);
        _IRQ_ENCRYPTION_UPDATE tells the outcome."""
        if conn_handle not in self._conns:
            raise OSError(_ENOTCONN)
        self._call("pair", conn_handle)

    @_stack_call
    def gap_disconnect(self, conn_handle):
        if conn_handle not in self._conns:
            return False
        self._call("disconnect", conn_handle)
        return True

    # -- GATT server ------------------------------------------------------------------------
    @_stack_call
    def gatts_register_services(self, services):
        if self._conns:
            raise OSError(_EBUSY)
        spec = []
        for svc in services:
            uuid, chars = svc[0], svc[1]
            cs = []
            for c in chars:
                descs = [[UUID(d[0])._v, d[1]] for d in (c[2] if len(c) > 2 else ())]
                cs.append([UUID(c[0])._v, c[1], descs])
            spec.append([UUID(uuid)._v, cs])
        handles = self._call("register", spec)
        self._db = {}
        for svc in handles:
            for h in svc:
                self._db[h] = _Attr()
        return tuple(tuple(svc) for svc in handles)

    @_stack_call
    def gatts_read(self, value_handle):
        a = self._db.get(value_handle)
        if a is None:
            raise OSError(_EINVAL)
        value = a.value
        if a.append:
            a.value = b""
        return value

    @_stack_call
    def gatts_write(self, value_handle, data, send_update=False):
        a = self._db.get(value_handle)
        if a is None:
            raise OSError(_EINVAL)
        a.value = bytes(data)
        if len(a.value) > a.size:
            a.size = len(a.value)  # the buffer grows to hold a local write
        self._send(_K_VALUE, struct.pack("<HB", value_handle, 1 if send_update else 0) +
                   a.value)

    @_stack_call
    def gatts_set_buffer(self, value_handle, length, append=False):
        a = self._db.get(value_handle)
        if a is None:
            raise OSError(_EINVAL)
        a.size = length
        a.append = bool(append)
        a.value = a.value[:length]

    @_stack_call
    def gatts_notify(self, conn_handle, value_handle, data=None):
        c = self._conns.get(conn_handle)
        if c is None:
            self.stats["enotconn"] += 1
            raise OSError(_ENOTCONN)
        a = self._db.get(value_handle)
        if a is None:
            raise OSError(_EINVAL)
        value = a.value if data is None else data
        size = len(value) + _L2CAP_ATT_HEADER
        frags = (size + self._fragment - 1) // self._fragment
        # in flight: what the stack last said it holds, plus what we sent since
        if c[2] + (self._sent - c[3]) + frags > self._tx_buffers:
            self.stats["enomem"] += 1
            raise OSError(_ENOMEM)  # no transmit buffer left: the notification is not sent
        self._sent += frags
        self.stats["notify"] += 1
        self._send(_K_NOTIFY, struct.pack("<HH", conn_handle, value_handle) + bytes(value))

    def gatts_indicate(self, conn_handle, value_handle, data=None):
        raise OSError(_EINVAL)  # not used by the firmware; not relayed

    # -- GATT client (what a peripheral may use) ----------------------------------------------
    @_stack_call
    def gattc_exchange_mtu(self, conn_handle):
        if conn_handle not in self._conns:
            raise OSError(_ENOTCONN)
        self._send(_K_EXCHANGE, struct.pack("<H", conn_handle))

    # -- for the simulator ---------------------------------------------------------------------
    def radio_stats(self):
        """What this side counted (not part of MicroPython's API)."""
        s = dict(self.stats)
        s["irq_disabled"] = self.irq_disabled
        s["tx_buffers"] = self._tx_buffers
        return s
