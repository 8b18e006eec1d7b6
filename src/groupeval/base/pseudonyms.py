"""Salted pseudonyms: the salt, HMAC pseudonyms, name keys and near-duplicate names.

This module is in ``base`` because two layers need it: validation replaces a
programme's member keys (names or e-mail addresses) by pseudonyms *before*
any rule runs (``groupeval.load(path, pseudonymise=True)``), and reporting
pseudonymises member ids in exports (:mod:`groupeval.privacy` re-exports
:func:`pseudonymise`, :func:`new_salt` and :func:`resolve_salt`).

* :func:`new_salt` / :func:`resolve_salt` / :func:`check_salt` - where the
  secret salt comes from, and refusing weak ones;
* :func:`pseudonymise` - ids -> ``P-`` + 10 hex digits of HMAC-SHA256(salt, id);
* :func:`name_key` / :func:`name_keys` - a person's name or e-mail address as a
  comparison key (case, accents, surrounding and repeated whitespace ignored),
  so ``"Ann  Lee"``, ``"ann lee"`` and ``"Ann Lee "`` are one member;
* :func:`near_duplicates` - keys that normalisation did not join but that
  look like one person (``"ann lee"`` / ``"anne lee"``), to be confirmed by
  the user, never merged silently.

References
----------
Krawczyk H, Bellare M, Canetti R. HMAC: keyed-hashing for message
authentication. RFC 2104, 1997.  Levenshtein VI. Binary codes capable of
correcting deletions, insertions and reversals. Soviet Physics Doklady
1966;10:707-710.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import ConfigError

__all__ = [
    "SALT_ENV",
    "SALT_FILE",
    "MIN_SALT_LENGTH",
    "new_salt",
    "check_salt",
    "resolve_salt",
    "pseudonymise",
    "pseudonym_of",
    "name_key",
    "name_keys",
    "near_duplicates",
]

#: Environment variable read by :func:`resolve_salt`.
SALT_ENV = "GROUPEVAL_SALT"
#: File name of a per-dataset salt kept beside the data (see :func:`resolve_salt`).
SALT_FILE = ".groupeval_salt"
#: Shortest salt accepted (characters).  :func:`new_salt` gives 64.
MIN_SALT_LENGTH = 16
_MIN_DISTINCT = 8
_PLACEHOLDERS = {"example-salt", "examplesalt", "changeme", "change-me", "password", "salt", "secret",
                 "groupeval", "test", "testsalt", "mysalt", "s3cret", "0123456789abcdef", "abcdefghijklmnop"}


# --------------------------------------------------------------------------- the salt
def new_salt() -> str:
    """A fresh random salt (64 hex characters, 256 bits, from :mod:`secrets`)."""
    return secrets.token_hex(32)


def check_salt(salt: str | bytes | None, *, where: str = "the salt") -> str:
    """Return ``salt`` as text, or raise :class:`ConfigError` when it is weak.

    Weak: missing or empty; fewer than :data:`MIN_SALT_LENGTH` (16) characters
    once surrounding whitespace is removed (``" "``, ``"1"``,
    ``"example-salt"``); fewer than 8 different characters
    (``"aaaaaaaaaaaaaaaaaaaa"``); or a well-known placeholder.  A short or
    guessable salt lets anyone who sees the pseudonyms hash likely names and
    ids and find who is who.  The salt itself is never shown in the message.
    """
    if salt is None:
        raise ConfigError(f"no salt for pseudonyms ({where}); see groupeval.privacy.resolve_salt")
    text = salt.decode("utf-8", errors="replace") if isinstance(salt, bytes) else str(salt)
    core = text.strip()
    reason = ""
    if not core:
        reason = "it is empty or only spaces"
    elif len(core) < MIN_SALT_LENGTH:
        reason = f"it has {len(core)} character(s); at least {MIN_SALT_LENGTH} are needed"
    elif len(set(core)) < _MIN_DISTINCT:
        reason = f"it uses only {len(set(core))} different characters; at least {_MIN_DISTINCT} are needed"
    elif core.casefold() in _PLACEHOLDERS:
        reason = "it is a well-known placeholder"
    if reason:
        raise ConfigError(
            f"The salt for pseudonyms ({where}) is too weak: {reason}. A weak salt lets anyone who sees the "
            "pseudonyms guess names and ids and find who is who. Delete it and let groupeval create a random "
            f"one (a {SALT_FILE} file beside your data, or groupeval.privacy.new_salt()), or use a passphrase "
            f"of at least {MIN_SALT_LENGTH} varied characters.")
    return core


def _read_salt_file(path: Path) -> str | None:
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8").strip()
    return text or None


def _write_salt_file(path: Path) -> str:
    value = new_salt()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n", encoding="utf-8")
    try:
        path.chmod(0o600)
    except OSError:  # pragma: no cover - e.g. some network file systems
        pass
    return value


def resolve_salt(salt: str | bytes | None = None, *, directory: str | os.PathLike[str] | None = None,
                 salt_file: str | os.PathLike[str] | None = None, create: bool = True) -> str:
    """Find the salt for pseudonyms, and refuse a weak one (:func:`check_salt`).

    Order: the explicit ``salt``; the file ``salt_file`` (e.g. from
    ``[privacy] salt_file = "..."`` in groupeval.toml); the environment
    variable ``GROUPEVAL_SALT``; the file ``.groupeval_salt`` in ``directory``
    (the data folder).  A missing ``salt_file`` or ``.groupeval_salt`` is
    created with :func:`new_salt` (mode 600) when ``create`` is True.

    Keeping the salt with the identifiable data (not with the shared outputs)
    keeps pseudonyms stable across runs while nobody who only sees the outputs
    can link them back.  To keep the same pseudonyms across quarters, point
    every quarter's configuration at one salt file (``salt_file``), or copy the
    ``.groupeval_salt`` file into the next quarter's folder.
    """
    if salt is not None:
        return check_salt(salt, where="salt=")
    if salt_file is not None:
        path = Path(salt_file)
        found = _read_salt_file(path)
        if found is None:
            if not create:
                raise ConfigError(f"the salt file {path} does not exist; create it with groupeval.privacy.new_salt() "
                                  "or allow create=True")
            found = _write_salt_file(path)
        return check_salt(found, where=f"salt file {path.name}")
    env = os.environ.get(SALT_ENV)
    if env is not None and env != "":
        return check_salt(env, where=f"environment variable {SALT_ENV}")
    if directory is None:
        raise ConfigError(f"no salt for pseudonyms: pass salt=..., set the environment variable {SALT_ENV}, "
                          f"or give directory= so a {SALT_FILE} file can be kept beside the data.")
    d = Path(directory)
    if d.is_file():
        d = d.parent
    path = d / SALT_FILE
    found = _read_salt_file(path)
    if found is not None:
        return check_salt(found, where=f"{SALT_FILE} in {d.name or d}")
    if not create:
        raise ConfigError(f"no salt file {path}; set {SALT_ENV} or allow create=True.")
    return _write_salt_file(path)


# --------------------------------------------------------------------------- pseudonyms
def _as_list(x: Any) -> list[Any]:
    if x is None:
        return []
    if isinstance(x, str) or not isinstance(x, Iterable):
        return [x]
    return list(x)


def _hash_ids(values: np.ndarray, key: bytes, prefix: str, length: int) -> np.ndarray:
    # One HMAC per *distinct* id (hashlib has no vectorised form; C-implemented, ~1 µs each).
    return np.array([prefix + hmac.new(key, str(v).encode("utf-8"), hashlib.sha256).hexdigest()[:length]
                     for v in values], dtype=object)


def _key_of(salt: str | bytes) -> bytes:
    return salt if isinstance(salt, bytes) else str(salt).encode("utf-8")


def pseudonym_of(value: str, *, salt: str | bytes, prefix: str = "P-", length: int = 10) -> str:
    """The pseudonym of one id (as :func:`pseudonymise` gives it); the salt is checked."""
    check_salt(salt)
    return str(_hash_ids(np.array([value], dtype=object), _key_of(salt), prefix, length)[0])


def pseudonymise(data: pd.Series | pd.DataFrame, *, salt: str | bytes,
                 column: str | Sequence[str] = "member_id", prefix: str = "P-",
                 length: int = 10) -> pd.Series | pd.DataFrame:
    """Replace member ids by stable salted pseudonyms.

    Parameters
    ----------
    data
        A Series of ids, or a DataFrame whose ``column`` (or columns) hold ids.
    salt
        Secret key (see :func:`resolve_salt`); a weak salt is refused
        (:func:`check_salt`).  The same id and salt always give the same
        pseudonym; a different salt gives unrelated pseudonyms.
    column
        Id column(s) of a DataFrame (default ``member_id``).
    prefix, length
        Pseudonym = ``prefix`` + the first ``length`` hex digits of
        HMAC-SHA256(salt, id), e.g. ``P-3f9a1c2b4d``.

    Returns
    -------
    Series or DataFrame
        Same shape; missing ids stay missing.  The column keeps its name.

    Raises
    ------
    ConfigError
        Weak salt, ``length`` outside 8..64, or two ids that collide after
        truncation (use a larger ``length``).

    Notes
    -----
    HMAC-SHA256 (RFC 2104) with a secret salt is a keyed one-way function:
    without the salt, guessing ids and hashing them does not reveal which
    pseudonym belongs to whom.  With ``length`` hex digits the chance that two
    of :math:`n` ids collide is about :math:`n^2 / 2^{4\\,\\mathrm{length}+1}`
    (10 digits, 10 000 members: 5e-5); collisions are detected and raise.

    In R: ``digest::hmac(salt, id, "sha256")`` per id.
    """
    check_salt(salt, where="salt=")
    if not isinstance(length, int) or not 8 <= length <= 64:
        raise ConfigError(f"length must be an integer from 8 to 64, got {length!r}.")
    key = _key_of(salt)

    def _one(s: pd.Series) -> pd.Series:
        codes, uniques = pd.factorize(s.astype("string"), use_na_sentinel=True)
        hashed = _hash_ids(np.asarray(uniques, dtype=object), key, prefix, length)
        if len(set(hashed)) != len(hashed):
            raise ConfigError(f"two ids collide after truncating their pseudonyms to {length} hex digits; "
                              "use a larger length= (e.g. 16).")
        out = pd.Series(pd.array(np.where(codes >= 0, hashed[np.maximum(codes, 0)] if len(hashed) else None,
                                          None), dtype="string"), index=s.index, name=s.name)
        return out

    if isinstance(data, pd.Series):
        return _one(data)
    if not isinstance(data, pd.DataFrame):
        raise ConfigError(f"pseudonymise takes a pandas Series or DataFrame, got {type(data).__name__}.")
    cols = _as_list(column)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ConfigError(f"column(s) {missing} not in the table; its columns are {list(data.columns)}.")
    out = data.copy()
    for c in cols:
        out[c] = _one(out[c])
    return out


# --------------------------------------------------------------------------- names
def name_key(text: object) -> str | None:
    """A name or e-mail address as a comparison key; None for a blank cell.

    Lower case, accents removed (Unicode NFKD without combining marks:
    ``"Zoë"`` -> ``"zoe"``), typographic apostrophes and dashes made plain,
    surrounding whitespace removed and every run of inner whitespace made one
    space.  ``"Ann  Lee"``, ``"ann lee"`` and ``"Ann Lee "`` give ``"ann lee"``.
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    out = name_keys(pd.Series([str(text)], dtype=object)).iloc[0]
    return None if out is None else str(out)


