"""The fixed design of the sample programme: group types, timepoints, instruments, people and true effects.

These constants are the documented parameters of :func:`groupeval.sample.generate`
(see ``docs/sample.md``); they are not drawn from the seed.
"""
from __future__ import annotations

__all__ = ["GROUP_TYPES", "OPEN_TYPES", "TIMEPOINTS", "INSTRUMENTS", "PROGRAMME", "AGE_BANDS", "GENDERS",
           "DEFAULT_EFFECTS", "INSTRUMENT_EFFECT_SCALE", "DOSE_SLOPE"]

GROUP_TYPES = ("12-step", "cancer survivors", "postpartum depression", "mental-health recovery")
#: group types that run as open, ongoing groups (members may have joined
#: before the data window and may still be active at the cut-off); the
#: others run as closed 26-week cycles whose remaining members complete.
OPEN_TYPES = ("12-step", "mental-health recovery")
TIMEPOINTS = ("baseline", "week_12", "week_26")
INSTRUMENTS = ("brs", "who5", "whoqol_bref", "phq9")
PROGRAMME = "Sample peer support programme"

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("female", "male", "non-binary", "prefer not to say")
_AGE_P = {
    "12-step": (0.10, 0.22, 0.24, 0.22, 0.15, 0.07),
    "cancer survivors": (0.02, 0.06, 0.14, 0.24, 0.28, 0.26),
    "postpartum depression": (0.15, 0.55, 0.28, 0.02, 0.0, 0.0),
    "mental-health recovery": (0.14, 0.24, 0.22, 0.19, 0.14, 0.07),
}
_GENDER_P = {
    "12-step": (0.38, 0.58, 0.02, 0.02),
    "cancer survivors": (0.62, 0.35, 0.01, 0.02),
    "postpartum depression": (0.98, 0.0, 0.01, 0.01),
    "mental-health recovery": (0.55, 0.40, 0.03, 0.02),
}
_SITES = ("Northgate", "Riverside", "Eastfield", "Westbrook", "Central")
_FORMATS = ("in-person", "online", "hybrid")

#: default true effects on the latent well-being scale (SD units of the
#: baseline latent distribution; positive = better), by group type
DEFAULT_EFFECTS: dict[str, dict[str, float]] = {
    "12-step": {"week_12": 0.30, "week_26": 0.45},
    "cancer survivors": {"week_12": 0.20, "week_26": 0.35},
    "postpartum depression": {"week_12": 0.40, "week_26": 0.60},
    "mental-health recovery": {"week_12": 0.25, "week_26": 0.40},
}
#: how strongly each instrument's latent trait moves with the effect
INSTRUMENT_EFFECT_SCALE = {"brs": 0.8, "who5": 1.0, "whoqol_bref": 0.7, "phq9": 1.0}
#: dose: latent gain per SD of the member's attendance propensity z
DOSE_SLOPE = {"baseline": 0.0, "week_12": 0.10, "week_26": 0.20}
