"""Name-keyed programmes: member keys replaced by salted pseudonyms at the door.

``groupeval.load(path, pseudonymise=True)`` calls :func:`pseudonymise_frames`
on the frames the readers return, *before* any validation rule runs, so a
programme whose member key is a person's name (or e-mail address) in every
file is validated on pseudonyms only and raw names reach no table, quality
report, error message, pickle or output:

1. every ``member_id`` cell of the members, attendance and responses frames
   is normalised with :func:`groupeval.base.pseudonyms.name_keys` (case,
   accents, surrounding and repeated whitespace), so ``"Ann  Lee"``,
   ``"ann lee"`` and ``"Ann Lee "`` are one member;
2. the key becomes ``P-`` + 10 hex digits of HMAC-SHA256(salt, key);
3. pseudonyms the user confirmed to be one person (``same_person``) are
   merged into the first of each group;
4. keys that normalisation did not join but that look alike (``"Ann Lee"`` /
   ``"Anne Lee"``, ``"Ann"`` / ``"Ann Lee"``) are listed with their
   pseudonyms, a similarity and where each first occurs (file and row), for
   the user to confirm - never merged silently;
5. a scrubber replaces any raw spelling left in the text of a reader's
   problem by its pseudonym.

The work is per distinct spelling; rows are touched once (one take).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, Problem
from ..base.pseudonyms import _hash_ids, check_salt, name_key, name_keys, near_duplicates
from ..base.schema import SOURCE_FILE, SOURCE_ROW
from ..io import SourceTable

__all__ = ["Pseudonymised", "pseudonymise_frames", "check_groups", "KEY_TABLES"]

#: tables whose ``member_id`` column is a member key
KEY_TABLES = ("members", "attendance", "responses")
_STR = "string[pyarrow]"
_NONE = np.array([None], dtype=object)


@dataclass(frozen=True)
class Pseudonymised:
    """What :func:`pseudonymise_frames` returns.

    Attributes
    ----------
    frames
        The frames by table, ``member_id`` replaced by pseudonyms.
    near_duplicates
        ``pseudonym_a``, ``pseudonym_b``, ``kind`` (spelling / word order /
        part of), ``similarity`` (Levenshtein similarity of the normalised
        keys, 0-1), ``where_a``, ``where_b`` (file and row of the first
        occurrence), ``confirm`` (the TOML line that merges them).
    quality
        Quality-report lines (one per file: keys replaced; one per merge; one
        per near-duplicate pair).
    n_spellings, n_members
        Distinct raw spellings read, distinct members after normalisation and merges.
    scrub
        Text -> text with every raw spelling (whole words, any case) replaced by its pseudonym.
    """

    frames: dict[str, list[Any]]
    near_duplicates: pd.DataFrame
    quality: pd.DataFrame
    n_spellings: int
    n_members: int
    scrub: Callable[[str], str] = field(repr=False, default=lambda t: t)

    def scrub_problem(self, p: Problem) -> Problem:
        """The problem with raw spellings replaced in its value, reason and fix."""
        val = p.value
        if isinstance(val, str):
            val = self.scrub(val)
        elif isinstance(val, (list, tuple)):
            val = type(val)(self.scrub(v) if isinstance(v, str) else v for v in val)
        return Problem(p.file, p.row, p.column, val, self.scrub(p.reason), self.scrub(p.fix))


def check_groups(value: Any, where: str) -> list[list[str]]:
    """``same_person`` / ``not_same``: a list of lists of at least two pseudonyms."""
    if value is None:
        return []
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(g, (list, tuple)) and len(g) >= 2 and all(isinstance(x, str) and x.strip() for x in g)
        for g in value)
    if not ok:
        raise ConfigError(f"{where} must be a list of lists of pseudonyms, e.g. "
                          '[["P-1a2b3c4d5e", "P-9f8e7d6c5b"]] (each inner list: one person)')
    return [[x.strip() for x in g] for g in value]


def _data(obj: Any) -> pd.DataFrame | None:
    """The data columns of a reader's SourceTable or of a DataFrame (None for anything else)."""
    if isinstance(obj, SourceTable):
        return obj.table
    return obj if isinstance(obj, pd.DataFrame) else None


def _with(obj: Any, table: pd.DataFrame) -> Any:
    """``obj`` with its data replaced (same rows, same provenance)."""
    return obj.with_table(table) if isinstance(obj, SourceTable) else table


