"""Checks of an instrument definition: every bad field is reported at once in one ConfigError."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigError, Problem
from ._parts import (
    _CUTOFF_KEYS,
    BANDS_CLOSED,
    METHODS,
    ClinicalCutoff,
    Flag,
    MissingRule,
    Subscale,
    _Bad,
    label_key,
)

if TYPE_CHECKING:
    from ._definition import Instrument


def _validate_instrument(inst: Instrument) -> None:
    """Raise one :class:`ConfigError` listing every problem of the definition (nothing when it is valid)."""
    problems: list[Problem] = []

    def bad(key: str, value: object, reason: str, fix: str = "") -> None:
        problems.append(Problem(None, None, key, value, reason, fix))

    _check_shape(inst, bad)
    n = inst.n_items if isinstance(inst.n_items, int) else 0
    _check_scoring(inst, n, bad)
    _check_subscales(inst, n, bad)
    _check_missing_rules(inst, n, bad)
    _check_bands_and_flags(inst, n, bad)
    _check_reference_values(inst, bad)
    _validate_cutoff(inst, bad)
    _validate_labels(inst, bad)
    if problems:
        raise ConfigError(f"Invalid instrument definition {inst.name!r}", problems)


def _check_shape(inst: Instrument, bad: _Bad) -> None:
    """Name, number of items, the response range and the aggregation method."""
    if not isinstance(inst.name, str) or not inst.name.isidentifier() or inst.name != inst.name.lower():
        bad("name", inst.name, "name must be a lower-case identifier (letters, digits, _)",
            "use e.g. 'phq9' - it is also the item-column prefix")
    if not isinstance(inst.n_items, int) or isinstance(inst.n_items, bool) or inst.n_items < 1:
        bad("n_items", inst.n_items, "n_items must be a positive whole number")
    for key in ("item_min", "item_max"):
        v = getattr(inst, key)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not float(v).is_integer():
            bad(key, v, f"{key} must be a whole number")
    if (isinstance(inst.item_min, (int, float)) and isinstance(inst.item_max, (int, float))
            and inst.item_min >= inst.item_max):
        bad("item_max", inst.item_max, "item_max must be greater than item_min")
    if inst.method not in METHODS:
        bad("method", inst.method, f"method must be one of {', '.join(map(repr, METHODS))}")


def _check_items(key: str, items: Sequence[Any], n: int, bad: _Bad) -> None:
    """A list of distinct item numbers from 1 to ``n``."""
    try:
        items = list(items)
    except TypeError:
        bad(key, items, "must be a list of item numbers")
        return
    wrong = [i for i in items if not isinstance(i, int) or isinstance(i, bool) or not 1 <= i <= n]
    if wrong:
        bad(key, wrong, f"item numbers must be whole numbers from 1 to n_items={n}")
    if len(set(items)) != len(items):
        bad(key, items, "item numbers are repeated")


def _check_scoring(inst: Instrument, n: int, bad: _Bad) -> None:
    """Reverse-keyed items, direction, the linear transform and the raw-sum lookup."""
    _check_items("reverse", inst.reverse, n, bad)
    if not isinstance(inst.higher_is_better, bool):
        bad("higher_is_better", inst.higher_is_better, "must be true or false")
    for key in ("scale", "shift"):
        v = getattr(inst, key)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            bad(key, v, f"{key} must be a finite number")
    if inst.lookup is not None:
        if inst.method != "sum":
            bad("lookup", "...", "a lookup table needs method='sum' (it maps raw sums)")
        try:
            keys = sorted(int(k) for k in inst.lookup)
            want = list(range(n * int(inst.item_min), n * int(inst.item_max) + 1))
            if keys != want:
                bad("lookup", f"{len(keys)} entries", f"lookup must map every raw sum {want[0]}..{want[-1]}")
        except (TypeError, ValueError):
            bad("lookup", inst.lookup, "lookup keys must be whole raw sums")


def _base_subscales(inst: Instrument) -> list[str]:
    """Names of the subscales with their own items (not a ``transform_of`` another)."""
    return [s.name for s in inst.subscale_specs if isinstance(s, Subscale) and s.transform_of is None]


def _check_subscales(inst: Instrument, n: int, bad: _Bad) -> None:
    """Subscale names (identifiers, no clash with output columns, distinct), methods, transforms and items."""
    names = [s.name for s in inst.subscale_specs if isinstance(s, Subscale)]
    base_names = _base_subscales(inst)
    reserved = {"score", "n_answered", "prorated", "band", "member_id", "timepoint", "group_id",
                "completed_on", inst.raw_column, *(f.name for f in inst.flags)}
    for s in inst.subscale_specs:
        if not isinstance(s, Subscale):
            bad("subscales", s, "each subscale must be a Subscale")
            continue
        key = f"subscales.{s.name}"
        if not s.name.isidentifier():
            bad(key, s.name, "subscale names must be identifiers (they become column names)")
        if s.name in reserved:
            bad(key, s.name, "subscale name clashes with an output column")
        if s.method not in ("sum", "mean"):
            bad(key + ".method", s.method, "subscale method must be 'sum' or 'mean'")
        for attr in ("scale", "shift"):
            v = getattr(s, attr)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                bad(f"{key}.{attr}", v, f"{attr} must be a finite number")
        if s.transform_of is not None:
            if s.transform_of not in base_names:
                bad(key + ".transform_of", s.transform_of,
                    "transform_of must name another subscale that has its own items",
                    f"subscales with items: {base_names}")
        else:
            if not s.items:
                bad(key + ".items", s.items, "a subscale needs at least one item")
            _check_items(key + ".items", s.items, n, bad)
    if len(set(names)) != len(names):
        bad("subscales", names, "subscale names are repeated")


def _check_missing_rules(inst: Instrument, n: int, bad: _Bad) -> None:
    """Every missing-item rule's limits, and that the default rule exists."""
    base_names = _base_subscales(inst)
    base_len = {s.name: len(s.items) for s in inst.subscale_specs if isinstance(s, Subscale)}
    for rname, rule in dict(inst.missing_rules).items():
        key = f"missing.rules.{rname}"
        if not isinstance(rule, MissingRule):
            bad(key, rule, "must be a MissingRule")
            continue
        if not isinstance(rule.max_missing, int) or rule.max_missing < 0 or rule.max_missing >= max(n, 1):
            bad(key + ".max_missing", rule.max_missing,
                f"max_missing must be a whole number from 0 to n_items-1={n - 1}")
        for sname, m in dict(rule.subscale_max_missing).items():
            if sname not in base_names:
                bad(key + ".subscales", sname, "names no subscale with its own items (a transform_of "
                    "subscale follows its source)", f"subscales with items: {base_names}")
            elif not isinstance(m, int) or isinstance(m, bool) or not 0 <= m < base_len[sname]:
                bad(key + f".subscales.{sname}", m,
                    f"must be a whole number from 0 to {base_len[sname] - 1} "
                    f"(the subscale has {base_len[sname]} items)")
        if rule.min_answered_total is not None and not (isinstance(rule.min_answered_total, int)
                                                        and 0 <= rule.min_answered_total <= n):
            bad(key + ".min_answered_total", rule.min_answered_total, f"must be a whole number from 0 to {n}")
    rule_names = set(dict(inst.missing_rules)) | {"complete"}
    if inst.missing_rule not in rule_names:
        bad("missing_rule", inst.missing_rule, "default missing rule is not defined",
            f"define it under [missing.rules] or use one of {sorted(rule_names)}")


