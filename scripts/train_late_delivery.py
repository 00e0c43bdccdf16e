#!/usr/bin/env python3
"""Train the late-delivery logistic regression shipped with the PredictorLogistic plugin.

Reads orders-train.csv (Olist 2017, CC BY-NC-SA 4.0), builds the seven order-time
features that Plugins/PredictorLogistic/OrderFeatures.swift computes at serving time,
validates on a time split (earliest 80% train, latest 20% validation) and then refits
on all labelled rows for the shipped model.

Outputs (under --out):
  logistic.json  model file parsed by Plugins/PredictorLogistic/LogisticModel.swift:
                 logit = intercept + sum(weight * (value - mean) / scale)
  metrics.json   validation metrics of the time-split fit and of a constant baseline

Python 3.11, numpy only.

    python3 scripts/train_late_delivery.py [--csv PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CSV = REPO_ROOT.parent / "shared" / "data" / "orders-train.csv"
DEFAULT_OUT = REPO_ROOT / "manifests" / "models" / "late_delivery"

LABEL = "label_late_delivery"
FEATURES = [
    "log_items_total",
    "n_items",
    "log_freight",
    "freight_ratio",
    "purchase_hour",
    "weekend",
    "promised_days",
]
# Columns the features are built from. Labels, outcomes and
# postapproval_shipping_limit_days are deliberately absent.
SOURCE_COLUMNS = [
    "items_price_total",
    "n_items",
    "freight_total",
    "purchase_hour",
    "purchase_dow",
    "estimated_delivery_days",
]

LAMBDA = 1e-3          # L2 penalty on the standardised weights (not the intercept)
TRAIN_FRACTION = 0.8
MODEL_VERSION = "2017-logit-1"
TRAINED_ON = "orders-train.csv (Olist 2017, CC BY-NC-SA 4.0)"
EPS = 1e-15


# --------------------------------------------------------------------------- data

def parse_float(text: str) -> float:
    """Empty / unparsable / non-finite → NaN (missing)."""
    text = text.strip()
    if not text:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def load_rows(csv_path: Path) -> tuple[list[str], np.ndarray, np.ndarray, int]:
    """Return (purchase_ts, raw source matrix, labels) for rows with a non-empty label,
    plus the total number of rows read."""
    timestamps: list[str] = []
    order_ids: list[str] = []
    raw: list[list[float]] = []
    labels: list[float] = []
    total = 0
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing_cols = [c for c in SOURCE_COLUMNS + [LABEL, "purchase_ts"] if c not in (reader.fieldnames or [])]
        if missing_cols:
            raise SystemExit(f"{csv_path}: missing columns {missing_cols}")
        for row in reader:
            total += 1
            label = parse_float(row[LABEL])
            if math.isnan(label):
                continue
            if label not in (0.0, 1.0):
                raise SystemExit(f"{csv_path}: unexpected {LABEL} value {row[LABEL]!r}")
            timestamps.append(row["purchase_ts"].strip())
            order_ids.append(row.get("order_id", "").strip())
            raw.append([parse_float(row[c]) for c in SOURCE_COLUMNS])
            labels.append(label)

    # Sort by purchase time (ISO-like strings sort chronologically); order_id breaks ties
    # so the split is deterministic whatever the file order.
    order = sorted(range(len(timestamps)), key=lambda i: (timestamps[i], order_ids[i]))
    timestamps = [timestamps[i] for i in order]
    raw_arr = np.asarray(raw, dtype=np.float64)[order]
    y = np.asarray(labels, dtype=np.float64)[order]
    return timestamps, raw_arr, y, total


def build_features(raw: np.ndarray) -> np.ndarray:
    """Compute the model features exactly as OrderFeatures.swift does. NaN = missing."""
    col = {name: raw[:, i] for i, name in enumerate(SOURCE_COLUMNS)}
    items = col["items_price_total"]
    freight = col["freight_total"]
    with np.errstate(invalid="ignore", divide="ignore"):
        freight_ratio = np.where(items > 0, freight / np.where(items > 0, items, 1.0), np.nan)
        dow = col["purchase_dow"]
        weekend = np.where(np.isnan(dow), np.nan, (dow >= 5).astype(np.float64))
        X = np.column_stack([
            np.log1p(items),                 # log_items_total
            col["n_items"],                  # n_items
            np.log1p(freight),               # log_freight
            freight_ratio,                   # freight_ratio
            col["purchase_hour"],            # purchase_hour
            weekend,                         # weekend (Mon=0, so 5/6 = Sat/Sun)
            col["estimated_delivery_days"],  # promised_days
        ])
    X[~np.isfinite(X)] = np.nan
    return X


# --------------------------------------------------------------------------- model

def fit_standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training mean (over non-missing values) and std (after mean imputation, ddof=0)."""
    mean = np.nanmean(X, axis=0)
    mean = np.where(np.isnan(mean), 0.0, mean)  # a column with no values at all
    filled = np.where(np.isnan(X), mean, X)
    scale = filled.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return mean, scale


