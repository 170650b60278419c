"""Faults a replayed device injects on demand, so an app's loss handling can be tested.

Notifications are counted from 0 in the recording's order of data notifications (a
SEGMENTed packet is several notifications). Times are seconds of recorded time since the
first data notification, so a fault lands on the same packet at any replay speed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Faults:
    """What to do to a replayed stream.

    drop: indices of data notifications never delivered (lost on the air: the packets'
        own sequence numbers show the gap, SPEC 2.1).
    corrupt: indices of data notifications delivered one byte short (a DATA packet's
        length is then not 16 + 20·n, so a receiver that checks it counts it corrupt).
    disconnect_at_s: times at which the device drops the link (an unsolicited disconnect:
        bleak calls the client's ``disconnected_callback``).
    outage_s: how long the device stays away after each of those (s of recorded time):
        what it would have sent meanwhile is lost, as with a real drop; it then advertises
        again and accepts a connection.
    """

    drop: frozenset[int] = frozenset()
    corrupt: frozenset[int] = frozenset()
    disconnect_at_s: tuple[float, ...] = ()
    outage_s: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "drop", frozenset(int(i) for i in self.drop))
        object.__setattr__(self, "corrupt", frozenset(int(i) for i in self.corrupt))
        object.__setattr__(self, "disconnect_at_s",
                           tuple(sorted(float(t) for t in self.disconnect_at_s)))
        if self.outage_s < 0:
            raise ValueError(f"outage_s must be >= 0 s, not {self.outage_s}")
        if any(i < 0 for i in self.drop | self.corrupt):
            raise ValueError("notification indices count from 0")

    @classmethod
    def dropping(cls, n: int, *, start: int = 0, every: int = 1) -> Faults:
        """``n`` notifications dropped from index ``start``, every ``every``-th one."""
        return cls(drop=frozenset(range(start, start + n * every, every)))

    @classmethod
    def of(cls, drop: Iterable[int] = (), corrupt: Iterable[int] = (),
           disconnect_at_s: Iterable[float] = (), outage_s: float = 1.0) -> Faults:
        return cls(frozenset(drop), frozenset(corrupt), tuple(disconnect_at_s), outage_s)

    def __bool__(self) -> bool:
        return bool(self.drop or self.corrupt or self.disconnect_at_s)
