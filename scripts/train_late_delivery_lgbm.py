#!/usr/bin/env python3
"""The data team's path: train a LightGBM late-delivery model on orders-train.csv.

Features are computed by the hub's own code (`orderhub features`, the FeatureSpec the
predictor uses at serving time), never re-implemented here, so training and serving cannot
drift apart. Validation is on a later time slice (the latest 20% of labelled orders), as the
future is what matters; the logistic-regression baseline (scripts/train_late_delivery.py) is
fitted and scored on the very same split.

    swift build                                   # builds orderhub
    pip install lightgbm
    python3 scripts/train_late_delivery_lgbm.py   # writes manifests/models/late_delivery_lgbm/

Writes model.txt (LightGBM text format), features.json (the feature spec), metrics.json and
neighbours.csv (past orders' features and outcomes, for suggestions).
"""
import argparse
import csv
import io
import json
import math
import pathlib
import subprocess
import sys

import lightgbm as lgb
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import train_late_delivery as baseline  # noqa: E402  (the logistic baseline, same split)

OUT = ROOT / "manifests" / "models" / "late_delivery_lgbm"
NUMERIC = [
    ("items_price_total", {"field": "items_price_total", "transform": "log1p"}),
    ("item_price_max", {"field": "item_price_max", "transform": "log1p"}),
    ("freight_total", {"field": "freight_total", "transform": "log1p"}),
    ("freight_ratio", {"ratio": ["freight_total", "items_price_total"]}),
    ("n_items", {"field": "n_items"}),
    ("n_products", {"field": "n_products"}),
    ("purchase_hour", {"field": "purchase_hour"}),
    ("weekend", {"field": "purchase_dow", "transform": "weekend"}),
    ("estimated_delivery_days", {"field": "estimated_delivery_days"}),
    ("customer_zip3", {"field": "customer_zip3"}),
]
CATEGORICAL = ["customer_state", "payment_type", "primary_category"]


