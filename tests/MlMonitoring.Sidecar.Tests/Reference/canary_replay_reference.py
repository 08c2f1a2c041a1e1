"""The canary verdict's error rates, replayed with numpy over simulated rollouts, for its tests.

A candidate serves a share of a model's traffic beside the stable version; a rollout tool reads the verdict at
every look. Each run draws, minute by minute, both versions' predictions (classes, confidence bucket, error, slow),
and labels for a share of them with their correctness, accumulates the counts, and applies at every look the
checks of ml-canary.yaml as written there (mixture SPRT boundaries, smoothing, margins): the first look whose
verdict is 1 or -1 ends the run with it; a run that reaches its last look ends at 0.

Reads JSON on stdin: {"seed", "runs", "looks", "minutes_per_look", "predictions_per_minute", "canary_share",
"label_share", "stable": version, "candidate": version, "margins": {"accuracy", "errors", "slow"},
"alpha_per_check", "confidence_bounds": 7, "mixing": 0.01}, a version being {"accuracy", "error_rate", "slow_share",
"classes": [probabilities], "confidence": [probability of each confidence bucket, the last above the highest bound]}.
Writes {"fail": share of runs ending at -1, "pass": at 1, "undecided": at 0, "labels_at_decision": median candidate
labels when the run decided}.
"""
import json
import math
import sys

import numpy as np

data = json.load(sys.stdin)
rng = np.random.default_rng(data["seed"])
alpha = data["alpha_per_check"]
mixing = data["mixing"]
margins = data["margins"]
floors = {"accuracy": 0.01, "errors": 0.001, "slow": 0.005}


def noninferiority(good_c, total_c, good_s, total_s, higher_is_better, margin, floor):
    pc = (good_c + 0.5) / (total_c + 1)
    ps = (good_s + 0.5) / (total_s + 1)
    advantage = (pc - ps if higher_is_better else ps - pc) + margin
    variance = pc * (1 - pc) / (total_c + 1) + ps * (1 - ps) / (total_s + 1)
    tau2 = max(margin, floor) ** 2
    boundary = (variance + tau2) / tau2 * (2 * math.log(1 / alpha) + math.log((variance + tau2) / variance))
    if advantage ** 2 / variance >= boundary:
        return 1 if advantage > 0 else -1
    return 0


def classes_differ(counts_c, counts_s):
    present = (counts_c + counts_s) > 0
    c, s = counts_c[present], counts_s[present]
    n_c, n_s = c.sum(), s.sum()
    if n_c == 0 or n_s == 0:
        return False
    chi2 = float(np.sum((c * n_s - s * n_c) ** 2 / (n_c * n_s * (c + s))))
    n = n_c * n_s / (n_c + n_s)
    dims = present.sum() - 1
    return chi2 >= (1 + mixing * n) / (mixing * n) * (2 * math.log(1 / alpha) + dims * math.log(1 + mixing * n))


def confidence_differs(buckets_c, buckets_s):
    n_c, n_s = buckets_c.sum(), buckets_s.sum()
    if n_c == 0 or n_s == 0:
        return False
    bounds = data["confidence_bounds"]
    share_c = np.cumsum(buckets_c)[:bounds] / n_c
    share_s = np.cumsum(buckets_s)[:bounds] / n_s
    pooled = (share_c * n_c + share_s * n_s) / (n_c + n_s)
    n = n_c * n_s / (n_c + n_s)
    z2 = (share_c - share_s) ** 2 * n / np.maximum(pooled * (1 - pooled), 1e-12)
    return z2.max() >= (1 + mixing * n) / (mixing * n) * (2 * math.log(bounds / alpha) + math.log(1 + mixing * n))


def draw(version, predictions):
    classes = rng.multinomial(predictions, version["classes"])
    confidence = rng.multinomial(predictions, version["confidence"])
    errors = rng.binomial(predictions, version["error_rate"])
    slow = rng.binomial(predictions, version["slow_share"])
    labels = rng.binomial(predictions, data["label_share"])
    correct = rng.binomial(labels, version["accuracy"])
    return classes, confidence, errors, slow, labels, correct


outcomes, decided_labels = [], []
for _ in range(data["runs"]):
    totals = {"candidate": None, "stable": None}
    verdict, labels_seen = 0, 0
    for look in range(data["looks"]):
        for _ in range(data["minutes_per_look"]):
            total = rng.poisson(data["predictions_per_minute"])
            n_c = rng.binomial(total, data["canary_share"])
            for name, n in (("candidate", n_c), ("stable", total - n_c)):
                drawn = draw(data[name], n)
                totals[name] = drawn if totals[name] is None else tuple(a + b for a, b in zip(totals[name], drawn))
        cc, fc, ec, sc, lc, kc = totals["candidate"]
        cs, fs, es, ss, ls, ks = totals["stable"]
        requests_c, requests_s = cc.sum(), cs.sum()
        checks = [
            noninferiority(kc, lc, ks, ls, True, margins["accuracy"], floors["accuracy"]),
            noninferiority(ec, requests_c, es, requests_s, False, margins["errors"], floors["errors"]),
            noninferiority(sc, requests_c, ss, requests_s, False, margins["slow"], floors["slow"]),
        ]
        failed = min(checks) == -1 or classes_differ(cc, cs) or confidence_differs(fc, fs)
        labels_seen = int(lc)
        if failed:
            verdict = -1
        elif min(checks) == 1:
            verdict = 1
        if verdict != 0:
            decided_labels.append(labels_seen)
            break
    outcomes.append(verdict)

outcomes = np.asarray(outcomes)
json.dump({
    "fail": float((outcomes == -1).mean()),
    "pass": float((outcomes == 1).mean()),
    "undecided": float((outcomes == 0).mean()),
    "labels_at_decision": float(np.median(decided_labels)) if decided_labels else None,
}, sys.stdout)
