"""IMU recordings as CSV: ``t`` (s), ``ax, ay, az`` (m/s²), ``gx, gy, gz`` (rad/s), sensor frame.

An optional column ``p_hpa`` (barometric pressure, hPa) is read by :func:`read_pressure`
for the stair finder (``sacrum analyze``); the other commands ignore it.

The format the pipeline's CSV commands read (``sacrum orient``, ``sacrum
events``, ``sacrum simulate``) and ``sacrum export`` writes (plus more
columns). Units are checked, because a recording in g or °/s is the most
common mistake and silently ruins every angle downstream; so is the time axis
(a ``t`` in milliseconds is refused with the fix).

Spreadsheets write CSV their own way: the separator may be ``,``, ``;`` or a tab
(found from the header line), and with ``;`` or a tab the decimal separator may
be a comma (``0,25``), as a German or French spreadsheet writes it; both are
read as written. A ``t`` in Unix time (seconds since 1970, e.g. 1607605060.12)
is read as it is; :func:`recording_start_ns` gives the recording's start from it.
Anything else gives one ``ValueError`` that says what to fix: a capture
(``.sacrum``) given as a CSV, a binary or empty file, missing columns, a time
that does not increase.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from sacrum.units import G_MPS2

COLUMNS = ("t", "ax", "ay", "az", "gx", "gy", "gz")
PRESSURE_COLUMN = "p_hpa"
# pressure at any inhabited altitude is within this range (hPa); Pa or kPa fall outside
_PRESSURE_RANGE_HPA = (300.0, 1100.0)
# A sacrum-range gyroscope never exceeds 32 rad/s; human pelvis motion stays far
# below it, while the same motion in °/s easily exceeds it.
_GYR_DEG_HINT_RADPS = 20.0
# No sacral IMU samples slower than 2 Hz; a median step this long is a time in ms (or worse).
_MAX_SAMPLE_INTERVAL_S = 0.5
# A t this large is Unix time (s since 1970: 2001-09-09 onwards), not time since the start.
_UNIX_TIME_MIN_S = 1e9
_SEPARATORS = (",", ";", "\t")


class UnitsError(ValueError):
    """The numbers do not look like SI units (the message says what they look like)."""


def check_units(acc_mps2: np.ndarray, gyr_radps: np.ndarray) -> None:
    """Raise UnitsError if acc looks like g or gyr like °/s."""
    norm = np.linalg.norm(acc_mps2, axis=1)
    norm = norm[np.isfinite(norm)]
    if norm.size:
        med = float(np.median(norm))
        if 0.5 < med < 2.0:
            raise UnitsError(
                f"acceleration looks like it is in g (median magnitude {med:.2f}; at rest it "
                f"is 9.81 m/s²): multiply ax, ay, az by {G_MPS2}")
        if not 4.0 < med < 40.0:
            raise UnitsError(f"acceleration magnitude {med:.3g} is not plausible in m/s² "
                             "(9.81 at rest)")
    g = np.abs(gyr_radps[np.isfinite(gyr_radps).all(axis=1)])
    if g.size and float(np.percentile(g, 99)) > _GYR_DEG_HINT_RADPS:
        raise UnitsError(
            f"angular rate looks like it is in °/s (99th percentile {np.percentile(g, 99):.0f}): "
            "multiply gx, gy, gz by π/180")


def check_time_axis(t_s: np.ndarray) -> None:
    """Raise UnitsError if ``t`` does not look like seconds (a median step over 0.5 s)."""
    dt = np.diff(t_s)
    dt = dt[np.isfinite(dt) & (dt > 0)]
    if dt.size and float(np.median(dt)) > _MAX_SAMPLE_INTERVAL_S:
        step = float(np.median(dt))
        raise UnitsError(
            f"column t steps by {step:.4g} (median), which would be {1 / step:.3g} Hz in "
            f"seconds: it looks like milliseconds ({1000 / step:.3g} Hz); divide t by 1000")


def _split_header(first: str) -> tuple[list[str], str]:
    sep = max(_SEPARATORS, key=first.count)
    return [h.strip().strip('"') for h in first.split(sep)], sep


def _header(path: str | os.PathLike) -> tuple[list[str], str]:
    """(column names, separator) of a CSV's first line."""
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        return _split_header(f.readline().rstrip("\r\n"))


