#!/usr/bin/env python3
"""Makes the XGBoost test vectors the Swift model runtime is checked against.

Trains a small binary:logistic model on orders-train.csv with real XGBoost (pip install
xgboost), with missing values and two categorical features (native categorical splits),
saves it as JSON (save_model("...json")), and writes rows with XGBoost's own margins and
probabilities. Tests/ModelRuntimeTests compares the Swift scorer with these to 1e-6.

    python3 scripts/make_xgboost_vectors.py   # writes Tests/ModelRuntimeTests/Fixtures/
"""
import csv
import math
import pathlib
import sys

import numpy as np
import xgboost as xgb

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_lightgbm_vectors import CATEGORICAL, CSV, NUMERIC, OUT  # noqa: E402  (one definition of the data)


def main():
    rows = [r for r in csv.DictReader(open(CSV)) if r["label_late_delivery"] not in ("", "nan")]
    codes = {c: {} for c in CATEGORICAL}
    for r in rows:
        for c in CATEGORICAL:
            codes[c].setdefault(r[c], len(codes[c]))
    X = np.array([[float(r[c]) if r[c] not in ("", "nan") else math.nan for c in NUMERIC]
                  + [float(codes[c][r[c]]) for c in CATEGORICAL] for r in rows], dtype=np.float64)
    y = np.array([float(r["label_late_delivery"]) for r in rows])
    types = ["q"] * len(NUMERIC) + ["c"] * len(CATEGORICAL)
    dtrain = xgb.DMatrix(X, y, feature_names=NUMERIC + CATEGORICAL, feature_types=types, enable_categorical=True)
    params = {"objective": "binary:logistic", "max_depth": 4, "eta": 0.1, "tree_method": "hist",
              "max_cat_to_onehot": 1, "seed": 7, "nthread": 1}
    booster = xgb.train(params, dtrain, num_boost_round=40)
    OUT.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(OUT / "xgboost_late.json"))

    sample = X[::25].copy()
    edge = sample[:6].copy()
    edge[0, :] = math.nan
    edge[1, len(NUMERIC)] = 999.0
    edge[3, 0] = 0.0
    edge[4, 4] = 1e9
    edge[5, len(NUMERIC)] = math.nan
    checks = np.vstack([sample, edge])
    dcheck = xgb.DMatrix(checks, feature_names=NUMERIC + CATEGORICAL, feature_types=types, enable_categorical=True)
    margin = booster.predict(dcheck, output_margin=True)
    prob = booster.predict(dcheck)
    with open(OUT / "xgboost_late_vectors.csv", "w", newline="\n") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(NUMERIC + CATEGORICAL + ["margin", "probability"])
        for values, m, p in zip(checks, margin, prob):
            writer.writerow([repr(float(v)) for v in values] + [repr(float(m)), repr(float(p))])
    print(f"wrote {OUT}/xgboost_late.json and {len(checks)} vectors (xgboost {xgb.__version__})")


if __name__ == "__main__":
    main()