def name_keys(values: pd.Series) -> pd.Series:
    """:func:`name_key` of every cell (pyarrow compute on the distinct values; None for blanks)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [u if isinstance(u, str) else str(u) for u in uniques] if uniques.dtype == object else \
        [str(u) for u in uniques]
    arr = pa.array(texts, type=pa.string())
    for src, dst in (("[\u2019\u2018\u02bc`\u00b4]", "'"), ("[\u2010-\u2014]", "-")):
        arr = pc.replace_substring_regex(arr, src, dst)
    arr = pc.utf8_normalize(arr, form="NFKD")
    arr = pc.replace_substring_regex(arr, r"\p{Mn}+", "")
    arr = pc.utf8_lower(arr)
    arr = pc.utf8_trim_whitespace(pc.replace_substring_regex(arr, r"\s+", " "))
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    keys = np.concatenate([arr.to_numpy(zero_copy_only=False).astype(object), np.array([None], dtype=object)])
    return pd.Series(keys[codes], index=values.index, dtype=object)


# --------------------------------------------------------------------------- near-duplicates
_CHUNK = 200_000  # candidate pairs per edit-distance block
_BLOCK_CELLS = 20_000_000  # pairs screened per matrix product (rows x keys)


def _levenshtein(a: np.ndarray, la: np.ndarray, b: np.ndarray, lb: np.ndarray,
                 band: int | None = None) -> np.ndarray:
    """Edit distance of many string pairs at once (rows of code-point arrays, padded with -1).

    The classic dynamic programme (Levenshtein 1966) run on all pairs together:
    one numpy step per cell of the (longest a) x (longest b) table, each
    covering every pair.  Cells past a string's end are ignored by reading
    the result at ``(la, lb)`` of each pair.  With ``band=k`` only the cells
    within ``k`` of the diagonal are computed (Ukkonen's band): distances up
    to ``k`` are exact, larger ones are returned as ``k + 1``.
    """
    p = a.shape[0]
    if p == 0:
        return np.zeros(0, dtype=np.int32)
    ma, mb = int(la.max()), int(lb.max())
    a, b = a[:, :max(ma, 1)], b[:, :max(mb, 1)]
    cap = np.int32(band + 1) if band is not None else None
    prev = np.tile(np.arange(mb + 1, dtype=np.int32), (p, 1))
    if cap is not None:
        np.minimum(prev, cap, out=prev)
    out = np.where(la == 0, lb, 0).astype(np.int32)
    rows = np.arange(p)
    for i in range(1, ma + 1):  # a loop over character positions (<= the longest name), not over people
        cur = np.empty_like(prev) if cap is None else np.full_like(prev, cap)
        cur[:, 0] = i if cap is None else min(i, int(cap))
        ai = a[:, i - 1][:, None]
        cost = (ai != b).astype(np.int32)
        lo, hi = (1, mb) if band is None else (max(1, i - band), min(mb, i + band))
        for j in range(lo, hi + 1):
            cur[:, j] = np.minimum(np.minimum(prev[:, j] + 1, cur[:, j - 1] + 1), prev[:, j - 1] + cost[:, j - 1])
        done = la == i
        if done.any():
            out[done] = cur[rows[done], lb[done]]
        prev = cur
    return out if cap is None else np.minimum(out, cap)


def near_duplicates(keys: Sequence[str], *, max_edits: int = 2, min_similarity: float = 0.75) -> pd.DataFrame:
    """Pairs of distinct keys that may be one person.

    Parameters
    ----------
    keys
        Distinct name keys (:func:`name_key`).
    max_edits, min_similarity
        A pair is a *spelling* near-duplicate when its Levenshtein distance
        :math:`d` (insertions, deletions, substitutions) is at most
        ``max_edits`` and its similarity :math:`1 - d / \\max(|a|, |b|)` at
        least ``min_similarity`` (``"ann lee"`` / ``"anne lee"``: d = 1,
        similarity 0.875).

    Returns
    -------
    DataFrame
        ``a``, ``b`` (positions in ``keys``, a < b), ``kind`` (``"spelling"``;
        ``"word order"`` - the same words in another order, ``"lee ann"``;
        ``"part of"`` - every word of one is in the other, ``"ann"`` /
        ``"ann lee"``), ``similarity`` (the Levenshtein similarity above, in
        [0, 1]), ``edits`` (:math:`d`).

    Notes
    -----
    Vectorised, without comparing every pair letter by letter.  Words: a
    self-join of the (key, word) table on the word gives, for every pair
    with a word in common, how many they share.  Spelling: a pair within
    :math:`k` edits shares at least :math:`\\max(|a|, |b|) - 1 - 2k` letter
    pairs (bigrams; Ukkonen's q-gram lemma, q = 2), and the product of the
    bigram-count matrices bounds the shared bigrams from above, so pairs
    failing the bound are dropped safely (here :math:`k = \\min(\\text{max\\_edits},
    \\lfloor (1 - \\text{min\\_similarity}) \\max(|a|, |b|) \\rfloor)`, the
    largest distance that can still pass).  The edit distance of the
    survivors is computed for all of them at once.

    References: Ukkonen E. Approximate string-matching with q-grams and
    maximal matches. Theoretical Computer Science 1992;92:191-211.

    In R: ``adist(keys)`` gives the same distances.
    """
    keys = [str(k) for k in keys]
    n = len(keys)
    cols = {"a": pd.Series(dtype=np.int64), "b": pd.Series(dtype=np.int64), "kind": pd.Series(dtype=object),
            "similarity": pd.Series(dtype=float), "edits": pd.Series(dtype=np.int64)}
    if n < 2:
        return pd.DataFrame(cols)
    ser = pd.Series(keys, dtype=object)
    lens = ser.str.len().to_numpy(dtype=np.int32)
    width = max(int(lens.max()), 1)
    # code points of every key as rows of a matrix (UTF-32 view; -1 past the end)
    raw = np.array(keys, dtype=f"<U{width}").view(np.uint32).reshape(n, width).astype(np.int64)
    valid = np.arange(width)[None, :] < lens[:, None]
    alphabet, inv = np.unique(raw[valid], return_inverse=True)
    codes = np.full((n, width), -1, dtype=np.int32)
    codes[valid] = inv
    # ---- words: pairs sharing a word, and how many
    exploded = ser.str.split(" ").explode()
    kw = pd.DataFrame({"k": exploded.index.to_numpy(), "w": exploded.to_numpy()}).drop_duplicates()
    n_words = kw.groupby("k").size().reindex(range(n), fill_value=0).to_numpy()
    joined = kw.merge(kw, on="w")
    joined = joined[joined["k_x"] < joined["k_y"]]
    common = joined.groupby(["k_x", "k_y"]).size()
    wa = common.index.get_level_values(0).to_numpy(dtype=np.int64)
    wb = common.index.get_level_values(1).to_numpy(dtype=np.int64)
    cw = common.to_numpy()
    same_words = (cw == n_words[wa]) & (cw == n_words[wb])
    part = ~same_words & ((cw == n_words[wa]) | (cw == n_words[wb]))
    word_pairs = pd.DataFrame({"a": wa, "b": wb, "kind": np.where(same_words, "word order", "part of")})
    word_pairs = word_pairs[same_words | part]
    # ---- spelling: bigram bound, then the edit distance of the survivors
    pairs_a, pairs_b = [], []
    if width >= 2:
        left, right = codes[:, :-1], codes[:, 1:]
        ok = (left >= 0) & (right >= 0)
        big = left.astype(np.int64) * (len(alphabet) + 1) + right
        bid, binv = np.unique(big[ok], return_inverse=True)
        bg = np.zeros((n, len(bid)), dtype=np.float32)
        np.add.at(bg, (np.nonzero(ok)[0], binv), 1.0)
        # per length of the longer key: the largest distance that can pass, and the bigrams it needs
        ln = np.arange(width + 1)
        k_of = np.minimum(max_edits, np.floor((1 - min_similarity) * ln + 1e-9)).astype(np.int16)
        need_of = (ln - 1 - 2 * k_of).astype(np.float32)
        lens16 = lens.astype(np.int16)
        step = max(1, _BLOCK_CELLS // n)
        for r0 in range(0, n, step):  # blocks of rows against the keys after them: one matrix product each
            r1 = min(n, r0 + step)
            shared = bg[r0:r1] @ bg[r0:].T
            li, lj = lens16[r0:r1, None], lens16[None, r0:]
            longest = np.maximum(li, lj)
            k = k_of[longest]
            cand = (k >= 1) & (np.abs(li - lj) <= k) & (shared >= need_of[longest])
            cand &= np.arange(r1 - r0)[:, None] < np.arange(n - r0)[None, :]
            ci, cj = np.nonzero(cand)
            pairs_a.append(ci + r0)
            pairs_b.append(cj + r0)
    sa = np.concatenate(pairs_a) if pairs_a else np.zeros(0, np.int64)
    sb = np.concatenate(pairs_b) if pairs_b else np.zeros(0, np.int64)
    # every candidate (spelling or word) gets its edit distance, in blocks
    allp = pd.concat([pd.DataFrame({"a": sa, "b": sb, "kind": "spelling?"}), word_pairs], ignore_index=True)
    allp = allp.drop_duplicates(["a", "b"], keep="last")  # a word relation wins over "spelling?"
    if not len(allp):
        return pd.DataFrame(cols)
    a = allp["a"].to_numpy(dtype=np.int64)
    b = allp["b"].to_numpy(dtype=np.int64)
    edits = np.empty(len(allp), dtype=np.int32)
    spelling_only = (allp["kind"] == "spelling?").to_numpy()
    for sel, band in ((np.flatnonzero(spelling_only), max_edits), (np.flatnonzero(~spelling_only), None)):
        for s0 in range(0, len(sel), _CHUNK):  # spelling candidates: only "within max_edits?" matters
            ix = sel[s0:s0 + _CHUNK]
            edits[ix] = _levenshtein(codes[a[ix]], lens[a[ix]], codes[b[ix]], lens[b[ix]], band=band)
    longest = np.maximum(lens[a], lens[b])
    sim = 1 - edits / np.maximum(longest, 1)
    spelling = (edits <= max_edits) & (sim >= min_similarity - 1e-12)
    kind = allp["kind"].to_numpy(dtype=object)
    is_word = kind != "spelling?"
    kind = np.where(is_word & ~((kind == "part of") & spelling), kind, "spelling")
    keep = spelling | is_word
    out = pd.DataFrame({"a": a[keep], "b": b[keep], "kind": kind[keep].astype(object),
                        "similarity": sim[keep].astype(float), "edits": edits[keep].astype(np.int64)})
    return out.sort_values(["a", "b"], kind="stable").reset_index(drop=True)
