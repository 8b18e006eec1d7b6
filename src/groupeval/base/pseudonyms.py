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


def resolve_salt(salt: str | bytes | None = None, *, directory: str | os.PathLike | None = None,
                 salt_file: str | os.PathLike | None = None, create: bool = True) -> str:
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
def _as_list(x: Any) -> list:
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
                 column: str | Sequence[str] = "member_id", prefix: str = "P-", length: int = 10):
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
_CHUNK = 200_000  # candidate pairs per vectorised block


def _pairs_upper(n: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.triu_indices(n, k=1)
    return i.astype(np.int64), j.astype(np.int64)


def _levenshtein(a: np.ndarray, la: np.ndarray, b: np.ndarray, lb: np.ndarray) -> np.ndarray:
    """Edit distance of many string pairs at once (rows of code-point arrays, padded with -1).

    The classic dynamic programme (Levenshtein 1966) run on all pairs together:
    one numpy step per cell of the (longest a) x (longest b) table, each
    covering every pair.  Cells past a string's end are ignored by reading
    the result at ``(la, lb)`` of each pair.
    """
    p, ma = a.shape
    mb = b.shape[1]
    prev = np.tile(np.arange(mb + 1, dtype=np.int32), (p, 1))
    out = np.where(la == 0, lb, 0).astype(np.int32)
    rows = np.arange(p)
    for i in range(1, ma + 1):  # a loop over character positions (<= the longest name), not over people
        cur = np.empty_like(prev)
        cur[:, 0] = i
        ai = a[:, i - 1][:, None]
        cost = (ai != b).astype(np.int32)
        for j in range(1, mb + 1):
            cur[:, j] = np.minimum(np.minimum(prev[:, j] + 1, cur[:, j - 1] + 1), prev[:, j - 1] + cost[:, j - 1])
        done = la == i
        if done.any():
            out[done] = cur[rows[done], lb[done]]
        prev = cur
    return out


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
    Vectorised: candidate pairs are first screened by length and by the bag
    distance (a lower bound of the edit distance computed from letter
    counts), then the edit distance of the survivors is computed for all of
    them at once.  Word containment uses a word-incidence matrix product.
    The pairs are all :math:`n(n-1)/2` pairs of distinct keys, screened in
    blocks, so memory stays bounded; programmes have hundreds of names, where
    this takes milliseconds.

    In R: ``adist(keys)`` gives the same distances.
    """
    keys = [str(k) for k in keys]
    n = len(keys)
    empty = pd.DataFrame({"a": pd.Series(dtype=np.int64), "b": pd.Series(dtype=np.int64),
                          "kind": pd.Series(dtype=object), "similarity": pd.Series(dtype=float),
                          "edits": pd.Series(dtype=np.int64)})
    if n < 2:
        return empty
    lens = pd.Series(keys, dtype=object).str.len().to_numpy(dtype=np.int32)
    width = max(int(lens.max()), 1)
    # code points of every key as rows of a matrix (UTF-32 view; -1 past the end)
    codes = np.array(keys, dtype=f"<U{width}").view(np.uint32).reshape(n, width).astype(np.int64)
    codes[np.arange(width)[None, :] >= lens[:, None]] = -1
    # letter counts (for the bag distance): each code point -> its column in the alphabet
    valid = codes >= 0
    alphabet, inv = np.unique(codes[valid], return_inverse=True)
    counts = np.zeros((n, max(len(alphabet), 1)), dtype=np.int16)
    np.add.at(counts, (np.nonzero(valid)[0], inv), 1)
    codes = np.where(valid, np.searchsorted(alphabet, np.where(valid, codes, alphabet[0] if len(alphabet) else 0)),
                     -1).astype(np.int32)
    # words: an incidence matrix keys x distinct words
    exploded = pd.Series(keys, dtype=object).str.split(" ").explode()
    wcodes, _ = pd.factorize(exploded)
    wm = np.zeros((n, int(wcodes.max()) + 1 if len(wcodes) else 1), dtype=np.float32)
    wm[exploded.index.to_numpy(), wcodes] = 1.0
    n_words = wm.sum(axis=1)
    found = []
    ii, jj = _pairs_upper(n)
    for s in range(0, len(ii), _CHUNK):
        i, j = ii[s:s + _CHUNK], jj[s:s + _CHUNK]
        common = np.einsum("pw,pw->p", wm[i], wm[j])
        same_words = (common == n_words[i]) & (common == n_words[j])
        part = ~same_words & (common > 0) & ((common == n_words[i]) | (common == n_words[j]))
        diff = np.abs(lens[i] - lens[j]) <= max_edits
        cand = diff.copy()
        if cand.any():
            ci, cj = i[cand], j[cand]
            d = counts[ci].astype(np.int32) - counts[cj].astype(np.int32)
            bag = np.maximum(np.where(d > 0, d, 0).sum(axis=1), np.where(d < 0, -d, 0).sum(axis=1))
            cand[np.flatnonzero(cand)[bag > max_edits]] = False
        edits = np.full(len(i), -1, dtype=np.int32)
        if cand.any():
            ci, cj = i[cand], j[cand]
            edits[cand] = _levenshtein(codes[ci], lens[ci], codes[cj], lens[cj])
        longest = np.maximum(lens[i], lens[j])
        sim_known = edits >= 0
        spelling = sim_known & (edits <= max_edits) & (1 - edits / np.maximum(longest, 1) >= min_similarity)
        flagged = spelling | same_words | part
        if not flagged.any():
            continue
        fi, fj = i[flagged], j[flagged]
        need = flagged & ~sim_known
        if need.any():
            edits[need] = _levenshtein(codes[i[need]], lens[i[need]], codes[j[need]], lens[j[need]])
        e = edits[flagged]
        kind = np.where(same_words[flagged], "word order", np.where(spelling[flagged], "spelling", "part of"))
        found.append(pd.DataFrame({"a": fi, "b": fj, "kind": kind.astype(object),
                                   "similarity": 1 - e / np.maximum(longest[flagged], 1),
                                   "edits": e.astype(np.int64)}))
    if not found:
        return empty
    return pd.concat(found, ignore_index=True)
