"""The live session's link state: what the connection panel shows, from the transport's link
events, the engine's state changes and the bad items counted (docs/live.md, "The window",
"Connection")."""

from __future__ import annotations

from dataclasses import replace

from sacrum.apps.live.model import LinkStatus, Publisher
from sacrum.io.transports import LinkEvent


class LinkMonitor:
    """Keeps ``status`` (:class:`~sacrum.apps.live.model.LinkStatus`): the state and message,
    the device, RSSI, battery, reconnections, and the counts of bad items and analysis
    errors. Every change is made and published under ``pub``'s lock."""

    def __init__(self, pub: Publisher) -> None:
        self._pub = pub
        self.status = LinkStatus()

    def set(self, state: str, message: str) -> None:
        """The link state and message the connection panel shows."""
        with self._pub.lock:
            self.status.state = state
            self.status.message = message
            self._pub.publish()

    def opened(self, info) -> None:
        """A new transport: its kind and device (``TransportInfo``)."""
        with self._pub.lock:
            self.status.kind = info.kind
            self.status.device = dict(info.device)

    def event(self, ev: LinkEvent) -> None:
        """A link event: disconnected (data kept, waiting), (re)connected, RSSI, battery,
        device."""
        with self._pub.lock:
            s, f = self.status, ev.fields
            if ev.type == "disconnected":
                s.state = "disconnected"
                s.disconnects += 1
                s.message = ("link lost" + (f": {f['reason']}" if f.get("reason") else "")
                             + "; data kept, waiting for it")
            elif ev.type in ("connected", "reconnected"):
                s.state = "connected"
                s.message = "reconnected" if ev.type == "reconnected" else ""
                if ev.type == "reconnected":
                    s.reconnects += 1
            elif ev.type == "rssi" and "rssi_dbm" in f:
                s.rssi_dbm = f["rssi_dbm"]
            elif ev.type == "battery" and "battery_percent" in f:
                s.battery_percent = f["battery_percent"]
            elif ev.type == "device":
                s.device.update(f)
            self._pub.publish()

    def recording(self, recording: str | None, error: str | None) -> None:
        """The recording's state (``SessionRecording``'s callback): its file, or None; an
        error in words (None: unchanged)."""
        with self._pub.lock:
            self.status.recording = recording
            if error is not None:
                self.status.recording_error = error
            self._pub.publish()

    def bad_item(self, *, publish: bool = False) -> None:
        """An item that is not a packet or event, an undecodable packet, a bad annotation."""
        with self._pub.lock:
            self.status.bad_items += 1
            if publish:
                self._pub.publish()

    def analysis_error(self) -> None:
        """An exception in the analysis (counted; the caller says what in the view)."""
        with self._pub.lock:
            self.status.analysis_errors += 1

    def copy(self, loss, transport_info, recording_bytes: int | None) -> LinkStatus:
        """The status for a snapshot (call under the lock): the decoder's ``loss``, what the
        transport knows beyond its events, the recording's size (None: not recording)."""
        link = replace(self.status, device=dict(self.status.device),
                       loss=replace(loss, gap_list=[]))
        if transport_info is not None:
            t = transport_info
            link.rssi_dbm = link.rssi_dbm if t.rssi_dbm is None else t.rssi_dbm
            link.battery_percent = (link.battery_percent if t.battery_percent is None
                                    else t.battery_percent)
            link.reconnects = max(link.reconnects, t.reconnects)
        if recording_bytes is not None:
            link.recording_bytes = recording_bytes
        return link


__all__ = ["LinkMonitor"]
