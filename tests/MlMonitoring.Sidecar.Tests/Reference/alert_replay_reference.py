"""Alerts per month of healthy model versions: the shipped rules' evaluation replayed over simulated time.

Prometheus evaluates a rule every minute over windows that slide; an alert fires when its condition has held at
every evaluation for its `for:` duration, and counts once until the condition clears. A rate per evaluation is
therefore not a rate per month. This replays 30 days minute by minute for healthy versions (nothing changes) and
counts the alerts that would have fired, with numpy.

Reads JSON on stdin, {"step": ..., ...}:
step "baselines": {"seed", "versions", "signals", "baseline_events"}: writes, per version, the baseline counts of
    each signal (numeric: 10 bins at the baseline's deciles, as the sidecar bins a feature; every third signal a
    21-category Zipf feature), drawn by numpy.
step "drift": also "factors" (per version, per signal: the sidecar's ml_drift_psi_critical_factor per grid size),
    "grid" (the sizes), "events_per_hour", "threshold", "for_minutes", "keep_firing_minutes", "window_minutes", "slot_minutes", "days":
    writes the drift alerts per version per 30 days (mean, and the largest of any version) and the share of
    evaluations whose condition held.
step "share": {"seed", "versions", "requests_per_minute", "share", "clauses", "evidence", "for_minutes",
    "keep_firing_minutes", "days"}: the same for an alert on a share of predictions (failed, slower than 500 ms, of
    the top class, of low confidence) at a true share. Each clause {"threshold", "window_minutes",
    "short_window_minutes"?} holds when the share over its window is above its threshold with n·KL(share ‖
    threshold) nats of evidence (and, if given, the share over its short window is above it too, as in the SLO
    burn-rate alerts); the alert's condition is the clauses ORed.
step "accuracy": {"seed", "versions", "labels_per_hour", "accuracy", "target", "evidence", "for_minutes",
    "keep_firing_minutes", "window_minutes", "slot_minutes", "days"}: the same for MLModelAccuracyLow at a true accuracy.
"""
import json
import sys

import numpy as np
from scipy.stats import norm

PSEUDO_COUNT = 0.5
ZIPF = 1.0 / np.arange(1, 22)
ZIPF /= ZIPF.sum()
data = json.load(sys.stdin)


