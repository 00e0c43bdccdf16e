#!/usr/bin/env python3
"""Writes XGBoost's own path-attribution contributions for the fixture model and rows.

Loads Tests/ModelRuntimeTests/Fixtures/xgboost_late.json and the rows of
xgboost_late_vectors.csv (made by make_xgboost_vectors.py) and writes, per row, XGBoost's
`predict(pred_contribs=True, approx_contribs=True)`: one contribution per feature, then the
bias. Tests/ModelRuntimeTests checks the Swift runtime's `pathContributions` against them.

    python3 scripts/make_xgboost_contrib_vectors.py   # needs: pip install xgboost
"""
import csv
import math
import pathlib

import numpy as np
import xgboost as xgb

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "Tests/ModelRuntimeTests/Fixtures"


def main():
    booster = xgb.Booster()
    booster.load_model(str(FIXTURES / "xgboost_late.json"))
    with open(FIXTURES / "xgboost_late_vectors.csv") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [[float(v) for v in r] for r in reader]
    names = header[:-2]
    X = np.array([r[:len(names)] for r in rows], dtype=np.float64)
    types = booster.feature_types
    data = xgb.DMatrix(X, feature_names=names, feature_types=types, enable_categorical=True)
    approx = booster.predict(data, pred_contribs=True, approx_contribs=True)
    with open(FIXTURES / "xgboost_late_contrib_approx.csv", "w", newline="\n") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(names + ["bias"])
        for values in approx:
            writer.writerow([repr(float(v)) for v in values])
    print(f"wrote {len(approx)} rows of approx contributions (xgboost {xgb.__version__})")


if __name__ == "__main__":
    main()
