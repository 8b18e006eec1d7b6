"""Write the per-member survival inputs that tests/reference/retention_km.R fits independently in R:

* retention_km_input.csv: the deterministic test programme
  (tests/_helpers_retention.random_programme; 8 groups, 4 group types, late entry);
* retention_sample_input.csv: the shipped sample programme
  (``groupeval.sample.generate()`` with its defaults; 12 groups), the one the
  sample report describes.

Both as groupeval.statistics.retention computes them (``result.members`` plus
``facilitation``).  Re-run from the repo root:

    PYTHONPATH=src python tests/reference/retention_input.py && Rscript tests/reference/retention_km.R
"""
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import groupeval as ge  # noqa: E402
from _helpers_retention import random_programme  # noqa: E402

warnings.simplefilter("ignore")
for name, ds in (("retention_km_input.csv", random_programme()), ("retention_sample_input.csv", ge.sample.generate())):
    res = ge.retention(ds, by="group_type")
    m = res.members.merge(ds.groups[["group_id", "facilitation"]], on="group_id", how="left")
    m["event"] = m["event"].astype(int)
    m.to_csv(HERE / name, index=False)
    print(f"{name}: wrote {len(m)} members in {m['group_id'].nunique()} groups")
