#!/usr/bin/env python3
"""Makes the LightGBM test vectors the Swift model runtime is checked against.

Trains a small binary model on orders-train.csv with real LightGBM (pip install lightgbm),
with numeric features that have missing values and two categorical features, saves it with
save_model (text format), and writes rows with LightGBM's own raw scores and probabilities.
Tests/ModelRuntimeTests compares the Swift scorer with these to 1e-6.

    python3 scripts/make_lightgbm_vectors.py   # writes Tests/ModelRuntimeTests/Fixtures/
    python3 scripts/make_lightgbm_vectors.py --trees 100 --out /tmp/lgb100   # orderhub bench-model input
"""
import csv
import math
import pathlib

import lightgbm as lgb
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
CSV = ROOT.parent / "shared" / "data" / "orders-train.csv"
OUT = ROOT / "Tests" / "ModelRuntimeTests" / "Fixtures"

NUMERIC = ["items_price_total", "freight_total", "n_items", "purchase_hour", "estimated_delivery_days",
           "photos_qty_mean", "description_len_mean", "weight_g_total"]
CATEGORICAL = ["customer_state", "payment_type"]


def main():
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--trees", type=int, default=40)
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()
    out = args.out
    rows = list(csv.DictReader(open(CSV)))
    rows = [r for r in rows if r["label_late_delivery"] not in ("", "nan")]
    codes = {c: {} for c in CATEGORICAL}
    for r in rows:
        for c in CATEGORICAL:
            codes[c].setdefault(r[c], len(codes[c]))

    def features(r):
        values = []
        for c in NUMERIC:
            v = r[c]
            values.append(float(v) if v not in ("", "nan") else math.nan)
        for c in CATEGORICAL:
            values.append(float(codes[c][r[c]]))
        return values

    X = np.array([features(r) for r in rows], dtype=np.float64)
    y = np.array([float(r["label_late_delivery"]) for r in rows])
    names = NUMERIC + CATEGORICAL
    data = lgb.Dataset(X, y, feature_name=names, categorical_feature=CATEGORICAL, free_raw_data=False)
    params = {"objective": "binary", "num_leaves": 15, "learning_rate": 0.1, "min_data_in_leaf": 20,
              "min_data_per_group": 20, "cat_smooth": 5, "verbose": -1, "seed": 7, "deterministic": True}
    booster = lgb.train(params, data, num_boost_round=args.trees)
    out.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(out / "lightgbm_late.txt"))

    # Rows to check: real ones (some with NaN), plus edge cases the runtime must handle.
    sample = X[::25].copy()
    edge = sample[:6].copy()
    edge[0, :] = math.nan                     # everything missing
    edge[1, len(NUMERIC)] = 999.0              # unseen category
    edge[2, len(NUMERIC) + 1] = -1.0           # negative category
    edge[3, 0] = 0.0                           # zero
    edge[4, 4] = 1e9                           # far outside the training range
    edge[5, len(NUMERIC)] = math.nan           # missing category
    checks = np.vstack([sample, edge])
    raw = booster.predict(checks, raw_score=True)
    prob = booster.predict(checks)
    with open(out / "lightgbm_late_vectors.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names + ["raw_score", "probability"])
        for values, r, p in zip(checks, raw, prob):
            writer.writerow([repr(float(v)) for v in values] + [repr(float(r)), repr(float(p))])
    # Per-feature contributions (TreeSHAP), last column the expected value: explanations.
    contrib = booster.predict(checks, pred_contrib=True)
    with open(out / "lightgbm_late_contrib.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(names + ["expected_value"])
        for row in contrib:
            writer.writerow([repr(float(v)) for v in row])
    print(f"wrote {out}/lightgbm_late.txt and {len(checks)} vectors (lightgbm {lgb.__version__})")


if __name__ == "__main__":
    main()