def _check_bands_and_flags(inst: Instrument, n: int, bad: _Bad) -> None:
    """Bands in strictly increasing order with a valid closed side; flags on existing items."""
    try:
        lows = [float(lo) for lo, _ in inst.bands]
        if lows != sorted(lows) or len(set(lows)) != len(lows):
            bad("bands", inst.bands, "band lower bounds must be strictly increasing")
    except (TypeError, ValueError):
        bad("bands", inst.bands, "bands must be (lower, label) pairs")
    if inst.bands_closed not in BANDS_CLOSED:
        bad("bands_closed", inst.bands_closed, "must be 'left' or 'right'")
    for f in inst.flags:
        if not isinstance(f, Flag) or not (isinstance(f.item, int) and 1 <= f.item <= n):
            bad("flags", f, f"flag item must be a number from 1 to {n}")


def _check_reference_values(inst: Instrument, bad: _Bad) -> None:
    """Reliability coefficients in (0, 1] and norms as (mean, sd > 0), under their known keys."""
    for key in inst.reliability:
        if key not in ("alpha", "test_retest"):
            bad(f"reliability.{key}", key, "reliability keys are 'alpha' and 'test_retest'")
    for key, coef in dict(inst.reliability).items():
        if coef is not None and not (isinstance(coef, (int, float)) and 0 < coef <= 1):
            bad(f"reliability.{key}", coef, "reliability must be a number in (0, 1] or absent")
    for key, norm in dict(inst.norms).items():
        if key not in ("clinical", "functional"):
            bad(f"norms.{key}", key, "norm keys are 'clinical' and 'functional'")
        elif norm is not None:
            try:
                _mean, sd = norm
                if not (float(sd) > 0):
                    raise ValueError
            except (TypeError, ValueError):
                bad(f"norms.{key}", norm, "a norm is (mean, sd) with sd > 0")


