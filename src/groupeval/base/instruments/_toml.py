"""Instrument definitions from TOML (:func:`from_toml`) or the TOML-shaped mapping (:func:`from_dict`)."""
from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from ..exceptions import ConfigError, Problem
from ._definition import Instrument
from ._parts import Flag, MissingRule, Subscale, _Bad

_TOP_KEYS = {"name", "label", "title", "description", "n_items", "item_min", "item_max", "reverse",
             "higher_is_better", "citation", "licence", "score", "subscales", "missing", "bands",
             "flags", "reliability", "norms", "conventions", "variants", "clinical_cutoff", "labels"}
_SCORE_KEYS = {"method", "scale", "shift", "lookup", "raw_column", "min", "max"}
_SUBSCALE_KEYS = {"items", "method", "scale", "shift", "transform_of", "min", "max"}
_RULE_KEYS = {"max_missing", "subscales", "min_answered_total", "round_raw", "convention", "description", "source"}
#: keys a variant may override as they are written in the TOML
_VARIANT_PLAIN = {"item_min", "item_max", "label", "title", "description", "higher_is_better", "score_min",
                  "score_max", "scale", "shift", "conventions", "clinical_cutoff"}


def from_dict(data: Mapping[str, Any], *, source: str = "definition") -> Instrument:
    """Build an :class:`Instrument` from the TOML-shaped mapping (see :func:`from_toml`)."""
    problems: list[Problem] = []
    name = data.get("name", "?")

    def bad(key: str, value: object, reason: str, fix: str = "") -> None:
        problems.append(Problem(source, None, key, value, reason, fix))

    _check_top_keys(data, bad)
    if any(p.reason == "required key is missing" for p in problems):
        raise ConfigError(f"Invalid instrument definition {name!r} in {source}", problems)
    score, lookup = _score_of(data, bad)
    subs = _subscales_of(data, bad)
    missing, rules = _missing_of(data, bad)
    sources: dict[str, str] = {}
    bands, closed = _bands_of(data, bad, sources)
    flags = _flags_of(data, bad)
    rel_table = dict(data.get("reliability", {}))
    reliability = _reliability_of(rel_table, "reliability.", bad, sources)
    sub_rel = {s: _reliability_of(t, f"reliability.subscales.{s}.", bad, sources)
               for s, t in dict(rel_table.get("subscales", {})).items()}
    norms_table = dict(data.get("norms", {}))
    norms = _norms_of(norms_table, "norms.", bad, sources)
    sub_norms = {s: _norms_of(t, f"norms.subscales.{s}.", bad, sources)
                 for s, t in dict(norms_table.get("subscales", {})).items()}
    answer_labels, labels_source = _labels_of(data.get("labels", {}), data.get("item_min"), bad)
    cutoff = _cutoff_of(data, sources)
    variants = _variants_of(data, bad)
    inst = None
    try:
        inst = Instrument(
            name=data["name"], n_items=data["n_items"], item_min=data["item_min"], item_max=data["item_max"],
            method=score.get("method", "sum"), higher_is_better=data.get("higher_is_better", True),
            reverse=tuple(data.get("reverse", ())), label=data.get("label", ""), title=data.get("title", ""),
            scale=score.get("scale", 1.0), shift=score.get("shift", 0.0), lookup=lookup,
            raw_column=score.get("raw_column"), score_min=score.get("min"), score_max=score.get("max"),
            subscale_specs=tuple(subs), missing_rules=rules, missing_rule=missing.get("default", "complete"),
            bands=tuple(bands), bands_closed=closed, flags=tuple(flags), clinical_cutoff=cast(Any, cutoff),
            reliability=reliability,
            norms=norms, subscale_reliability=sub_rel, subscale_norms=sub_norms, sources=sources,
            citation=data.get("citation", ""), licence=data.get("licence", ""),
            conventions=dict(data.get("conventions", {})), variants=variants,
            description=data.get("description", ""),
            answer_labels=answer_labels, answer_labels_source=labels_source,
        )
    except ConfigError as exc:  # value problems found by the Instrument's own validation
        problems.extend(Problem(source, None, p.column, p.value, p.reason, p.fix) for p in exc.problems)
    except (TypeError, ValueError) as exc:  # wrong types that slipped past the key checks
        problems.append(Problem(source, None, None, None, f"cannot build the instrument: {exc}"))
    if problems or inst is None:
        raise ConfigError(f"Invalid instrument definition {name!r} in {source}", problems)
    return inst


def _check_top_keys(data: Mapping[str, Any], bad: _Bad) -> None:
    """Unknown top-level keys, and the four required ones."""
    for k in sorted(set(data) - _TOP_KEYS):
        bad(k, data[k], "unknown key", f"allowed keys: {', '.join(sorted(_TOP_KEYS))}")
    for k in ("name", "n_items", "item_min", "item_max"):
        if k not in data:
            bad(k, None, "required key is missing")