def standardise(X: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    filled = np.where(np.isnan(X), mean, X)  # missing → mean → contributes 0
    return (filled - mean) / scale


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # numerically stable logistic


def fit_logistic(Z: np.ndarray, y: np.ndarray, lam: float = LAMBDA,
                 max_iter: int = 100, tol: float = 1e-10) -> tuple[float, np.ndarray, dict]:
    """Newton / IRLS on  mean log loss + lam/2 * ||w||^2  (intercept unpenalised).

    Returns (intercept, weights, info). Unweighted classes, so probabilities stay calibrated.
    """
    n, d = Z.shape
    A = np.column_stack([np.ones(n), Z])
    penalty = np.full(d + 1, lam)
    penalty[0] = 0.0
    beta = np.zeros(d + 1)
    p0 = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    beta[0] = math.log(p0 / (1 - p0))

    def objective(b: np.ndarray) -> float:
        z = A @ b
        # mean of log(1 + exp(z)) - y z, computed stably
        return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(penalty * b * b))

    obj = objective(beta)
    converged = False
    it = 0
    grad_norm = math.inf
    for it in range(1, max_iter + 1):
        p = sigmoid(A @ beta)
        grad = A.T @ (p - y) / n + penalty * beta
        grad_norm = float(np.max(np.abs(grad)))
        if grad_norm < tol:
            converged = True
            it -= 1
            break
        W = p * (1 - p)
        H = (A * W[:, None]).T @ A / n + np.diag(penalty)
        step = np.linalg.solve(H, grad)
        # Backtracking line search (Newton is usually accepted at t = 1).
        t = 1.0
        while True:
            candidate = beta - t * step
            new_obj = objective(candidate)
            if new_obj <= obj - 1e-4 * t * float(grad @ step) or t < 1e-10:
                break
            t *= 0.5
        beta, obj = candidate, new_obj
    else:
        p = sigmoid(A @ beta)
        grad = A.T @ (p - y) / n + penalty * beta
        grad_norm = float(np.max(np.abs(grad)))
        converged = grad_norm < 1e-8
    if not converged:
        raise SystemExit(f"logistic regression did not converge (max |grad| = {grad_norm:.3e})")
    info = {"iterations": it, "max_abs_gradient": grad_norm, "objective": obj}
    return float(beta[0]), beta[1:].copy(), info


