"""Biofeedback: a visual flash and an audible cue for every step whose contralateral drop
exceeds the threshold (the cue itself is decided by ``LiveScorer``, and for running by
``sacrum.scoring.running.LiveRunning``; this module only delivers it), the count of cues per
minute, and the cadence metronome's tick (``tick``; its beat: ``sacrum.apps.live.running``).

The sound goes through the first audio path that exists: QtMultimedia's ``QSoundEffect``
(PySide6-Addons) when Qt lists an audio output; else a command-line player (``paplay``,
``pw-play``, ``aplay``, ``afplay``) when the machine has a sound device; else nothing, and
``audio_status`` says so (the flash still happens).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
from PySide6 import QtCore

from sacrum.apps.live.session import Cue, LiveSnapshot
from sacrum.scoring.running import RunningCue

log = logging.getLogger(__name__)

BEEP_HZ = 880.0
BEEP_S = 0.15
TICK_HZ, TICK_S = 1760.0, 0.04  # the metronome's tick: higher and shorter than a cue
_PLAYERS = ("paplay", "pw-play", "aplay", "afplay")


def write_beep_wav(path: str | os.PathLike, freq_hz: float = BEEP_HZ, dur_s: float = BEEP_S,
                   rate_hz: int = 22050) -> Path:
    """A short sine beep with 10-ms fades (no click), 16-bit mono WAV."""
    t = np.arange(round(dur_s * rate_hz)) / rate_hz
    env = np.minimum(1.0, np.minimum(t, dur_s - t) / 0.01)
    pcm = (0.5 * 32767 * env * np.sin(2 * math.pi * freq_hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.tobytes())
    return Path(path)


def _sound_device_present() -> bool:
    if sys.platform == "darwin":
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    return (Path("/dev/snd").exists() or bool(os.environ.get("PULSE_SERVER"))
            or (bool(runtime) and Path(runtime, "pulse", "native").exists()))


class Biofeedback(QtCore.QObject):
    """Delivers the session's new cues: ``flash(side)`` for each (``last``: the cue it is
    for), a sound if possible.

    audio: try to make sounds at all (False: silent, e.g. in tests).
    """

    flash = QtCore.Signal(str)

    def __init__(self, audio: bool = True, parent=None) -> None:
        super().__init__(parent)
        self.delivered = 0
        self.last: Cue | RunningCue | None = None
        self.sounds = 0
        self.ticks = 0
        self._seen = 0
        self._seen_run = 0
        self._effect = None
        self._tick_effect = None
        self._player: list[str] | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="sacrum-cue-")
        self.wav = write_beep_wav(Path(self._tmp.name) / "cue.wav")
        self.tick_wav = write_beep_wav(Path(self._tmp.name) / "tick.wav", TICK_HZ, TICK_S)
        self.audio_status = "sound off" if not audio else self._open_audio()

    def _open_audio(self) -> str:
        try:
            from PySide6.QtMultimedia import QMediaDevices, QSoundEffect
        except ImportError:
            pass
        else:
            if QMediaDevices.audioOutputs():
                self._effect = QSoundEffect(self)
                self._effect.setSource(QtCore.QUrl.fromLocalFile(str(self.wav)))
                self._tick_effect = QSoundEffect(self)
                self._tick_effect.setSource(QtCore.QUrl.fromLocalFile(str(self.tick_wav)))
                return "sound: Qt audio output"
        if _sound_device_present():
            for name in _PLAYERS:
                exe = shutil.which(name)
                if exe:
                    self._player = [exe, str(self.wav)]
                    return f"sound: {name}"
        return "no audio output found: visual cue only"

    def reset(self, snap: LiveSnapshot | None = None) -> None:
        """Take the cues in ``snap`` as delivered (None: none yet, e.g. a new session), so
        that ``update`` delivers only those that come after it."""
        self._seen = len(snap.cues) if snap is not None else 0
        run = getattr(snap, "running", None)  # a snapshot of cues only has none
        self._seen_run = len(run.cues) if run is not None else 0

    def update(self, snap: LiveSnapshot) -> list[Cue | RunningCue]:
        """Deliver the cues that are new in ``snap`` (walking, then running); returns them."""
        new = snap.cues[self._seen:]
        self._seen = len(snap.cues)
        run = getattr(snap, "running", None)
        if run is not None:
            new = [*new, *run.cues[self._seen_run:]]
            self._seen_run = len(run.cues)
        for cue in new:
            self.delivered += 1
            self.last = cue
            self.flash.emit(cue.side)
        if new:
            self._beep()
        return new

    def tick(self) -> None:
        """One metronome tick (a short high beep), if there is sound."""
        self.ticks += 1
        self._beep(self._tick_effect, self.tick_wav)

    def _beep(self, effect=None, wav: Path | None = None) -> None:
        effect = self._effect if wav is None else effect
        try:
            if effect is not None:
                effect.play()
                self.sounds += 1
            elif self._player is not None:
                subprocess.Popen([self._player[0], str(wav or self.wav)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                self.sounds += 1
        except OSError as e:  # the cue stays visual
            log.warning("cannot play the cue: %s", e)
            self._player = None
            self.audio_status = f"sound failed ({e}): visual cue only"