def _score_of(data: Mapping[str, Any], bad: _Bad) -> tuple[dict[str, Any], dict[int, float] | None]:
    """The ``[score]`` table and its raw-sum lookup (None when absent or unreadable)."""
    score = dict(data.get("score", {}))
    for k in sorted(set(score) - _SCORE_KEYS):
        bad(f"score.{k}", score[k], "unknown key", f"allowed: {', '.join(sorted(_SCORE_KEYS))}")
    lookup = score.get("lookup")
    if lookup is not None:
        try:
            lookup = {int(k): float(v) for k, v in dict(lookup).items()}
        except (TypeError, ValueError):
            bad("score.lookup", lookup, "lookup must map raw sums (as keys) to numbers")
            lookup = None
    return score, lookup


def _subscales_of(data: Mapping[str, Any], bad: _Bad) -> list[Subscale]:
    """The ``[subscales.<name>]`` tables."""
    subs: list[Subscale] = []
    for sname, sdef in dict(data.get("subscales", {})).items():
        if not isinstance(sdef, Mapping):
            bad(f"subscales.{sname}", sdef, "must be a table with 'items'")
            continue
        for k in sorted(set(sdef) - _SUBSCALE_KEYS):
            bad(f"subscales.{sname}.{k}", sdef[k], "unknown key", f"allowed: {', '.join(sorted(_SUBSCALE_KEYS))}")
        subs.append(Subscale(sname, tuple(sdef.get("items", ())), sdef.get("method", "mean"),
                             sdef.get("scale", 1.0), sdef.get("shift", 0.0),
                             sdef.get("transform_of"), sdef.get("min"), sdef.get("max")))
    return subs


def _missing_of(data: Mapping[str, Any], bad: _Bad) -> tuple[dict[str, Any], dict[str, MissingRule]]:
    """The ``[missing]`` table and its ``[missing.rules.<name>]``."""
    missing = dict(data.get("missing", {}))
    rules: dict[str, MissingRule] = {}
    for rname, rdef in dict(missing.get("rules", {})).items():
        for k in sorted(set(rdef) - _RULE_KEYS):
            bad(f"missing.rules.{rname}.{k}", rdef[k], "unknown key", f"allowed: {', '.join(sorted(_RULE_KEYS))}")
        rules[rname] = MissingRule(rname, rdef.get("max_missing", 0), dict(rdef.get("subscales", {})),
                                   rdef.get("min_answered_total"), bool(rdef.get("round_raw", False)),
                                   bool(rdef.get("convention", True)), rdef.get("description", ""),
                                   rdef.get("source", ""))
    for k in sorted(set(missing) - {"default", "rules"}):
        bad(f"missing.{k}", missing[k], "unknown key", "allowed: default, rules")
    return missing, rules


def _bands_of(data: Mapping[str, Any], bad: _Bad, sources: dict[str, str]) -> tuple[list[tuple[float, str]], str]:
    """The ``[bands]`` table: ``(lower, label)`` levels and which side is closed (its source into ``sources``)."""
    bands_def = data.get("bands", {})
    bands: list[tuple[float, str]] = []
    closed = "left"
    if bands_def:
        closed = bands_def.get("closed", "left")
        for b in bands_def.get("levels", []):
            if not isinstance(b, Mapping) or "lower" not in b or "label" not in b:
                bad("bands.levels", b, "each band needs 'lower' and 'label'")
                continue
            bands.append((b["lower"], b["label"]))
        if bands_def.get("source"):
            sources["bands"] = bands_def["source"]
        for k in sorted(set(bands_def) - {"closed", "levels", "source"}):
            bad(f"bands.{k}", bands_def[k], "unknown key", "allowed: closed, levels, source")
    return bands, closed


def _flags_of(data: Mapping[str, Any], bad: _Bad) -> list[Flag]:
    """The ``[flags.<name>]`` tables."""
    flags = []
    for fname, fdef in dict(data.get("flags", {})).items():
        if "item" not in fdef or "at_least" not in fdef:
            bad(f"flags.{fname}", fdef, "a flag needs 'item' and 'at_least'")
            continue
        flags.append(Flag(fname, fdef["item"], fdef["at_least"], fdef.get("description", "")))
    return flags


def _reliability_of(table: Mapping[str, Any], prefix: str, bad: _Bad, sources: dict[str, str]) -> dict[str, Any]:
    """``alpha`` / ``test_retest`` of a ``[reliability]`` table (their sources and note into ``sources``)."""
    rel: dict[str, Any] = {}
    for key in ("alpha", "test_retest"):
        if key in table:
            rel[key] = table[key]
        if f"{key}_source" in table:
            sources[f"{prefix}{key}"] = table[f"{key}_source"]
    for k in sorted(set(table) - {"alpha", "test_retest", "alpha_source", "test_retest_source",
                                   "subscales", "note"}):
        bad(f"{prefix}{k}", table[k], "unknown key", "allowed: alpha, test_retest, *_source, note")
    if table.get("note"):
        sources[f"{prefix}note"] = table["note"]
    return rel


