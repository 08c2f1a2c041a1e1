"""The accuracy alert's error rates by exact enumeration of the binomial distribution (scipy), for its tests.

Reads JSON {"target": 0.85, "evidence": 2.9957, "ns": [...], "true_accuracies": [...]} on stdin. The alert fires on
k correct of n labels when k/n < target and n * KL(k/n || target) >= evidence. Writes, for each true accuracy, the
probability that it fires at each n, and the largest over n, as JSON on stdout.
"""
import json
import sys

import numpy as np
from scipy.stats import binom

data = json.load(sys.stdin)
target, evidence = data["target"], data["evidence"]


def fires(n):
    k = np.arange(n + 1)
    p = k / n
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * np.log(p / target), 0.0) + np.where(p < 1, (1 - p) * np.log((1 - p) / (1 - target)), 0.0)
    return (p < target) & (n * kl >= evidence)


out = {}
for accuracy in data["true_accuracies"]:
    rates = [float(binom.pmf(np.arange(n + 1)[fires(n)], n, accuracy).sum()) for n in data["ns"]]
    out[str(accuracy)] = {"by_n": rates, "max": max(rates)}
json.dump(out, sys.stdout)