def _table(path: str | os.PathLike, columns: tuple[str, ...] | list[str]) -> np.ndarray:
    """The named columns of a CSV as floats (NaN where empty), any separator and decimal
    mark (module docstring); raises ValueError with the fix when it is not such a CSV."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a CSV file")
    raw = path.read_bytes()
    import sacrum_protocol as sp

    if raw.startswith(sp.CAPTURE_MAGIC):
        raise ValueError(f"{path} is a sacrum capture, not a CSV: give it to `sacrum analyze` "
                         "or convert it with `sacrum export CAPTURE --csv OUT`")
    if path.suffix.lower() == ".sacrum":
        from sacrum.io.capture import CaptureError

        raise CaptureError(f"{path} is not a sacrum capture (it does not start with the "
                           "capture magic): a damaged file, or a CSV misnamed .sacrum")
    if not raw.strip():
        raise ValueError(f"{path} is empty; need a header line {','.join(COLUMNS)} and rows")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not a text CSV (byte {e.start} is not UTF-8 text)") from e
    first = text.split("\n", 1)[0]
    header, sep = _split_header(first)
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(f"{path}: missing columns {missing} (header: {first.strip()[:80]!r}); "
                         f"need {', '.join(COLUMNS)}, separated by ',' ';' or tabs")
    body = text.split("\n", 1)[1] if "\n" in text else ""
    if sep != "," and "," in body:
        body = body.replace(",", ".")  # decimal comma
    cols = [header.index(c) for c in columns]
    try:
        data = np.genfromtxt(io.StringIO(body), delimiter=sep, usecols=cols, ndmin=2)
    except ValueError as e:  # numpy lists every bad line: the first one says enough
        lines = [x.strip() for x in str(e).splitlines() if x.strip().startswith("Line #")]
        what = lines[0] if lines else str(e).strip().splitlines()[0]
        n = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
        raise ValueError(f"{path}: cannot read the table: {what}{n} (line numbers count the "
                         "rows after the header)") from e
    if data.size == 0:
        return np.empty((0, len(cols)))
    return data


#: Longest run of missing rows filled in as lost samples (s); a longer jump of t is refused
#: (two recordings in one file, or a clock reset), not turned into hours of NaN rows.
MAX_FILLED_GAP_S = 600.0


def fill_time_gaps(t_s: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows missing from a table (t jumps by more than 1.5 sample periods: a logger that
    drops lost packets instead of writing empty cells) as NaN rows on the sample grid, so
    they are counted as lost samples and no step spans them unseen. The period is the
    median interval; a jump longer than :data:`MAX_FILLED_GAP_S` is a ValueError."""
    dt = np.diff(t_s)
    if len(dt) == 0:
        return t_s, x
    period = float(np.median(dt))
    missing = np.rint(dt / period).astype(np.int64) - 1
    missing[dt <= 1.5 * period] = 0
    if not missing.any():
        return t_s, x
    k = int(np.argmax(dt))
    if dt[k] > MAX_FILLED_GAP_S:
        raise ValueError(f"t jumps by {dt[k]:.1f} s after t = {t_s[k]:.6g} (more than "
                         f"{MAX_FILLED_GAP_S:g} s): two recordings in one file? split it")
    pos = np.arange(len(t_s)) + np.r_[0, np.cumsum(missing)]
    t_out = np.full(pos[-1] + 1, np.nan)
    x_out = np.full((pos[-1] + 1, *x.shape[1:]), np.nan)
    t_out[pos], x_out[pos] = t_s, x
    for i in np.flatnonzero(missing):  # the missing rows' times, on the period grid
        j = np.arange(1, missing[i] + 1)
        t_out[pos[i] + j] = t_s[i] + j * period
    return t_out, x_out


