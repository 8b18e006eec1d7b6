"""Write retention_km_input.csv: the per-member survival data of the
deterministic test programme (tests/_helpers_retention.random_programme),
as groupeval.statistics.retention computes it.  R (retention_km.R) then fits the same
data independently.  Re-run from the repo root:

    python tests/reference/retention_input.py && Rscript tests/reference/retention_km.R
"""
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import groupeval as ge  # noqa: E402
from _helpers_retention import random_programme  # noqa: E402

warnings.simplefilter("ignore")
ds = random_programme()
res = ge.retention(ds, by="group_type")
m = res.members.merge(ds.groups[["group_id", "facilitation"]], on="group_id", how="left")
m["event"] = m["event"].astype(int)
m.to_csv(HERE / "retention_km_input.csv", index=False)
print(f"wrote {len(m)} members")
