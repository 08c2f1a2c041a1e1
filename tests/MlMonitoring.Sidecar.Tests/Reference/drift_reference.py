"""Reference drift figures computed with numpy and scipy, for the sidecar's drift tests.

Input (JSON on stdin), each part optional:
  signals:   [{"baseline": [counts], "current": [counts]}]      -> psi, js with the sidecar's documented smoothing
  binning:   [{"edges": [...], "values": [...]}]                -> counts per bin, a bin holding edge[i-1] < x <= edge[i]
  quantiles: {"values": [...], "q": [...]}                      -> numpy.quantile(method="lower")
  calibration: {"confidence": [...], "correct": [0/1...]}       -> expected calibration error, 10 equal-width bins
"""
import json
import sys

import numpy as np
from scipy.spatial.distance import jensenshannon

PSEUDO_COUNT = 0.5  # Jeffreys smoothing, as documented by the sidecar

data = json.load(sys.stdin)
out = {}


def smoothed(counts):
    c = np.asarray(counts, dtype=float)
    return (c + PSEUDO_COUNT) / (c.sum() + PSEUDO_COUNT * len(c))


if "signals" in data:
    out["signals"] = []
    for s in data["signals"]:
        p, q = smoothed(s["current"]), smoothed(s["baseline"])
        out["signals"].append({
            "psi": float(np.sum((p - q) * np.log(p / q))),
            "js": float(jensenshannon(p, q, base=2)),
        })

if "binning" in data:
    out["binning"] = []
    for b in data["binning"]:
        edges = np.asarray(b["edges"], dtype=float)
        # side="left": the first edge >= x, so a bin includes its upper edge.
        bins = np.searchsorted(edges, np.asarray(b["values"], dtype=float), side="left")
        out["binning"].append(np.bincount(bins, minlength=len(edges) + 1).tolist())

if "quantiles" in data:
    values = np.asarray(data["quantiles"]["values"], dtype=float)
    out["quantiles"] = [float(np.quantile(values, q, method="lower")) for q in data["quantiles"]["q"]]

if "calibration" in data:
    conf = np.asarray(data["calibration"]["confidence"], dtype=float)
    correct = np.asarray(data["calibration"]["correct"], dtype=float)
    bins = np.minimum((conf * 10).astype(int), 9)
    ece = 0.0
    for b in range(10):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    out["calibration"] = {"ece": float(ece), "accuracy": float(correct.mean()), "mean_confidence": float(conf.mean())}

json.dump(out, sys.stdout)
