"""Goodness of fit of binomial draws to scipy.stats.binom, for the sampler behind the drift critical values.

Reads JSON {"n": trials, "p": probability, "draws": [...]} on stdin; writes {"p_value": ...}: Pearson's chi-square
test (scipy.stats.chisquare) over the support cut into cells of at least 5 expected draws each.
"""
import json
import sys

import numpy as np
from scipy.stats import binom, chisquare

data = json.load(sys.stdin)
n, p, draws = data["n"], data["p"], np.asarray(data["draws"], dtype=np.int64)
total = len(draws)

# Cells: consecutive values merged until each expects at least 5 draws; the tails go to the first and last cell.
low, high = int(binom.ppf(1e-9, n, p)), int(binom.isf(1e-9, n, p))
edges, expected, start = [], [], low
while start <= high:
    end = start
    while end < high and total * (binom.cdf(end, n, p) - binom.cdf(start - 1, n, p)) < 5:
        end += 1
    edges.append((start, end))
    start = end + 1
if len(edges) > 1 and total * (binom.cdf(edges[-1][1], n, p) - binom.cdf(edges[-1][0] - 1, n, p)) < 5:
    last = edges.pop()
    edges[-1] = (edges[-1][0], last[1])
edges[0] = (-1, edges[0][1])
edges[-1] = (edges[-1][0], n + 1)
observed = [int(((draws >= a) & (draws <= b)).sum()) for a, b in edges]
expected = [total * (binom.cdf(min(b, n), n, p) - binom.cdf(a - 1, n, p)) for a, b in edges]
expected = np.asarray(expected) * total / np.sum(expected)
json.dump({"p_value": float(chisquare(observed, expected).pvalue), "cells": len(edges)}, sys.stdout)
