"""The live session's engine thread: one transport at a time, in its own thread and asyncio
loop, every item it yields handed to the session.

:class:`TransportRunner` opens the transport the session's factory makes, iterates it
(yielding to the loop every ``YIELD_EVERY`` items, so a stop gets through a fast replay),
and tells the session what happened: connecting, connected, each item, the end of the data
(a replay's capture or a link that ended), stopped, or failed. It never raises out of its
thread: a failure becomes the link state and message, and the data already received stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

log = logging.getLogger(__name__)

YIELD_EVERY = 32  # items between yields to the loop, so a stop gets through a fast replay


class TransportRunner:
    """Runs ``session``'s transport (module docstring). The session provides
    ``open_transport()`` (a new transport, its link info noted), ``connected()`` (the
    transport is open), ``handle(item, arrival_ns)``, ``data_ended(kind)`` and
    ``set_link(state, message)``."""

    def __init__(self, session) -> None:
        self.session = session
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._aio_task: asyncio.Task | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Connect and run in a background thread (returns at once)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._thread_main, name="sacrum-live",
                                        daemon=True)
        self._thread.start()

    def run_sync(self) -> None:
        """Connect and run in this thread until the transport ends."""
        self._stop.clear()
        self._thread_main()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Disconnect and wait for the engine thread to end."""
        self._stop.set()
        loop, task = self._loop, self._aio_task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._run())
        except Exception as e:  # never out of the engine: the window shows it
            log.exception("live session failed")
            self.session.set_link("error", f"{type(e).__name__}: {e}")

    async def _run(self) -> None:
        session = self.session
        self._loop = asyncio.get_running_loop()
        self._aio_task = asyncio.current_task()
        session.set_link("connecting", "opening the transport")
        try:
            transport = session.open_transport()
            async with transport:
                session.connected()
                n = 0
                async for item in transport:
                    session.handle(item, time.perf_counter_ns())
                    n += 1
                    if n % YIELD_EVERY == 0:
                        await asyncio.sleep(0)
                    if self._stop.is_set():
                        break
            if self._stop.is_set():
                session.set_link("stopped", "stopped")
            else:
                session.data_ended(transport.info.kind)
        except asyncio.CancelledError:
            session.set_link("stopped", "stopped")
        except Exception as e:  # the transport failed: say so, keep the data
            log.warning("transport failed: %s", e)
            session.set_link("error", f"{e}; data kept")
        finally:
            self._loop = None
            self._aio_task = None


__all__ = ["YIELD_EVERY", "TransportRunner"]
