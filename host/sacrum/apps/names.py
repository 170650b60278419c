"""The clinician's name map: which pseudonym is which person, kept apart from the data.

The sessions library (:mod:`sacrum.apps.sessions`) knows people only by pseudonym (P017):
no name is in a folder, a file name, a session's metadata or a report. Who P017 is, the
clinician may keep in this map -- one small JSON file, 0600, *beside* the library folder
rather than in it (``~/sacrum-sessions.names.json`` for ``~/sacrum-sessions``), so a
library copied, backed up or sent for a study carries no name. ``sacrum sessions names
set P017 "Anna Berg"`` writes it; a report shows the name only when asked with
``sacrum report --show-name`` (docs/security.md, docs/report.md).

File format::

    {"format": "sacrum-names", "format_version": 1,
     "names": {"P017": "Anna Berg"},
     "original_files": {"P017/2025-03-14_1": "anna_berg_walk.sacrum"}}

``original_files`` holds the file names the captures had before they were added to a
library written by an earlier sacrum (the library kept them; ``sessions migrate`` moves
them here, where identifying facts belong).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sacrum.io.private_files import is_private, make_private, write_private_text

#: Environment variable naming the name map (default: beside the library).
NAMES_ENV = "SACRUM_NAMES"
FORMAT = "sacrum-names"
FORMAT_VERSION = 1


class NameMapError(ValueError):
    """A name map that cannot be read or used; the message says what to do."""


def default_names_path(library_root: str | os.PathLike) -> Path:
    """``$SACRUM_NAMES``, else ``<library>.names.json`` beside the library folder."""
    env = os.environ.get(NAMES_ENV)
    if env:
        return Path(env)
    root = Path(library_root)
    return root.with_name(root.name + ".names.json")


class NameMap:
    """The pseudonym → name map of one clinician (module docstring).

    path: the JSON file; it need not exist until a name is set. Reading never creates it.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._doc: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._doc is not None:
            return self._doc
        if not self.path.exists():
            self._doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "names": {},
                         "original_files": {}}
            return self._doc
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise NameMapError(f"{self.path} is not a readable name map ({e}); restore it "
                               "from a backup or remove it") from e
        if not isinstance(doc, dict) or doc.get("format") != FORMAT \
                or not isinstance(doc.get("names"), dict):
            raise NameMapError(f"{self.path} is not a sacrum name map; give the right file "
                               f"with --names or ${NAMES_ENV}")
        if not isinstance(doc.get("format_version"), int) \
                or doc["format_version"] > FORMAT_VERSION:
            raise NameMapError(f"{self.path} is a name map of a newer sacrum; update sacrum")
        doc.setdefault("original_files", {})
        self._doc = doc
        return doc

    @property
    def names(self) -> dict[str, str]:
        """pseudonym → name (a copy)."""
        return dict(self._load()["names"])

    def get(self, person_id: str) -> str | None:
        return self._load()["names"].get(person_id)

    def is_a_name(self, text: str) -> bool:
        """True if ``text`` is (case-insensitively) one of the names in the map: a name
        offered where a pseudonym belongs."""
        t = text.casefold().strip()
        return any(t == n.casefold().strip() for n in self._load()["names"].values())

    def set(self, person_id: str, name: str) -> None:
        name = " ".join(name.split())
        if not name:
            raise NameMapError("give a name: sacrum sessions names set P017 \"Name\"")
        self._load()["names"][person_id] = name
        self.save()

    def remove(self, person_id: str) -> bool:
        """Forget a pseudonym's name; False if it had none."""
        found = self._load()["names"].pop(person_id, None) is not None
        if found:
            self.save()
        return found

    def add_original_files(self, files: dict[str, str]) -> None:
        if files:
            self._load()["original_files"].update(files)
            self.save()

    def save(self) -> None:
        """Write the map atomically, 0600 (an existing file with wider modes is replaced by
        a private one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_private_text(self.path, json.dumps(self._load(), indent=1, ensure_ascii=False)
                           + "\n")
        if not is_private(self.path):  # a file system that ignored the mode at creation
            make_private(self.path)
