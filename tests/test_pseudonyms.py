"""Name-keyed programmes pseudonymised at the door: salts, name keys, near-duplicates, load(pseudonymise=True).

Sources of truth: RFC 2104 HMAC-SHA256 from Python's hmac module; edit distances from R's
utils::adist (tests/reference/names_adist.R -> names_adist_*.csv); the generated programme of
tests/_helpers_forms.py, whose raw names are known and searched for in everything produced.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import groupeval as ge
from _helpers_forms import BRS_Q, END_FILE, GROUP_Q, NAME_Q, PHQ_Q, REGISTER, START_FILE, write_forms_programme
from groupeval.base.exceptions import ConfigError, GroupevalError, ReadError, ValidationError
from groupeval.base.pseudonyms import (
    _levenshtein,
    check_salt,
    name_key,
    name_keys,
    near_duplicates,
    new_salt,
    pseudonym_of,
    pseudonymise,
    resolve_salt,
)
from groupeval.reporting import privacy

REF = Path(__file__).resolve().parent / "reference"
SALT = "a-test-salt-with-enough-variety-0123"


# --------------------------------------------------------------------------- salts
@pytest.mark.parametrize("weak", [" ", "1", "", "example-salt", "aaaaaaaaaaaaaaaaaaaaaa", "1212121212121212",
                                  "changeme", "   short   "])
def test_weak_salts_are_refused_everywhere(weak, tmp_path, monkeypatch):
    monkeypatch.delenv("GROUPEVAL_SALT", raising=False)
    with pytest.raises(ConfigError, match="too weak") as info:
        pseudonymise(pd.Series(["M1"]), salt=weak)
    assert len(weak.strip()) < 4 or weak.strip() not in str(info.value)  # the salt is never echoed
    with pytest.raises(ConfigError, match="too weak"):
        resolve_salt(weak)
    (tmp_path / ".groupeval_salt").write_text(weak + "\n")
    if weak.strip():  # an empty salt file is replaced by a fresh salt
        with pytest.raises(ConfigError, match="too weak"):
            resolve_salt(directory=tmp_path)
    monkeypatch.setenv("GROUPEVAL_SALT", weak or " ")
    with pytest.raises(ConfigError, match="too weak"):
        resolve_salt(directory=tmp_path / "elsewhere")


def test_fresh_salts_pass_and_pseudonyms_are_hmac_sha256():
    s = new_salt()
    assert check_salt(s) == s and len(s) == 64
    want = "P-" + hmac.new(SALT.encode(), b"ann lee", hashlib.sha256).hexdigest()[:10]
    assert pseudonym_of("ann lee", salt=SALT) == want
    assert privacy.pseudonymise is pseudonymise and privacy.resolve_salt is resolve_salt  # re-exported


def test_salt_file_is_created_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("GROUPEVAL_SALT", raising=False)
    f = tmp_path / "private" / "programme.salt"
    first = resolve_salt(salt_file=f)
    assert f.read_text().strip() == first and (os.stat(f).st_mode & 0o777) == 0o600
    assert resolve_salt(salt_file=f) == first
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_salt(salt_file=tmp_path / "missing.salt", create=False)


# --------------------------------------------------------------------------- names
def test_name_keys_join_case_spaces_and_accents():
    s = pd.Series(["Ann  Lee", "ann lee", "Ann Lee ", " ANN\tLEE", "Zoë", "Zoe", "O\u2019Brien", "O'brien", None, ""])
    k = name_keys(s)
    assert k[:4].nunique() == 1 and k[0] == "ann lee"
    assert k[4] == k[5] == "zoe" and k[6] == k[7] == "o'brien"
    assert k[8] is None and k[9] is None
    assert [name_key(v) for v in s[:8]] == list(k[:8])


def test_edit_distances_against_R_adist():
    keys = pd.read_csv(REF / "names_adist_keys.csv", keep_default_na=False)["key"].tolist()
    ref = pd.read_csv(REF / "names_adist_ref.csv")
    n = len(keys)
    width = max(map(len, keys))
    codes = np.array(keys, dtype=f"<U{width}").view(np.uint32).reshape(n, width).astype(np.int32)
    lens = np.array([len(k) for k in keys], dtype=np.int32)
    codes[np.arange(width)[None, :] >= lens[:, None]] = -1
    a, b = ref["a"].to_numpy(), ref["b"].to_numpy()
    got = _levenshtein(codes[a], lens[a], codes[b], lens[b])
    assert np.array_equal(got, ref["distance"].to_numpy())
    banded = _levenshtein(codes[a], lens[a], codes[b], lens[b], band=2)   # exact up to 2, else 3
    assert np.array_equal(banded, np.minimum(ref["distance"].to_numpy(), 3))


def test_near_duplicates_flag_exactly_the_rule_on_R_distances():
    keys = pd.read_csv(REF / "names_adist_keys.csv", keep_default_na=False)["key"].tolist()
    ref = pd.read_csv(REF / "names_adist_ref.csv")
    longest = np.maximum([len(keys[i]) for i in ref["a"]], [len(keys[j]) for j in ref["b"]])
    spelling = (ref["distance"] <= 2) & (1 - ref["distance"] / longest >= 0.75)
    words = [set(k.split(" ")) for k in keys]
    same = np.array([words[i] == words[j] for i, j in zip(ref["a"], ref["b"])])
    part = np.array([(words[i] < words[j]) or (words[j] < words[i]) for i, j in zip(ref["a"], ref["b"])])
    want = set(zip(ref["a"][spelling | same | part], ref["b"][spelling | same | part]))
    got = near_duplicates(keys)
    assert set(zip(got["a"], got["b"])) == want
    by = {(keys[a], keys[b]): k for a, b, k in zip(got["a"], got["b"], got["kind"])}
    assert by[("ann lee", "anne lee")] == "spelling" and by[("ann lee", "lee ann")] == "word order"
    assert by[("ann lee", "ann")] == "part of" and ("tom", "tim") not in by
    merged = got.merge(ref, on=["a", "b"])
    assert np.allclose(merged["edits"], merged["distance"])


# --------------------------------------------------------------------------- load(pseudonymise=True)
def _config(fp) -> None:
    cols = {NAME_Q: "member_id", GROUP_Q: "group_id", "Timestamp": "completed_on",
            **{BRS_Q.format(k=k): f"brs_{k}" for k in range(1, 7)},
            **{PHQ_Q.format(k=k): f"phq9_{k}" for k in range(1, 10)}}
    col_lines = "\n".join(f'"{a}" = "{b}"' for a, b in cols.items())
    toml = (f'[programme]\ntimepoints = ["baseline", "end"]\ndayfirst = true\n[privacy]\npseudonymise = true\n'
            f'[files.attendance]\npath = "{REGISTER}"\ncolumns = {{ "Name" = "member_id" }}\n'
            f'[[files.surveys]]\npath = "{START_FILE}"\ntimepoint = "baseline"\n[files.surveys.columns]\n{col_lines}\n'
            f'[[files.surveys]]\npath = "{END_FILE}"\ntimepoint = "end"\n[files.surveys.columns]\n{col_lines}\n')
    (fp.folder / "groupeval.toml").write_text(toml, encoding="utf-8")


def _quiet_load(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ge.load(path, **kw)


def _hits(text: str, names) -> list[str]:
    return [n for n in names if re.search(r"(?<!\w)" + re.escape(n) + r"(?!\w)", text, re.IGNORECASE)]


@pytest.fixture
def forms(tmp_path, monkeypatch):
    monkeypatch.delenv("GROUPEVAL_SALT", raising=False)
    fp = write_forms_programme(tmp_path / "prog")
    _config(fp)
    return fp


def test_names_are_joined_pseudonymised_and_kept_nowhere(forms):
    ds = _quiet_load(forms.folder)
    # 20 people in the register; form spellings ("ann ", "  ZOË" without accents...) join them
    assert ds.members["member_id"].nunique() == 20
    assert set(ds.responses["member_id"]) <= set(ds.members["member_id"])
    assert ds.members["member_id"].str.fullmatch(r"P-[0-9a-f]{10}").all()
    blob = pickle.dumps(ds)
    text = blob.decode("latin-1") + blob.decode("utf-8", errors="ignore")
    assert _hits(text, forms.names) == []
    q = ds.quality.to_frame().astype(str).to_csv()
    assert _hits(q, forms.names) == []
    assert ds.meta["pseudonymised"] is True and "salt" not in str(ds.meta)


def test_pseudonyms_are_stable_and_reusable_across_quarters(forms, tmp_path):
    a = _quiet_load(forms.folder)
    b = _quiet_load(forms.folder)
    assert a.members["member_id"].tolist() == b.members["member_id"].tolist()
    # next quarter: a new folder that points at the same salt file keeps the same pseudonyms
    salt = (forms.folder / ".groupeval_salt").read_text()
    shared = tmp_path / "private.salt"
    shared.write_text(salt)
    q2 = write_forms_programme(tmp_path / "q2")
    _config(q2)
    toml = (q2.folder / "groupeval.toml").read_text().replace(
        "pseudonymise = true", f'pseudonymise = true\nsalt_file = "{shared.as_posix()}"')
    (q2.folder / "groupeval.toml").write_text(toml)
    c = _quiet_load(q2.folder)
    assert sorted(c.members["member_id"]) == sorted(a.members["member_id"])
    assert not (q2.folder / ".groupeval_salt").exists()


def test_near_duplicates_are_listed_not_merged_and_can_be_confirmed(forms):
    # someone typed their name with a letter doubled in the start form ("Priya" -> "Priyaa");
    # Ann and Anne are two people of the register
    path = forms.folder / START_FILE
    start = pd.read_csv(path, dtype=str, keep_default_na=False)
    keys = name_keys(start[NAME_Q])
    victim = next(k for k in keys if k not in ("ann", "anne") and len(k) >= 4)
    start[NAME_Q] = start[NAME_Q].where(keys != victim, victim + victim[-1])
    start.to_csv(path, index=False)
    with pytest.warns(ge.DataQualityWarning, match="look alike"):
        ds = ge.load(forms.folder)  # (also warns about the repairs)
    near = ds.meta["near_duplicates"]
    assert len(near) == 2 and set(near["kind"]) == {"spelling"}
    priya = pseudonym_of(victim, salt=resolve_salt(directory=forms.folder))
    row = near[(near["pseudonym_a"] == priya) | (near["pseudonym_b"] == priya)].iloc[0]
    a, b = row["pseudonym_a"], row["pseudonym_b"]
    other = b if a == priya else a
    assert other in set(ds.responses["member_id"]) and other not in set(ds.members["member_id"])  # kept apart
    assert START_FILE in (row["where_a"] + row["where_b"]) and REGISTER in (row["where_a"] + row["where_b"])
    flagged = ds.quality.to_frame().query("action == 'flagged'")
    assert f"{a} ~ {b}" in set(flagged["value"])
    merged = _quiet_load(forms.folder, same_person=[[priya, other]])
    assert other not in set(merged.responses["member_id"]) and priya in set(merged.responses["member_id"])
    assert len(merged.meta["near_duplicates"]) == 1                      # Ann / Anne still listed
    ann = near[near["pseudonym_a"] != row["pseudonym_a"]].iloc[0]
    apart = _quiet_load(forms.folder, same_person=[[priya, other]],
                        not_same=[[ann["pseudonym_a"], ann["pseudonym_b"]]])
    assert len(apart.meta["near_duplicates"]) == 0
    with pytest.raises(ConfigError, match="no member key gives"):
        _quiet_load(forms.folder, same_person=[[a, "P-0000000000"]])


def test_error_messages_show_pseudonyms_not_names(forms):
    # a members file that lacks one register member: survey answers from that member are errors
    register = pd.read_excel(forms.folder / REGISTER, sheet_name=None, header=1)
    rows = [(n, g) for g, df in register.items() for n in df["Name"]]
    members = pd.DataFrame({"Name": [n for n, _ in rows[1:]], "group_id": [g for _, g in rows[1:]],
                            "enrolled_on": "2025-01-01"})
    members.to_csv(forms.folder / "members.csv", index=False)
    toml = (forms.folder / "groupeval.toml").read_text() + \
        '[files.members]\npath = "members.csv"\ncolumns = { "Name" = "member_id" }\n'
    (forms.folder / "groupeval.toml").write_text(toml)
    with pytest.raises(GroupevalError) as info:
        _quiet_load(forms.folder)
    err = info.value
    text = str(err) + "".join(str(p) for p in err.problems) + err.to_frame().to_csv()
    assert "P-" in text and _hits(text, forms.names) == []
    assert err.__context__ is None or _hits(str(err.__context__), forms.names) == []


def test_unreadable_row_of_a_name_keyed_file_is_hidden(forms):
    path = forms.folder / START_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3] + ",extra,cells"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ReadError) as info:
        _quiet_load(forms.folder)
    text = str(info.value)
    assert "fields but the header has" in text and _hits(text, forms.names) == []


def test_scrubber_replaces_names_in_reader_problems(forms):
    from groupeval.base.exceptions import Problem
    from groupeval.validation.identities import pseudonymise_frames

    frames = {"attendance": [pd.DataFrame({"member_id": ["Ann Lee", "Zoë"], "_source_file": "x",
                                           "_source_row": [2, 3]})]}
    door = pseudonymise_frames(frames, salt=SALT)
    p = door.scrub_problem(Problem("x", 2, "c", "ann  lee", "member 'ZOË' differs from Zoe", "ask Ann Lee"))
    assert _hits(str(p), ["Ann Lee", "Zoë", "Zoe", "ann"]) == []
    assert pseudonym_of("ann lee", salt=SALT) in str(p)


def test_validation_error_without_pseudonymise_is_unchanged(tmp_path):
    with pytest.raises(ValidationError):
        ge.validate(responses=pd.DataFrame({"member_id": ["a"], "timepoint": ["t"], "phq9_1": ["often-ish"]}))
