"""Reference quality figures computed by scikit-learn, for the sidecar's ground-truth tests.

Reads JSON {"classification": {"y_true": [...], "y_pred": [...], "confidence": [...] (optional)},
"regression": {"y_true": [...], "y_pred": [...]}, "features": {"name": [values...]} (optional)} on stdin and writes
the figures as JSON on stdout.
"""
import json
import sys

import numpy as np
from sklearn.metrics import (accuracy_score, mean_absolute_error, mean_squared_error,
                             precision_recall_fscore_support)

data = json.load(sys.stdin)
out = {}

c = data.get("classification")
if c and c["y_true"]:
    labels = sorted(set(c["y_true"]) | set(c["y_pred"]))
    p, r, f, s = precision_recall_fscore_support(c["y_true"], c["y_pred"], labels=labels, zero_division=0)
    pm, rm, fm, _ = precision_recall_fscore_support(c["y_true"], c["y_pred"], average="macro", zero_division=0)
    out["classification"] = {
        "accuracy": accuracy_score(c["y_true"], c["y_pred"]),
        "classes": {label: {"precision": p[i], "recall": r[i], "f1": f[i], "support": int(s[i])}
                    for i, label in enumerate(labels)},
        "precision_macro": pm,
        "recall_macro": rm,
        "f1_macro": fm,
    }
    if c.get("confidence"):
        # Expected calibration error over 10 equal-width bins, [0, 0.1) ... [0.9, 1.0], written out plainly.
        confidence = np.asarray(c["confidence"], dtype=float)
        correct = np.asarray(c["y_true"]) == np.asarray(c["y_pred"])
        bins = np.minimum((confidence * 10).astype(int), 9)
        ece = 0.0
        for b in range(10):
            members = bins == b
            if members.any():
                ece += members.sum() / len(confidence) * abs(correct[members].mean() - confidence[members].mean())
        out["classification"]["calibration_error"] = float(ece)

g = data.get("regression")
if g and g["y_true"]:
    out["regression"] = {
        "mae": mean_absolute_error(g["y_true"], g["y_pred"]),
        "rmse": float(np.sqrt(mean_squared_error(g["y_true"], g["y_pred"]))),
    }

f = data.get("features")
if f:
    out["features"] = {name: {"count": len(values), "mean": float(np.mean(values)), "std": float(np.std(values))}
                       for name, values in f.items()}

json.dump(out, sys.stdout)