def _norms_of(table: Mapping[str, Any], prefix: str, bad: _Bad, sources: dict[str, str]) -> dict[str, Any]:
    """``clinical`` / ``functional`` ``(mean, sd)`` of a ``[norms]`` table (their sources into ``sources``)."""
    out: dict[str, Any] = {}
    for key in ("clinical", "functional"):
        if key in table:
            t = table[key]
            if not isinstance(t, Mapping) or "mean" not in t or "sd" not in t:
                bad(f"{prefix}{key}", t, "a norm needs 'mean' and 'sd'")
                continue
            out[key] = (t["mean"], t["sd"])
            if t.get("source"):
                sources[f"{prefix}{key}"] = t["source"]
    for k in sorted(set(table) - {"clinical", "functional", "subscales", "note"}):
        bad(f"{prefix}{k}", table[k], "unknown key", "allowed: clinical, functional, note, subscales")
    if table.get("note"):
        sources[f"{prefix}note"] = table["note"]
    return out


def _cutoff_of(data: Mapping[str, Any], sources: dict[str, str]) -> Any:
    """The ``clinical_cutoff`` as written (a number or a table; checked by the Instrument), its source noted."""
    cutoff = data.get("clinical_cutoff")
    if isinstance(cutoff, Mapping):
        cutoff = dict(cutoff)
        if cutoff.get("source"):
            sources["clinical_cutoff"] = str(cutoff["source"])
    return cutoff


def _variants_of(data: Mapping[str, Any], bad: _Bad) -> dict[str, dict[str, Any]]:
    """The ``[variants.<name>]`` tables translated to :class:`Instrument` field overrides."""
    variants = {}
    for vname, vdef in dict(data.get("variants", {})).items():
        translated: dict[str, Any] = {}
        for k, val in dict(vdef).items():
            if k in _VARIANT_PLAIN:
                translated[k] = dict(val) if k in ("conventions", "clinical_cutoff") and isinstance(val,
                                                                                                    Mapping) else val
            elif k == "bands" and isinstance(val, Mapping):
                translated["bands"] = tuple((b["lower"], b["label"]) for b in val.get("levels", []))
                translated["bands_closed"] = val.get("closed", "left")
            elif k == "norms" and isinstance(val, Mapping):
                translated["norms"] = {kk: (t["mean"], t["sd"]) for kk, t in val.items()}
            elif k == "reliability" and isinstance(val, Mapping):
                translated["reliability"] = {kk: val[kk] for kk in ("alpha", "test_retest") if kk in val}
            else:
                bad(f"variants.{vname}.{k}", val, "this key cannot be overridden in a variant",
                    f"allowed: {', '.join(sorted(_VARIANT_PLAIN | {'bands', 'norms', 'reliability'}))}")
        variants[vname] = translated
    return variants


_LABEL_KEYS = {"anchors", "aliases", "source", "note"}


def _labels_of(table: Any, item_min: Any, bad: _Bad) -> tuple[dict[str, Any], str]:
    """The ``[labels]`` table: ``anchors`` (in order, coded from item_min) and/or ``aliases`` (label = code)."""
    if not table:
        return {}, ""
    if not isinstance(table, Mapping):
        bad("labels", table, "[labels] must be a table with anchors = [...] and/or aliases = {...}")
        return {}, ""
    for k in sorted(set(table) - _LABEL_KEYS):
        bad(f"labels.{k}", table[k], "unknown key", f"allowed: {', '.join(sorted(_LABEL_KEYS))}")
    anchors = table.get("anchors", [])
    aliases = table.get("aliases", {})
    if not isinstance(anchors, list) or not all(isinstance(a, str) for a in anchors):
        bad("labels.anchors", anchors, "anchors must be a list of label texts, lowest code first")
        anchors = []
    if not isinstance(aliases, Mapping):
        bad("labels.aliases", aliases, 'aliases must map label text to a code, e.g. { "Over half the days" = 2 }')
        aliases = {}
    start = item_min if isinstance(item_min, int) and not isinstance(item_min, bool) else 0
    out: dict[str, Any] = {a: start + i for i, a in enumerate(anchors)}
    for lab, code in aliases.items():
        if lab in out and out[lab] != code:
            bad(f"labels.aliases.{lab}", code, "the label is also an anchor with another code")
        out[str(lab)] = code
    return out, str(table.get("source", ""))


def from_toml(source: str | Path) -> Instrument:
    """Read an instrument definition from a TOML file (a path) or TOML text.

    Minimal example::

        name = "mood4"
        label = "Mood-4"
        n_items = 4
        item_min = 0
        item_max = 3
        reverse = [2]
        higher_is_better = false
        [score]
        method = "sum"
        [missing]
        default = "one_missing"
        [missing.rules.one_missing]
        max_missing = 1

    See ``docs/instruments.md`` for every key.
    """
    label = "TOML text"
    text: str
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and "=" not in source):
        path = Path(source)
        if not path.exists():
            raise ConfigError(f"Instrument file {str(path)!r} does not exist; pass a path to a .toml file or TOML text")
        text = path.read_text(encoding="utf-8")
        label = str(path)
    else:
        text = str(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label} is not valid TOML: {exc}") from None
    return from_dict(data, source=label)
