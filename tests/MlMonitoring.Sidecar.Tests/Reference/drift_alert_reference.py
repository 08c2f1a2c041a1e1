"""The drift alert's error rates, simulated with numpy and checked with scipy, for its tests.

Reads JSON on stdin, {"step": ..., "configs": [...]}, a config being
  {"kind": "numeric" | "zipf", "baseline_events": m, "baselines": K, "seed": s, ...}.
numeric: baselines of m values from N(0, 1), binned at their own deciles (numpy.quantile), as the sidecar bins a
         feature at its baseline's quantiles; windows of N(shift, 1) binned at the same edges.
zipf:    21 categories with probabilities proportional to 1/k; baselines and windows multinomial.
The same seed gives the same baselines in every step.

step "baselines": writes {"baselines": [[counts per bin] per baseline] per config}.
step "trials":    also reads, per config, "windows" (sizes n), "critical" ([[critical PSI per n] per baseline]),
                  "alpha", "trials" (windows per baseline per n), "shifts" (numeric: shifts in standard deviations),
                  "threshold" (the effect threshold). Writes per config and n: the false-alarm rate of the critical
                  values with its Clopper-Pearson interval (scipy.stats.beta), the rate of the chi-square cutoff
                  (1/n + 1/m) chi2(B-1, 1-alpha) (scipy.stats.chi2), the rate of PSI > threshold alone, the power at
                  each shift with and without the threshold, the ncx2 approximation of that power (scipy.stats.ncx2),
                  and a numpy Monte Carlo critical value for the first baseline, to compare with the sidecar's.
"""
import json
import sys

import numpy as np
from scipy.stats import beta, chi2, ncx2, norm

PSEUDO_COUNT = 0.5
data = json.load(sys.stdin)


def smoothed(counts):
    c = np.asarray(counts, dtype=float)
    return (c + PSEUDO_COUNT) / (c.sum(axis=-1, keepdims=True) + PSEUDO_COUNT * c.shape[-1])


def psi(current, baseline):
    p, q = smoothed(current), smoothed(baseline)
    return np.sum((p - q) * np.log(p / q), axis=-1)


ZIPF = 1.0 / np.arange(1, 22)
ZIPF /= ZIPF.sum()


def baselines(config):
    rng = np.random.default_rng(config["seed"])
    m, out = config["baseline_events"], []
    for _ in range(config["baselines"]):
        if config["kind"] == "numeric":
            values = rng.standard_normal(m)
            edges = np.quantile(values, np.arange(1, 10) / 10)
            counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=10)
            out.append({"counts": counts, "edges": edges})
        else:
            out.append({"counts": rng.multinomial(m, ZIPF), "edges": None})
    return out


def window_probabilities(kind, edges, shift):
    if kind == "numeric":
        cdf = norm.cdf(np.concatenate(([-np.inf], edges, [np.inf])) - shift)
        return np.diff(cdf)
    return ZIPF


def clopper_pearson(k, n, confidence=0.99):
    tail = (1 - confidence) / 2
    low = 0.0 if k == 0 else float(beta.ppf(tail, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - tail, k + 1, n - k))
    return low, high


if data["step"] == "baselines":
    json.dump({"baselines": [[b["counts"].tolist() for b in baselines(c)] for c in data["configs"]]}, sys.stdout)
    sys.exit(0)

out = []
for config in data["configs"]:
    rng = np.random.default_rng(config["seed"] + 1)
    drawn = baselines(config)
    m, alpha, trials, threshold = config["baseline_events"], config["alpha"], config["trials"], config["threshold"]
    bins = len(drawn[0]["counts"])
    results = []
    for w, n in enumerate(config["windows"]):
        critical = np.array([c[w] for c in config["critical"]])
        chi2_cut = (1 / n + 1 / m) * chi2.ppf(1 - alpha, bins - 1)
        null_psi = np.stack([psi(rng.multinomial(n, window_probabilities(config["kind"], b["edges"], 0), size=trials), b["counts"]) for b in drawn])
        alarms = int((null_psi > critical[:, None]).sum())
        total = null_psi.size
        low, high = clopper_pearson(alarms, total)
        result = {
            "n": n,
            "false_alarm_rate": alarms / total,
            "interval": [low, high],
            "chi2_rate": float((null_psi > chi2_cut).mean()),
            "threshold_rate": float((null_psi > threshold).mean()),
            "critical_median": float(np.median(critical)),
            "chi2_critical": float(chi2_cut),
        }
        # An independent Monte Carlo critical value for the first baseline: baselines and windows from its proportions.
        first = drawn[0]["counts"]
        shares = first / first.sum()
        mc = psi(rng.multinomial(n, shares, size=200_000), rng.multinomial(m, shares, size=200_000))
        result["numpy_critical_first"] = float(np.quantile(mc, 1 - alpha))
        result["sidecar_critical_first"] = float(critical[0])
        power = {}
        for shift in config.get("shifts", []):
            shifted = np.stack([psi(rng.multinomial(n, window_probabilities(config["kind"], b["edges"], shift), size=trials // 4), b["counts"]) for b in drawn])
            # ncx2: (1/n + 1/m) times a non-central chi-square with the population PSI as its non-centrality's scale.
            population_psi = float(np.mean([psi(window_probabilities("numeric", b["edges"], shift) * 1e9, b["counts"] / b["counts"].sum() * 1e9) for b in drawn]))
            scale = 1 / n + 1 / m
            power[str(shift)] = {
                "critical": float((shifted > critical[:, None]).mean()),
                "critical_and_threshold": float(((shifted > critical[:, None]) & (shifted > threshold)).mean()),
                "ncx2_approximation": float(ncx2.sf(np.median(critical) / scale, bins - 1, population_psi / scale)),
                "population_psi": population_psi,
            }
        result["power"] = power
        results.append(result)
    out.append(results)
json.dump({"results": out}, sys.stdout)
