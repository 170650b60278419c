"""The reference bands the report draws behind the gait-cycle curves (degrees: report edge).

The analysis has no published normative *curves* (mean ± SD at each % of the gait cycle)
to compare with; what it has are the score's bands (``bands.toml``) and the ranges of
motion healthy adults show. So the curve figure draws a horizontal **envelope**: where the
curve of a healthy adult usually stays.

- obliquity: ± the drop band's ``normal_max`` (7° packaged) about the standing zero, read
  from the analysis' own bands (so a clinic's ``--bands`` moves it): the contralateral drop
  *is* the peak obliquity towards the swing side, so a curve inside this envelope has a drop
  inside the drop band;
- tilt and rotation: half the healthy range of motion plus two SDs, about the curve's own
  mean (tilt; the mean tilt is reported on its own) or zero (rotation is measured from
  the walking direction). Ranges ≈ as read off Perry & Burnfield (2010; tilt ≈ 4°,
  rotation ≈ 10° in all) with SDs ≈ Kadaba et al. (1990; ≈ 1° and ≈ 3°), the same
  sources as the drop band (docs/scoring.md); approximate, to be replaced by published
  normative curves.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Healthy range of motion over a stride (deg) and its SD (deg): see the module docstring.
HEALTHY_ROM_DEG = {"tilt": (4.0, 1.0), "rotation": (10.0, 3.0)}
#: When the analysis carries no drop band (a bands file without one): the packaged 7°.
DEFAULT_DROP_NORMAL_MAX_DEG = 7.0


@dataclass(frozen=True)
class Envelope:
    """A horizontal band: ``centre`` is "zero" or "mean" (of the plotted curve)."""

    half_width_deg: float
    centre: str
    source: str


def drop_band(task: dict) -> tuple[float | None, float | None, float | None]:
    """(normal_min, normal_max, poor_max) of the contralateral drop items in the task's
    components (deg); Nones when the task carries no drop items."""
    items = [it for c in (task.get("components") or {}).values() for it in c.get("items", [])
             if str(it.get("metric", "")).startswith(("contralateral_drop_deg",
                                                      "peak_drop_deg", "drop_mean_deg"))]
    for it in items:
        band = it.get("band") or {}
        if band.get("normal_max") is not None or band.get("normal_min") is not None:
            return band.get("normal_min"), band.get("normal_max"), band.get("poor_max")
    return None, None, None


def curve_envelopes(task: dict) -> dict[str, Envelope]:
    """The envelope of each angle ("obliquity", "tilt", "rotation") for a task's curves."""
    _, normal_max, _ = drop_band(task)
    obl = normal_max if normal_max is not None else DEFAULT_DROP_NORMAL_MAX_DEG
    out = {"obliquity": Envelope(float(obl), "zero",
                                 f"drop band ≤ {obl:.0f}° (the analysis' bands)")}
    for name, centre in (("tilt", "mean"), ("rotation", "zero")):
        rom, sd = HEALTHY_ROM_DEG[name]
        half = rom / 2 + 2 * sd
        # the label names the band drawn (± half; the docstring says how), short enough
        # for the legend of the report's figure
        out[name] = Envelope(half, centre,
                             f"healthy ± {half:.0f}° (Perry & Burnfield 2010; Kadaba 1990)")
    return out


@dataclass(frozen=True)
class ExerciseBand:
    """The control band of an exercise's own metric (deg): 100 points up to ``normal_max``,
    0 at ``poor_max``; ``source`` says it is provisional (``exercise_bands.toml``)."""

    metric: str
    normal_max: float
    poor_max: float
    source: str


def exercise_band(ex: dict) -> ExerciseBand | None:
    """The band the analysis scored an exercise task's own metric with (``ex``: the task's
    ``exercise`` object, whose ``band`` carries it; a document written before it did
    falls back on the packaged file, the one its analysis used); None when there is no
    band for the exercise or it names another metric than the sets."""
    if "band" in ex:
        ctrl = ex["band"]
    else:
        from sacrum.scoring.exercises import load_exercise_bands

        ctrl = load_exercise_bands().get("control", {}).get(str(ex.get("exercise")))
    scored = {s.get("metric") for s in ex.get("sets") or []}
    if not ctrl or (scored and scored != {ctrl.get("metric")}):
        return None
    return ExerciseBand(str(ctrl["metric"]), float(ctrl["normal_max"]),
                        float(ctrl["poor_max"]), str(ctrl.get("source", "provisional")))