def populations(seed, versions, signals, m):
    """Per version and signal: the population's bin probabilities and the baseline's counts."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(versions):
        version = []
        for s in range(signals):
            if s % 3 == 2:
                version.append((ZIPF, rng.multinomial(m, ZIPF)))
            else:
                values = rng.standard_normal(m)
                edges = np.quantile(values, np.arange(1, 10) / 10)
                counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=10)
                probabilities = np.diff(norm.cdf(np.concatenate(([-np.inf], edges, [np.inf]))))
                version.append((probabilities, counts))
        out.append(version)
    return out


def sliding(per_minute, window_minutes, slot_minutes):
    """Sums over the sidecar's window at every minute: the current slot so far and the whole slots before it."""
    minutes = per_minute.shape[0]
    cumulative = np.concatenate((np.zeros((1,) + per_minute.shape[1:]), np.cumsum(per_minute, axis=0)))
    t = np.arange(minutes)
    start = np.maximum((t // slot_minutes) * slot_minutes - (window_minutes - slot_minutes), 0)
    return cumulative[t + 1] - cumulative[start]


def alerts(condition, for_minutes, keep_firing_minutes):
    """Alerts fired, as Prometheus fires them: pending from the first true evaluation, firing once it has held at
    every evaluation for `for`, resolved when it has not held for `keep_firing_for`; each firing counted once."""
    fired, run, since_held, firing = 0, 0, 0, False
    for held in condition:
        if held:
            run += 1
            since_held = 0
            if not firing and run > for_minutes:
                firing = True
                fired += 1
        else:
            run = 0
            since_held += 1
            if firing and since_held > keep_firing_minutes:
                firing = False
    return fired


def evidence(n, share, line):
    """n · KL(share ‖ line): the nats of evidence that the share is not the line, as the rules record it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(share > 0, share * np.log(np.maximum(share, 1e-300) / line), 0.0) \
            + np.where(share < 1, (1 - share) * np.log(np.maximum(1 - share, 1e-300) / (1 - line)), 0.0)
    return n * kl


def critical(factors, grid, n, m):
    """The fleet rule's critical value: the factor interpolated in ln n between grid sizes, times (1/n + 1/m)."""
    grid = np.asarray(grid, dtype=float)
    factors = np.asarray(factors, dtype=float)
    out = np.full(n.shape, np.inf)
    ok = n >= grid[0]
    lower = np.clip(np.searchsorted(grid, n, side="right") - 1, 0, len(grid) - 1)
    upper = np.minimum(lower + 1, len(grid) - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        along = np.where(upper > lower, np.log(np.maximum(n, 1) / grid[lower]) / np.log(grid[upper] / grid[lower]), 0.0)
        factor = factors[lower] + (factors[upper] - factors[lower]) * along
        out[ok] = (factor * (1 / n + 1 / m))[ok]
    return out


if data["step"] == "baselines":
    drawn = populations(data["seed"], data["versions"], data["signals"], data["baseline_events"])
    json.dump({"baselines": [[counts.tolist() for _, counts in v] for v in drawn]}, sys.stdout)
    sys.exit(0)

minutes = data["days"] * 24 * 60
scale = 30 / data["days"]
rng = np.random.default_rng(data["seed"] + 1)

if data["step"] == "drift":
    drawn = populations(data["seed"], data["versions"], data["signals"], data["baseline_events"])
    per_version, held = [], []
    for v, version in enumerate(drawn):
        condition = np.zeros(minutes, dtype=bool)
        for s, (probabilities, baseline) in enumerate(version):
            arrivals = rng.poisson(data["events_per_hour"] / 60, size=minutes)
            counts = rng.multinomial(arrivals, probabilities)
            window = sliding(counts, data["window_minutes"], data["slot_minutes"])
            n = window.sum(axis=1)
            m = baseline.sum()
            p = (window + PSEUDO_COUNT) / (n[:, None] + PSEUDO_COUNT * window.shape[1])
            q = (baseline + PSEUDO_COUNT) / (m + PSEUDO_COUNT * len(baseline))
            psi = np.sum((p - q) * np.log(p / q), axis=1)
            signal_condition = (psi > data["threshold"]) & (psi > critical(data["factors"][v][s], data["grid"], n, m)) & (n > 0)
            held.append(signal_condition.mean())
            # Each signal alerts on its own; a version's alerts are the sum of its signals'.
            condition_alerts = alerts(signal_condition, data["for_minutes"], data["keep_firing_minutes"])
            per_version.append((v, condition_alerts))
    by_version = np.zeros(len(drawn))
    for v, count in per_version:
        by_version[v] += count
    json.dump({"alerts_per_month": float(by_version.mean() * scale), "max_alerts_per_month": float(by_version.max() * scale),
               "held": float(np.mean(held))}, sys.stdout)
elif data["step"] == "accuracy":
    by_version, held = [], []
    for _ in range(data["versions"]):
        labels = rng.poisson(data["labels_per_hour"] / 60, size=minutes)
        correct = rng.binomial(labels, data["accuracy"])
        window = sliding(np.stack((labels, correct), axis=1), data["window_minutes"], data["slot_minutes"])
        n, k = window[:, 0], window[:, 1]
        a = np.where(n > 0, k / np.maximum(n, 1), 1.0)
        t = data["target"]
        condition = (n > 0) & (a < t) & (evidence(n, a, t) >= data["evidence"])
        held.append(condition.mean())
        by_version.append(alerts(condition, data["for_minutes"], data["keep_firing_minutes"]))
    json.dump({"alerts_per_month": float(np.mean(by_version) * scale), "max_alerts_per_month": float(np.max(by_version) * scale),
               "held": float(np.mean(held))}, sys.stdout)
elif data["step"] == "share":
    clauses = data["clauses"]
    by_version, held = [], []
    t = np.arange(minutes)

    def over(cumulative_requests, cumulative_errors, window, line, needed):
        start = np.maximum(t + 1 - window, 0)
        n = cumulative_requests[t + 1] - cumulative_requests[start]
        k = cumulative_errors[t + 1] - cumulative_errors[start]
        a = np.where(n > 0, k / np.maximum(n, 1), 0.0)
        return (n > 0) & (a > line) & (evidence(n, a, line) >= needed)

    for _ in range(data["versions"]):
        requests = rng.poisson(data["requests_per_minute"], size=minutes)
        errors = rng.binomial(requests, data["share"])
        cumulative_requests = np.concatenate(([0], np.cumsum(requests)))
        cumulative_errors = np.concatenate(([0], np.cumsum(errors)))
        condition = np.zeros(minutes, dtype=bool)
        for clause in clauses:
            held_clause = over(cumulative_requests, cumulative_errors, clause["window_minutes"], clause["threshold"], data["evidence"])
            if "short_window_minutes" in clause:
                held_clause &= over(cumulative_requests, cumulative_errors, clause["short_window_minutes"], clause["threshold"], 0)
            condition |= held_clause
        held.append(condition.mean())
        by_version.append(alerts(condition, data["for_minutes"], data["keep_firing_minutes"]))
    json.dump({"alerts_per_month": float(np.mean(by_version) * scale), "max_alerts_per_month": float(np.max(by_version) * scale),
               "held": float(np.mean(held))}, sys.stdout)