def orderhub() -> str:
    """The most recently built orderhub (release or debug)."""
    built = [p for p in (ROOT / ".build" / b / "orderhub" for b in ("release", "debug")) if p.exists()]
    if not built:
        raise SystemExit("orderhub is not built: run `swift build` first")
    return str(max(built, key=lambda p: p.stat().st_mtime))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=pathlib.Path, default=baseline.DEFAULT_CSV)
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()
    rows = list(csv.DictReader(args.csv.open(newline="", encoding="utf-8")))

    # The same time split as the baseline: labelled rows sorted by (purchase_ts, order_id).
    labelled = [r for r in rows if r["label_late_delivery"] not in ("", "nan")]
    labelled.sort(key=lambda r: (r["purchase_ts"], r["order_id"]))
    cut = int(round(len(labelled) * baseline.TRAIN_FRACTION))
    train_rows, valid_rows = labelled[:cut], labelled[cut:]

    # Categories are those seen in training, most frequent first; others score as missing.
    spec = {"version": 1, "utc_offset_minutes": -180, "features": []}
    for name, source in NUMERIC:
        spec["features"].append({"name": name, **source})
    for name in CATEGORICAL:
        counts = {}
        for r in train_rows:
            counts[r[name]] = counts.get(r[name], 0) + 1
        spec["features"].append({"name": name, "field": name, "categories": sorted(counts, key=lambda k: (-counts[k], k))})
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "features.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")

    # The matrix, computed by the hub's FeatureSpec.
    matrix = subprocess.run([orderhub(), "features", "--spec", str(args.out / "features.json"), "--csv", str(args.csv)],
                            check=True, capture_output=True, text=True).stdout
    table = list(csv.reader(io.StringIO(matrix)))
    names = table[0][1:]
    by_id = {line[0]: [float(v) if v != "" else math.nan for v in line[1:]] for line in table[1:]}
    X_train = np.array([by_id[r["order_id"]] for r in train_rows])
    X_valid = np.array([by_id[r["order_id"]] for r in valid_rows])
    y_train = np.array([float(r["label_late_delivery"]) for r in train_rows])
    y_valid = np.array([float(r["label_late_delivery"]) for r in valid_rows])
    X_all = np.vstack([X_train, X_valid])
    y_all = np.concatenate([y_train, y_valid])

    # Model selection on an inner time split of the TRAINING slice only (its latest 20%):
    # the validation slice is looked at once, for the figures below.
    base = ["items_price_total", "freight_total", "freight_ratio", "n_items", "purchase_hour", "weekend",
            "estimated_delivery_days"]
    candidates = {"base+state": base + ["customer_state"], "base+state+zip3": base + ["customer_state", "customer_zip3"],
                  "all": names}
    inner = int(len(X_train) * 0.8)

    def params_for(leaves, min_leaf):
        return {"objective": "binary", "learning_rate": 0.03, "num_leaves": leaves, "min_data_in_leaf": min_leaf,
                "lambda_l2": 5.0, "feature_fraction": 0.9, "min_data_per_group": 100, "cat_smooth": 50,
                "verbose": -1, "seed": 7, "deterministic": True, "num_threads": 1}

    def fit(columns, params, rounds, X, y):
        index = [names.index(c) for c in columns]
        cats = [c for c in columns if c in CATEGORICAL]
        return lgb.train(params, lgb.Dataset(X[:, index], y, feature_name=columns, categorical_feature=cats),
                         num_boost_round=rounds), index

    grid = []
    for label, columns in candidates.items():
        for leaves in (3, 7):
            for min_leaf in (100, 300):
                for rounds in (100, 300):
                    booster, index = fit(columns, params_for(leaves, min_leaf), rounds, X_train[:inner], y_train[:inner])
                    auc = baseline.auc_mann_whitney(y_train[inner:], booster.predict(X_train[inner:][:, index]))
                    grid.append((auc, label, leaves, min_leaf, rounds))
    grid.sort(reverse=True)
    _, chosen, leaves, min_leaf, rounds = grid[0]
    columns, params = candidates[chosen], params_for(leaves, min_leaf)
    model, index = fit(columns, params, rounds, X_train, y_train)
    p_lgbm = model.predict(X_valid[:, index])
    names = columns
    X_train, X_valid, X_all = X_train[:, index], X_valid[:, index], X_all[:, index]
    spec["features"] = [f for f in spec["features"] if f["name"] in columns]
    spec["features"].sort(key=lambda f: columns.index(f["name"]))
    (args.out / "features.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    CATS = [c for c in columns if c in CATEGORICAL]

    # The baseline on the same split.
    timestamps, raw, y_base, _ = baseline.load_rows(args.csv)
    X_base = baseline.build_features(raw)
    mean, scale = baseline.fit_standardiser(X_base[:cut])
    intercept, weights, _ = baseline.fit_logistic(baseline.standardise(X_base[:cut], mean, scale), y_base[:cut])
    p_logit = baseline.predict_proba(X_base[cut:], intercept, weights, mean, scale)
    assert np.array_equal(y_base[cut:], y_valid), "baseline and LightGBM must be scored on the same rows"

    lgbm_scores = baseline.scores(y_valid, p_lgbm)
    logit_scores = baseline.scores(y_valid, p_logit)

    # The shipped model: all labelled rows, same rounds.
    final = lgb.train(params, lgb.Dataset(X_all, y_all, feature_name=names, categorical_feature=CATS),
                      num_boost_round=rounds)
    final.save_model(str(args.out / "model.txt"))

    # The hub's runtime must score exactly as LightGBM does, through the same features.
    hub = subprocess.run([orderhub(), "predict", "--model", str(args.out), "--csv", str(args.csv)],
                         check=True, capture_output=True, text=True).stdout
    hub_scores = {line.split(",")[0]: float(line.split(",")[1]) for line in hub.strip().split("\n")[1:]}
    lib_scores = final.predict(np.array([by_id[r["order_id"]] for r in rows])[:, index])
    agreement = max(abs(hub_scores[r["order_id"]] - s) for r, s in zip(rows, lib_scores))

    metrics = {
        "model": "late_delivery", "version": "2017-lgbm-1", "library": f"lightgbm {lgb.__version__}",
        "trained_on": "orders-train.csv (Olist 2017, CC BY-NC-SA 4.0)",
        "split": {"train_rows": len(train_rows), "validation_rows": len(valid_rows),
                  "validation_from": valid_rows[0]["purchase_ts"], "validation_to": valid_rows[-1]["purchase_ts"],
                  "rule": "labelled rows sorted by purchase time; earliest 80% train, latest 20% validation"},
        "rounds": rounds, "params": params, "features": names,
        "selection": {"rule": "grid chosen by AUC on the latest 20% of the training slice",
                      "chosen": {"features": chosen, "num_leaves": leaves, "min_data_in_leaf": min_leaf, "rounds": rounds},
                      "inner_auc": grid[0][0]},
        "validation": {"lightgbm": lgbm_scores, "logistic_baseline": logit_scores,
                       "auc_gain_over_baseline": lgbm_scores["auc"] - logit_scores["auc"]},
        "hub_runtime_max_abs_difference": agreement,
    }
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")

    # Past orders with their outcomes, for "orders like this one" suggestions: the features
    # (as the hub computes them) and what happened, for every labelled order.
    with (args.out / "neighbours.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["order_id", "late", "delay_days"] + names)
        for r in labelled:
            vector = np.array(by_id[r["order_id"]])[index]
            writer.writerow([r["order_id"], r["label_late_delivery"].split(".")[0], r["outcome_delay_days"]]
                            + ["" if math.isnan(v) else repr(float(v)) for v in vector])
    print(f"LightGBM  validation AUC {lgbm_scores['auc']:.4f}  log loss {lgbm_scores['log_loss']:.4f}  ({rounds} rounds)")
    print(f"logistic  validation AUC {logit_scores['auc']:.4f}  log loss {logit_scores['log_loss']:.4f}")
    print(f"hub runtime vs LightGBM on all {len(rows)} rows: max |difference| {agreement:.2e}")
    print(f"wrote {args.out}/model.txt, features.json, metrics.json")


if __name__ == "__main__":
    main()