def read_imu_csv(path: str | os.PathLike, *, check: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t_s, acc_mps2 (N,3), gyr_radps (N,3)) from a recording CSV.

    Empty or NaN cells are lost samples (NaN rows, kept at their time), and so are rows
    missing from the table (``fill_time_gaps``: t jumps by more than 1.5 periods).
    ``check``: refuse g, °/s and a time in milliseconds (UnitsError with the fix).
    """
    data = _table(path, COLUMNS)
    data = data[np.isfinite(data[:, 0])]
    if data.shape[0] < 2:
        raise ValueError(f"{path}: fewer than two rows with a time")
    if np.any(np.diff(data[:, 0]) <= 0):
        k = int(np.flatnonzero(np.diff(data[:, 0]) <= 0)[0])
        raise ValueError(f"{path}: column t must increase (t = {data[k + 1, 0]:.6g} comes "
                         f"after t = {data[k, 0]:.6g})")
    if check:
        check_time_axis(data[:, 0])
    t, rest = fill_time_gaps(data[:, 0], data[:, 1:])
    acc, gyr = rest[:, 0:3], rest[:, 3:6]
    if check:
        check_units(acc, gyr)
    return t, acc, gyr


def recording_start_ns(t_s: np.ndarray) -> int | None:
    """When the recording started (ns since the Unix epoch) if its ``t`` is Unix time
    (module docstring), else None: a ``t`` from 0 does not say when it was recorded."""
    if len(t_s) and np.isfinite(t_s[0]) and t_s[0] >= _UNIX_TIME_MIN_S:
        return round(float(t_s[0]) * 1e9)
    return None


def read_pressure(path: str | os.PathLike, n_rows: int) -> np.ndarray | None:
    """The ``p_hpa`` column (hPa, NaN where empty) aligned with :func:`read_imu_csv`'s rows,
    or None when the file has none. Raises UnitsError when it is not in hPa."""
    if PRESSURE_COLUMN not in _header(path)[0]:
        return None
    data = _table(path, ("t", PRESSURE_COLUMN))
    data = data[np.isfinite(data[:, 0])]
    p = fill_time_gaps(data[:, 0], data[:, 1])[1] if len(data) > 1 else data[:, 1]
    if len(p) != n_rows:
        raise ValueError(f"{path}: column {PRESSURE_COLUMN} has {len(p)} rows, not {n_rows}")
    ok = p[np.isfinite(p)]
    if ok.size:
        med = float(np.median(ok))
        lo, hi = _PRESSURE_RANGE_HPA
        if not lo <= med <= hi:
            raise UnitsError(f"{PRESSURE_COLUMN}: median {med:.6g} is not a pressure in hPa "
                             f"({lo:g}-{hi:g} anywhere people live; Pa would be 100x, "
                             "kPa 1/10)")
    return p


#: Shortest recording an analysis accepts (s): less holds no step and no standing.
MIN_DURATION_S = 1.0


def check_duration(t_s: np.ndarray, what: str | os.PathLike) -> None:
    """Raise ValueError if the samples span less than :data:`MIN_DURATION_S`."""
    span = float(t_s[-1] - t_s[0]) if len(t_s) > 1 else 0.0
    if not span >= MIN_DURATION_S:
        raise ValueError(f"{what}: {span:.2f} s of samples ({len(t_s)}); at least "
                         f"{MIN_DURATION_S:g} s is needed to analyse a recording")


def rate_of(t_s: np.ndarray) -> float:
    """Sample rate (Hz) from the median interval of t_s."""
    dt = np.diff(t_s)
    dt = dt[np.isfinite(dt) & (dt > 0)]
    if not dt.size:
        raise ValueError("cannot tell the sample rate from t")
    return 1.0 / float(np.median(dt))