def _validate_labels(inst: Instrument, bad: _Bad) -> None:
    """``answer_labels``: text -> a whole code within the item range; no key with two codes."""
    labels = inst.answer_labels
    if not isinstance(labels, Mapping):
        bad("answer_labels", labels, "answer labels must map label text to an item code",
            'e.g. answer_labels = {"Not at all": 0, "Several days": 1}')
        return
    seen: dict[str, tuple[str, int]] = {}
    for lab, code in labels.items():
        if not isinstance(lab, str) or not label_key(lab):
            bad("answer_labels", lab, "an answer label must be text with at least one letter or digit")
            continue
        if (not isinstance(code, (int, float)) or isinstance(code, bool) or not float(code).is_integer()
                or not (isinstance(inst.item_min, (int, float)) and isinstance(inst.item_max, (int, float))
                        and inst.item_min <= code <= inst.item_max)):
            bad(f"answer_labels.{lab}", code,
                f"the code of an answer label must be a whole number from item_min={inst.item_min} "
                f"to item_max={inst.item_max}")
            continue
        key = label_key(lab)
        if key in seen and seen[key][1] != int(code):
            bad(f"answer_labels.{lab}", code, f"the label reads the same as {seen[key][0]!r} (case, spaces and "
                f"punctuation are ignored) but has another code ({seen[key][1]})",
                "give each label one code")
        seen.setdefault(key, (lab, int(code)))


def _validate_cutoff(inst: Instrument, bad: _Bad) -> None:
    """``clinical_cutoff``: a finite number inside the score range, leaving both ranges non-empty."""
    cc = inst.clinical_cutoff
    if cc is None:
        return
    if isinstance(cc, Mapping):
        unknown = sorted(set(cc) - set(_CUTOFF_KEYS))
        for k in unknown:
            bad(f"clinical_cutoff.{k}", cc[k], "unknown key", f"allowed: {', '.join(_CUTOFF_KEYS)}")
        if "value" not in cc:
            bad("clinical_cutoff.value", None, "a clinical cut-off needs a 'value' on the main score's scale")
            return
        cc = ClinicalCutoff(cc["value"], convention=cc.get("convention", False))  # check the value too
    if not isinstance(cc, ClinicalCutoff):
        bad("clinical_cutoff", cc, "must be a number, a ClinicalCutoff or a table with "
            f"{', '.join(_CUTOFF_KEYS)}", "e.g. clinical_cutoff = { value = 10, source = \"...\" }")
        return
    v = cc.value
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
        bad("clinical_cutoff.value", v, "the clinical cut-off must be a finite number on the main score's scale")
        return
    if not isinstance(cc.convention, bool):
        bad("clinical_cutoff.convention", cc.convention, "must be true or false")
    if inst.method == "none":
        bad("clinical_cutoff.value", v, "the instrument has no main score (method='none'), so a clinical "
            "cut-off on it has no meaning", "remove clinical_cutoff")
        return
    try:
        lo, hi = inst._natural_range()
        lo = float(inst.score_min) if inst.score_min is not None else lo
        hi = float(inst.score_max) if inst.score_max is not None else hi
    except (TypeError, ValueError, AttributeError):
        return  # the range itself is invalid and reported elsewhere
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return
    if inst.higher_is_better is True and not (lo <= v < hi):
        bad("clinical_cutoff.value", v, f"must lie in [{lo:g}, {hi:g}) for a higher-is-better score: "
            "scores <= the cut-off are clinical, scores above it non-clinical, and both ranges must exist",
            "give the cut-off on the main score's scale")
    elif inst.higher_is_better is False and not (lo < v <= hi):
        bad("clinical_cutoff.value", v, f"must lie in ({lo:g}, {hi:g}] for a lower-is-better score: "
            "scores >= the cut-off are clinical, scores below it non-clinical, and both ranges must exist",
            "give the cut-off on the main score's scale")
