"""What the alerts on a share catch with 90% probability, by exact enumeration of the binomial distribution (scipy).

An alert on a share fires at one evaluation when, of n predictions in its window, k are "bad" (failed, slow, of the
top class, of low confidence; for accuracy, wrong), k/n is past the line, and n·KL(k/n ‖ line) >= evidence.
Reads JSON {"evidence", "ns": [...], "lines": [{"line", "direction": "above" | "below"}]} on stdin, where "below"
is the accuracy alert (the share is the accuracy, and the alert fires under the line). Writes, for each line and n,
the share at which the alert fires at 90% of evaluations (bisection over the true share), and the false-alarm
rate at the line itself.
"""
import json
import sys

import numpy as np
from scipy.stats import binom

data = json.load(sys.stdin)
evidence = data["evidence"]


def fires(n, line, direction):
    k = np.arange(n + 1)
    p = k / n
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * np.log(p / line), 0.0) + np.where(p < 1, (1 - p) * np.log((1 - p) / (1 - line)), 0.0)
    past = p > line if direction == "above" else p < line
    return past & (n * kl >= evidence)


def rate(n, line, direction, share):
    return float(binom.pmf(np.arange(n + 1)[fires(n, line, direction)], n, share).sum())


out = []
for spec in data["lines"]:
    line, direction = spec["line"], spec["direction"]
    rows = []
    for n in data["ns"]:
        # The share caught at 90%: between the line and the far end, bisected on the firing rate.
        near, far = line, (1 - 1e-12 if direction == "above" else 1e-12)
        if rate(n, line, direction, far) < 0.9:
            rows.append({"n": n, "caught_at_90": None, "false_alarms_at_line": rate(n, line, direction, line)})
            continue
        for _ in range(60):
            middle = (near + far) / 2
            if rate(n, line, direction, middle) >= 0.9:
                far = middle
            else:
                near = middle
        rows.append({"n": n, "caught_at_90": far, "false_alarms_at_line": rate(n, line, direction, line)})
    out.append({"line": line, "direction": direction, "by_n": rows})
json.dump(out, sys.stdout)