def _provenance(obj: Any, table: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(file label, spreadsheet row) of every row."""
    if isinstance(obj, SourceTable):
        return np.asarray(obj.file, dtype=object), np.asarray(obj.row)
    df = obj
    files = df[SOURCE_FILE].astype(str).to_numpy(dtype=object) if SOURCE_FILE in df else np.full(len(df), table,
                                                                                               dtype=object)
    rows = df[SOURCE_ROW].to_numpy() if SOURCE_ROW in df else None
    return files, rows


def _frames_of(frames: Mapping[str, Any]) -> Iterable[tuple[str, int, Any]]:
    for table in KEY_TABLES:
        for k, obj in enumerate(frames.get(table, []) or []):
            df = _data(obj)
            if df is not None and "member_id" in df.columns:
                yield table, k, obj


def pseudonymise_frames(frames: Mapping[str, Sequence[Any]], *, salt: str,
                        same_person: Sequence[Sequence[str]] = (), not_same: Sequence[Sequence[str]] = (),
                        prefix: str = "P-", length: int = 10) -> Pseudonymised:
    """Replace the member keys of raw frames by salted pseudonyms (see the module docstring).

    Parameters
    ----------
    frames
        ``{table: [SourceTable or DataFrame, ...]}`` as read (``members``,
        ``attendance``, ``responses`` tables with a ``member_id`` column are
        changed; other tables only have member names in their text columns
        replaced; the readers' notes are scrubbed too).
    salt
        The secret (:func:`groupeval.base.pseudonyms.resolve_salt`); a weak one is refused.
    same_person
        Groups of pseudonyms the user confirmed to be one person each; the
        rows of the others get the first one's pseudonym.
    not_same
        Groups the user confirmed to be different people: their pairs are no
        longer listed as near-duplicates.

    Raises
    ------
    ConfigError
        A weak salt; a pseudonym in ``same_person`` / ``not_same`` that no
        member key gives (a typo, or another salt); two keys whose pseudonyms
        collide.
    """
    check_salt(salt)
    key = salt.encode("utf-8")
    parts = list(_frames_of(frames))
    codes, raws, all_raw = _spellings(parts)
    spell_key = name_keys(pd.Series(all_raw.to_numpy(dtype=object), dtype=object))
    keys = pd.Index(spell_key.dropna().unique())
    pseudo_of_key = _pseudonyms_of(keys, key, prefix, length)
    same, differ = _confirmed(same_person, not_same, set(pseudo_of_key))
    merge = {x: g[0] for g in same for x in g[1:]}
    final_of_key = pseudo_of_key.map(merge).fillna(pseudo_of_key) if merge else pseudo_of_key
    # spelling -> final pseudonym
    spell_pseudo = pd.Series(final_of_key.reindex(spell_key.to_numpy(dtype=object)).to_numpy(dtype=object),
                             index=all_raw)
    out: dict[str, list[Any]] = {t: list(v) for t, v in frames.items()}
    quality: list[dict[str, Any]] = []
    first_seen = _replace_keys(parts, codes, raws, spell_pseudo, out, quality)
    for g in same:
        quality.append({"file": "[privacy] same_person", "row": pd.NA, "column": "member_id",
                        "value": ", ".join(g), "reason": f"confirmed as one person: rows of {', '.join(g[1:])} "
                        f"merged into {g[0]}", "action": "repaired"})
    # near-duplicates among the keys that are still distinct members
    near = _near(keys, pseudo_of_key, final_of_key, differ, first_seen)
    for rec in near.itertuples(index=False):
        quality.append({"file": None, "row": pd.NA, "column": "member_id",
                        "value": f"{rec.pseudonym_a} ~ {rec.pseudonym_b}",
                        "reason": f"two member keys look alike ({rec.kind}, similarity {rec.similarity:.2f}; first "
                                  f"seen {rec.where_a} and {rec.where_b}) and are kept as two people: if they are "
                                  "one, add them to [privacy] same_person; if not, to [privacy] not_same",
                        "action": "flagged"})
    scrub = _scrubber(all_raw.to_numpy(dtype=object), spell_pseudo.to_numpy(dtype=object))
    _scrub_frames(out, scrub, quality)
    qf = pd.DataFrame(quality, columns=["file", "row", "column", "value", "reason", "action"])
    n_members = len(set(final_of_key.to_numpy(dtype=object)))
    return Pseudonymised(out, near, qf, len(all_raw), n_members, scrub)


def _spellings(parts: list[tuple[str, int, Any]]) -> tuple[list[np.ndarray], list[np.ndarray], pd.Index]:
    """Each frame's codes into its distinct raw spellings, those spellings, and the distinct spellings of all
    frames (one factorisation per frame)."""
    raws: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for _, _, obj in parts:
        df = cast(pd.DataFrame, _data(obj))
        c, u = pd.factorize(df["member_id"].astype(object), use_na_sentinel=True)
        codes.append(c)
        raws.append(np.asarray(u, dtype=object))
    all_raw = pd.Index(np.concatenate(raws) if raws else np.array([], dtype=object)).unique()
    return codes, raws, all_raw


def _pseudonyms_of(keys: pd.Index, key: bytes, prefix: str, length: int) -> pd.Series:
    """Normalised key -> its pseudonym; two keys with one pseudonym are refused."""
    hashed = _hash_ids(keys.to_numpy(dtype=object), key, prefix, length)
    if len(set(hashed)) != len(hashed):
        raise ConfigError(f"two member keys collide after truncating their pseudonyms to {length} hex digits; "
                          "this is very unlikely - report it, and use another salt meanwhile")
    return pd.Series(hashed, index=keys, dtype=object)


def _confirmed(same_person: Sequence[Sequence[str]], not_same: Sequence[Sequence[str]], known: set[str]
               ) -> tuple[list[list[str]], list[list[str]]]:
    """The user's ``same_person`` / ``not_same`` groups, every pseudonym in them given by some member key."""
    same = check_groups(list(same_person), "same_person")
    differ = check_groups(list(not_same), "not_same")
    unknown = sorted({x for g in same + differ for x in g} - known)
    if unknown:
        raise ConfigError("same_person / not_same name pseudonyms that no member key gives",
                          [Problem("[privacy]", None, "same_person", u, "no member key has this pseudonym",
                                   "copy pseudonyms from the near-duplicate list of groupeval validate; the salt "
                                   "must be the same one") for u in unknown])
    return same, differ


def _replace_keys(parts: list[tuple[str, int, Any]], codes: list[np.ndarray], raws: list[np.ndarray],
                  spell_pseudo: pd.Series, out: dict[str, list[Any]], quality: list[dict[str, Any]]
                  ) -> dict[str, str]:
    """Every key frame's ``member_id`` -> pseudonyms (into ``out``, one quality line per frame); returns where
    each pseudonym first occurs (file and row), which lets the user find the people in the raw files."""
    seen_parts: list[pd.DataFrame] = []
    for (table, k, obj), c, u in zip(parts, codes, raws):
        df = cast(pd.DataFrame, _data(obj))
        vals = np.concatenate([spell_pseudo.reindex(u).to_numpy(dtype=object), _NONE])
        per_row = vals[np.where(c >= 0, c, len(u))]
        new = df.copy(deep=False)
        new["member_id"] = pd.array(per_row, dtype=_STR)
        out[table][k] = _with(obj, new)
        n_keys = int(pd.Series(vals[:-1], dtype=object).nunique())
        quality.append({"file": _file_label(obj, table), "row": pd.NA, "column": "member_id", "value": str(n_keys),
                        "reason": f"member keys (names or e-mail addresses) replaced by salted pseudonyms before "
                                  f"validation: {len(u)} spelling(s) -> {n_keys} member(s) (case, accents and spaces "
                                  "ignored)", "action": "repaired"})
        if len(df):
            files, rows_ = _provenance(obj, table)
            rows = None if rows_ is None else pd.Series(rows_).astype("Int64").astype(str).to_numpy(dtype=object)
            where = files if rows is None else files + " row " + rows
            seen_parts.append(pd.DataFrame({"p": per_row, "where": where}).dropna(subset=["p"])
                              .drop_duplicates("p"))
    first_seen: dict[str, str] = {}
    if seen_parts:
        seen = pd.concat(seen_parts, ignore_index=True).drop_duplicates("p")
        first_seen = dict(zip(seen["p"], seen["where"]))
    return first_seen


def _scrub_frames(out: dict[str, list[Any]], scrub: Callable[[str], str], quality: list[dict[str, Any]]) -> None:
    """Names in other text columns (a free-text comment that names another member) and in the readers' notes
    replaced by pseudonyms, in place; one quality line per changed column."""
    for table, fl in out.items():
        for k, obj in enumerate(fl):
            df = _data(obj)
            if df is None:
                continue
            new, changed = _scrub_text_columns(df, scrub)
            if changed:
                obj = fl[k] = _with(obj, new)
            if isinstance(obj, SourceTable) and obj.notes:
                fl[k] = replace(obj, notes=tuple(_scrub_note(n, scrub) for n in obj.notes))
            if changed:
                for col, n in changed.items():
                    quality.append({"file": _file_label(obj, table), "row": pd.NA, "column": col, "value": str(n),
                                    "reason": "member names in this text column replaced by their pseudonyms "
                                              "(value: cells changed)", "action": "repaired"})


def _scrub_text_columns(df: pd.DataFrame, scrub: Callable[[str], str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Text columns (other than the key and provenance) with member names replaced, per distinct value."""
    changed: dict[str, int] = {}
    new_cols: dict[str, pd.Series] = {}
    for col in df.columns:
        if col == "member_id" or str(col).startswith("_"):
            continue
        s = df[col]
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            continue
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        if not len(uniques):
            continue
        u = pd.Series(np.asarray(uniques, dtype=object))
        many = getattr(scrub, "many", None)
        cleaned = pd.Series(many(u.tolist()) if many is not None else [scrub(v) if isinstance(v, str) else v
                                                                       for v in u], dtype=object)
        diff = (cleaned != u).to_numpy(dtype=bool)
        if not diff.any():
            continue
        vals = np.concatenate([cleaned.to_numpy(dtype=object), _NONE])[np.where(codes >= 0, codes, len(u))]
        new_cols[str(col)] = pd.Series(vals, index=df.index, dtype=s.dtype if s.dtype != object else object)
        changed[str(col)] = int(np.append(diff, False)[np.where(codes >= 0, codes, len(u))].sum())
    if not new_cols:
        return df, {}
    out = df.copy(deep=False)
    for c, v in new_cols.items():
        out[c] = v
    return out, changed


def _scrub_note(note: Any, scrub: Callable[[str], str]) -> Any:
    value = scrub(note.value) if isinstance(note.value, str) else note.value
    return replace(note, value=value, reason=scrub(note.reason))


def _file_label(obj: Any, table: str) -> str:
    if isinstance(obj, SourceTable):
        files = list(dict.fromkeys(str(f).split(" [")[0] for f in pd.unique(np.asarray(obj.file, dtype=object))))
        return ", ".join(files) if files else table
    df = obj
    if SOURCE_FILE in df.columns and len(df):
        files = list(dict.fromkeys(str(f).split(" [")[0] for f in pd.unique(df[SOURCE_FILE].dropna())))
        return ", ".join(files) if files else table
    return table


def _near(keys: pd.Index, pseudo_of_key: pd.Series, final_of_key: pd.Series, differ: list[list[str]],
          first_seen: Mapping[str, str]) -> pd.DataFrame:
    cols = ["pseudonym_a", "pseudonym_b", "kind", "similarity", "where_a", "where_b", "confirm"]
    if len(keys) < 2:
        return pd.DataFrame(columns=cols)
    pairs = near_duplicates(list(keys))
    if not len(pairs):
        return pd.DataFrame(columns=cols)
    fin = final_of_key.to_numpy(dtype=object)
    a, b = fin[pairs["a"].to_numpy()], fin[pairs["b"].to_numpy()]
    keep = a != b
    if differ:
        ok = {frozenset((x, y)) for g in differ for x in g for y in g if x != y}
        orig_a = pseudo_of_key.to_numpy(dtype=object)[pairs["a"].to_numpy()]
        orig_b = pseudo_of_key.to_numpy(dtype=object)[pairs["b"].to_numpy()]
        keep &= np.array([frozenset((x, y)) not in ok and frozenset((p, q)) not in ok
                          for x, y, p, q in zip(a, b, orig_a, orig_b)], dtype=bool)  # flagged pairs only
    pairs, a, b = pairs[keep], a[keep], b[keep]
    df = pd.DataFrame({"pseudonym_a": a, "pseudonym_b": b, "kind": pairs["kind"].to_numpy(),
                       "similarity": pairs["similarity"].to_numpy(dtype=float),
                       "where_a": [first_seen.get(x, "") for x in a], "where_b": [first_seen.get(x, "") for x in b]})
    df["confirm"] = [f'same_person = [["{x}", "{y}"]]' for x, y in zip(a, b)]
    return df.drop_duplicates(["pseudonym_a", "pseudonym_b"]).sort_values(
        ["similarity", "pseudonym_a"], ascending=[False, True]).reset_index(drop=True)[cols]


_WORD = r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*"


class _Scrubber:
    """Text -> text with each member's name (as spelled anywhere, or its key: any case, accents or not,
    whole words) replaced by the member's pseudonym.

    Vectorised on many texts (:meth:`many`): the words of all texts are normalised together, only
    the names all of whose words occur are kept, and a regular expression of those few names is
    applied to the texts that hold one of their words.  Built on first use.
    """

    def __init__(self, raw: np.ndarray, pseudo: np.ndarray):
        self._raw, self._pseudo = raw, pseudo
        self._table: dict[str, str] | None = None
        self._words: pd.DataFrame | None = None

    def _build(self) -> None:
        spell = pd.Series(self._raw, dtype=object)
        ok = spell.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool) & pd.notna(self._pseudo)
        ps = pd.Series(self._pseudo, dtype=object)[ok].astype(str).to_numpy(dtype=object)
        keys = name_keys(spell[ok]).to_numpy(dtype=object)
        written = spell[ok].str.strip().str.replace(r"\s+", " ", regex=True).str.casefold().to_numpy(dtype=object)
        table = {str(k): str(v) for k, v in zip(keys, ps) if k}
        table.update({str(k): str(v) for k, v in zip(written, ps) if k})
        self._table = table
        # every name's words (as keys), to find which names a text could contain
        names = pd.Series(list(table), dtype=object)
        words = names.str.findall(_WORD).explode().dropna()
        wk = name_keys(words.astype(object))
        self._words = pd.DataFrame({"name": words.index.to_numpy(), "word": wk.to_numpy(dtype=object)}).dropna()
        self._names = names

    def many(self, texts: Sequence[Any]) -> list[Any]:
        """The texts (non-text values kept as they are) with names replaced."""
        if self._table is None:
            self._build()
        words_of_names = cast(pd.DataFrame, self._words)
        table = cast(dict, self._table)
        vals = pd.Series(list(texts), dtype=object)
        is_text = vals.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        if not is_text.any() or not table:
            return list(texts)
        tw = vals[is_text].str.findall(_WORD).explode().dropna()
        text_words = pd.DataFrame({"t": tw.index.to_numpy(), "word": name_keys(tw.astype(object)).to_numpy(
            dtype=object)}).dropna()
        present = set(text_words["word"])
        w = words_of_names
        inside = w["word"].isin(present).groupby(w["name"]).all()
        hits = self._names[inside[inside].index.to_numpy()] if inside.any() else pd.Series(dtype=object)
        if not len(hits):
            return list(texts)
        hit_words = set(w.loc[w["name"].isin(hits.index), "word"])
        todo = text_words.loc[text_words["word"].isin(hit_words), "t"].unique()
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(a).replace(r"\ ", r"\s+")
                                                     for a in sorted(hits, key=len, reverse=True)) + r")(?!\w)",
                             re.IGNORECASE)

        def repl(m: re.Match) -> str:
            hit = re.sub(r"\s+", " ", m.group(0)).casefold()
            return table.get(hit) or table.get(name_key(hit) or "", "P-?")

        out = vals.copy()
        out[todo] = [pattern.sub(repl, vals[t]) for t in todo]  # the texts that hold a name's word only
        # accents in the text but not in the name as written (or the reverse): match on the key
        plain = [t for t in todo if out[t] == vals[t]]
        if plain:
            keyed = name_keys(pd.Series([vals[t] for t in plain], dtype=object))
            for t, k in zip(plain, keyed):  # rare: texts that still hold a name in another spelling
                if k:
                    new = pattern.sub(repl, str(k))
                    if new != k:
                        out[t] = new
        return out.tolist()

    def __call__(self, text: str) -> str:
        if not text or not isinstance(text, str):
            return text
        return str(self.many([text])[0])


def _scrubber(raw: np.ndarray, pseudo: np.ndarray) -> _Scrubber:
    return _Scrubber(raw, pseudo)
