"""Timing of name-keyed loading: the pseudonyms at the door and the near-duplicate search.

    PYTHONPATH=src python benchmarks/bench_pseudonyms.py

* ``near_duplicates`` on n distinct name keys (all n(n-1)/2 pairs screened, the survivors' edit
  distances computed together);
* ``pseudonymise_frames`` on an attendance table of R rows keyed by n names (normalisation,
  HMAC per distinct name, one take per row, the text-column scrub).
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from groupeval.base.pseudonyms import near_duplicates, new_salt
from groupeval.validation.identities import pseudonymise_frames

SYLL = np.array(["an", "ne", "lee", "zo", "e", "jo", "se", "pri", "ya", "ta", "riq", "ing", "rid", "kwa", "me",
                 "ok", "sa", "na", "ma", "ri", "mo", "ham", "med", "al", "i"])


def names(n: int, rng: np.random.Generator) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        k = rng.integers(2, 4, size=2)
        first = "".join(rng.choice(SYLL, k[0]))
        last = "".join(rng.choice(SYLL, k[1]))
        out.add(f"{first} {last}")
    return sorted(out)


def main() -> None:
    rng = np.random.default_rng(1)
    for n in (300, 1000, 3000):
        keys = names(n, rng)
        t = time.perf_counter()
        pairs = near_duplicates(keys)
        print(f"near_duplicates: {n:>5} names, {n * (n - 1) // 2:>9,} pairs screened, {len(pairs):>5} flagged: "
              f"{time.perf_counter() - t:6.2f} s")
    salt = new_salt()
    for n, rows in ((500, 100_000), (5000, 1_000_000)):
        people = names(n, rng)
        spelled = np.array([p.title() if i % 3 else "  " + p.upper() for i, p in enumerate(people)], dtype=object)
        att = pd.DataFrame({"member_id": spelled[rng.integers(0, n, rows)], "group_id": "G1",
                            "session_date": pd.Timestamp("2025-01-06"), "attended": True,
                            "note": np.where(rng.random(rows) < 0.01, "thanks " + people[0], None)})
        t = time.perf_counter()
        door = pseudonymise_frames({"attendance": [att]}, salt=salt)
        print(f"pseudonymise_frames: {rows:>9,} rows, {n:>5} names -> {door.n_members} members: "
              f"{time.perf_counter() - t:6.2f} s (near-duplicate pairs: {len(door.near_duplicates)})")


if __name__ == "__main__":
    main()
