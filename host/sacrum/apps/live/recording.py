"""Recording a live session: every packet and link event, as it arrived, into a capture.

:class:`SessionRecording` owns the :class:`~sacrum.io.capture.CaptureWriter` and its lock
(the engine thread writes packets, the GUI thread starts and stops, both write tasks and
marks). It tells the session what to show through one callback, ``on_status(recording,
error)``: the capture being written (None: none) and the last error ("" none; None:
unchanged). A write that fails closes the recording and says why; the session and its
data go on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from sacrum.io.capture import CaptureWriter, default_header
from sacrum.io.transports import LinkEvent, Packet, TransportInfo


class SessionRecording:
    """The capture a live session writes (module docstring).

    ``on_status(recording, error)`` is called whenever the recording starts, fails or
    ends, at times under this object's lock (so it may take the session's lock, and the
    session never takes this one while holding its own).
    ``last_packet``: (host_time_ns, perf_counter_ns) of the newest packet, the clock marks
    and tasks are stamped on.
    """

    def __init__(self, on_status: Callable[[str | None, str | None], None]) -> None:
        self._on_status = on_status
        self.lock = threading.Lock()
        self.writer: CaptureWriter | None = None
        self._pending: Path | None = None  # opened when the first packet comes
        self.last_packet: tuple[int, int] | None = None

    @property
    def path(self) -> Path | None:
        """The capture being written (None: none)."""
        with self.lock:
            return self.writer.path if self.writer is not None else None

    @property
    def bytes_written(self) -> int:
        writer = self.writer
        return writer.bytes_written if writer is not None else 0

    def host_now_ns(self) -> int:
        """Host time on the packets' clock: the newest packet's stamp plus the time since it
        arrived (so marks line up with the data also in a replay)."""
        if self.last_packet is None:
            return time.time_ns()
        stamp, arrival = self.last_packet
        return stamp + (time.perf_counter_ns() - arrival)

    def start(self, path: str | Path, info: TransportInfo | None, task: str | None) -> str:
        """Record into a new capture at ``path``; returns "" or why it could not. Before the
        first packet the file is opened when it comes (its header then carries the packets'
        clock, which for a replay is the recording's)."""
        with self.lock:
            if self.writer is not None or self._pending is not None:
                return f"already recording to {path}"
            if not Path(path).parent.is_dir():
                err = f"cannot record to {path}: no such directory"
                self._on_status(None, err)
                return err
            if self.last_packet is None:
                self._pending = Path(path)
                err = ""
            else:
                err = self._open(Path(path), self.host_now_ns(), info, task)
        if not err:
            self._on_status(str(path), "")
        return err

    def _open(self, path: Path, start_ns: int, info: TransportInfo | None,
              task: str | None) -> str:  # under the lock
        header = default_header(
            transport=info.kind if info else "unknown", mtu=info.mtu if info else None,
            device=dict(info.device) if info else {}, source="sacrum live",
            start_time_ns=start_ns)
        try:
            self.writer = CaptureWriter(path, header)
            if task is not None:
                self.writer.task_start(task, start_ns)
        except OSError as e:
            self.writer = None
            err = f"cannot record to {path}: {e.strerror or e}"
            self._on_status(None, err)
            return err
        return ""

    def stop(self, task: str | None) -> str | None:
        """Close the recording (the open ``task`` is stopped in it); returns its path."""
        with self.lock:
            if self._pending is not None:  # no packet came: nothing to write
                path, self._pending = str(self._pending), None
                self._on_status(None, None)
                return path
            if self.writer is None:
                return None
            path = str(self.writer.path)
            if task is not None:
                self.writer.task_stop(task, self.host_now_ns())
            self._close("")
        return path

    def _close(self, error: str) -> None:  # under the lock
        try:
            self.writer.close()
        except OSError as e:
            error = error or f"closing the recording failed: {e}"
        self.writer = None
        self._on_status(None, error)

    def packet(self, item: Packet, arrival_ns: int, info: TransportInfo | None,
               task: str | None) -> None:
        """A packet as it arrived (opening a pending recording at the first one)."""
        self.last_packet = (item.host_time_ns, arrival_ns)
        with self.lock:
            if self._pending is not None:
                path, self._pending = self._pending, None
                self._open(path, item.host_time_ns, info, task)
            if self.writer is not None:
                try:
                    self.writer.write_packet(item.channel, item.data, item.host_time_ns)
                except (OSError, ValueError) as e:
                    self._close(f"recording stopped: {e}")

    def event(self, ev: LinkEvent) -> None:
        """A link event as an EVENT record."""
        with self.lock:
            if self.writer is not None:
                try:
                    self.writer.event(ev.type, ev.host_time_ns,
                                      **{k: v for k, v in ev.fields.items() if k != "type"})
                except (OSError, ValueError, TypeError) as e:
                    self._close(f"recording stopped: {e}")

    def task_change(self, old: str | None, new: str | None) -> None:
        """The task ``old`` ended and ``new`` started (either None), now."""
        with self.lock:
            if self.writer is not None:
                stamp = self.host_now_ns()
                if old is not None:
                    self.writer.task_stop(old, stamp)
                if new is not None:
                    self.writer.task_start(new, stamp)

    def mark(self, note: str) -> None:
        """A mark with a note, now."""
        with self.lock:
            if self.writer is not None:
                self.writer.mark(note, self.host_now_ns())

    def annotate(self, annotation: dict) -> bool:
        """An annotation record now (:meth:`CaptureWriter.annotate
        <sacrum.io.capture.CaptureWriter.annotate>`: a dict with its ``"type"``, SPEC §5.2);
        whether it was written (False: not recording, or the write failed, which closes the
        recording as a failed packet write does). An annotation the writer refuses raises
        its ValueError (nothing written)."""
        with self.lock:
            if self.writer is None:
                return False
            try:
                self.writer.annotate(annotation, self.host_now_ns())
            except OSError as e:
                self._close(f"recording stopped: {e}")
                return False
        return True


__all__ = ["SessionRecording"]