def predict_proba(X: np.ndarray, intercept: float, weights: np.ndarray,
                  mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return sigmoid(intercept + standardise(X, mean, scale) @ weights)


# --------------------------------------------------------------------------- metrics

def auc_mann_whitney(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC via the Mann-Whitney U statistic, average ranks for ties."""
    y = y.astype(bool)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(score, kind="mergesort")
    sorted_scores = score[order]
    ranks = np.empty(score.size, dtype=np.float64)
    # average rank (1-based) for each run of tied scores
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [score.size]])
    avg = (starts + 1 + ends) / 2.0  # mean of ranks start+1 .. end
    ranks[order] = np.repeat(avg, ends - starts)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def scores(y: np.ndarray, p: np.ndarray) -> dict:
    return {
        "auc": auc_mann_whitney(y, p),
        "log_loss": log_loss(y, p),
        "brier": brier(y, p),
        "mean_predicted": float(p.mean()),
    }


# --------------------------------------------------------------------------- main

def model_document(intercept: float, weights: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> dict:
    return {
        "type": "logistic_regression",
        "model": "late_delivery",
        "version": MODEL_VERSION,
        "trained_on": TRAINED_ON,
        # Olist timestamps are Brazil local time (UTC-3); the plugin shifts order times by this
        # before computing purchase_hour and weekend, so serving matches training.
        "utc_offset_minutes": -180,
        "intercept": float(intercept),
        "features": [
            {"name": name, "weight": float(w), "mean": float(m), "scale": float(s)}
            for name, w, m, s in zip(FEATURES, weights, mean, scale)
        ],
    }


def score_with_document(doc: dict, X: np.ndarray) -> np.ndarray:
    """Re-score from the JSON document with the plugin's formula, row by row, as a check."""
    index = {name: i for i, name in enumerate(FEATURES)}
    out = np.empty(X.shape[0])
    for r in range(X.shape[0]):
        logit = doc["intercept"]
        for f in doc["features"]:
            value = X[r, index[f["name"]]]
            if not math.isnan(value):
                logit += f["weight"] * (value - f["mean"]) / f["scale"]
        out[r] = 1.0 / (1.0 + math.exp(-logit))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help=f"training CSV (default {DEFAULT_CSV})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    args = parser.parse_args()

    timestamps, raw, y, total_rows = load_rows(args.csv)
    X = build_features(raw)
    n = y.size
    if n < 10:
        raise SystemExit(f"{args.csv}: only {n} labelled rows")

    # ---- time split: earliest 80% train, latest 20% validation
    n_train = int(math.floor(TRAIN_FRACTION * n))
    X_tr, y_tr, X_va, y_va = X[:n_train], y[:n_train], X[n_train:], y[n_train:]

    mean_tr, scale_tr = fit_standardiser(X_tr)
    b0, w, fit_info = fit_logistic(standardise(X_tr, mean_tr, scale_tr), y_tr)
    p_va = predict_proba(X_va, b0, w, mean_tr, scale_tr)
    p_tr = predict_proba(X_tr, b0, w, mean_tr, scale_tr)

    base_rate = float(y_tr.mean())
    p_base = np.full(y_va.size, base_rate)

    # ---- shipped model: same procedure on all labelled rows
    mean_all, scale_all = fit_standardiser(X)
    b0_all, w_all, fit_info_all = fit_logistic(standardise(X, mean_all, scale_all), y)
    doc = model_document(b0_all, w_all, mean_all, scale_all)

    # Check that the document reproduces the fitted probabilities with the plugin formula.
    p_doc = score_with_document(doc, X)
    p_fit = predict_proba(X, b0_all, w_all, mean_all, scale_all)
    max_diff = float(np.max(np.abs(p_doc - p_fit)))
    if max_diff > 1e-9:
        raise SystemExit(f"model JSON does not reproduce the fit (max |dp| = {max_diff:.3e})")

    missing_counts = {name: int(np.isnan(X[:, i]).sum()) for i, name in enumerate(FEATURES)}
    metrics = {
        "model": "late_delivery",
        "version": MODEL_VERSION,
        "trained_on": TRAINED_ON,
        "label": LABEL,
        "features": FEATURES,
        "excluded": "labels, outcome_* columns and postapproval_shipping_limit_days",
        "method": {
            "estimator": "L2-regularised logistic regression, Newton/IRLS with backtracking",
            "objective": "mean log loss + lambda/2 * ||w||^2 on standardised features, intercept unpenalised",
            "lambda": LAMBDA,
            "class_weighting": False,
            "standardisation": "training mean (non-missing values) and population std; scale 1.0 if std is 0",
            "missing_values": "replaced by the training mean",
            "split": "sorted by purchase_ts (ties by order_id); earliest 80% train, latest 20% validation",
        },
        "rows": {
            "csv_total": total_rows,
            "labelled": int(n),
            "train": int(y_tr.size),
            "validation": int(y_va.size),
        },
        "missing_values_labelled": missing_counts,
        "split": {
            "train_first_purchase_ts": timestamps[0],
            "train_last_purchase_ts": timestamps[n_train - 1],
            "validation_first_purchase_ts": timestamps[n_train],
            "validation_last_purchase_ts": timestamps[-1],
        },
        "positive_rate": {
            "train": base_rate,
            "validation": float(y_va.mean()),
            "all": float(y.mean()),
        },
        "positives": {"train": int(y_tr.sum()), "validation": int(y_va.sum()), "all": int(y.sum())},
        "validation": {
            "model": scores(y_va, p_va),
            "baseline_constant_train_rate": {**scores(y_va, p_base), "constant": base_rate},
        },
        "train_fit": {
            "in_sample": scores(y_tr, p_tr),
            "convergence": fit_info,
            "intercept": b0,
            "weights": dict(zip(FEATURES, map(float, w))),
        },
        "shipped_fit": {
            "rows": int(n),
            "convergence": fit_info_all,
            "in_sample": scores(y, p_fit),
            "json_reproduces_fit_max_abs_diff": max_diff,
        },
    }

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "logistic.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")

    v, bl = metrics["validation"]["model"], metrics["validation"]["baseline_constant_train_rate"]
    print(f"labelled rows {n} (of {total_rows}): train {y_tr.size}, validation {y_va.size}")
    print(f"split: validation from {timestamps[n_train]} to {timestamps[-1]}")
    print(f"late rate: train {base_rate:.4f}, validation {y_va.mean():.4f}")
    print(f"validation   model: AUC {v['auc']:.4f}  log loss {v['log_loss']:.4f}  Brier {v['brier']:.5f}")
    print(f"validation baseline: AUC {bl['auc']:.4f}  log loss {bl['log_loss']:.4f}  Brier {bl['brier']:.5f}")
    print("shipped weights (all rows, standardised):")
    for f in doc["features"]:
        print(f"  {f['name']:<16} weight {f['weight']:+.4f}  mean {f['mean']:.4f}  scale {f['scale']:.4f}")
    print(f"  intercept {doc['intercept']:+.4f}")
    print(f"wrote {args.out / 'logistic.json'} and {args.out / 'metrics.json'}")


if __name__ == "__main__":
    main()
