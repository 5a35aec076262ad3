"""Step-time statistics with a stability verdict, pyperf-style: a figure comes with its spread,
and a run whose spread is too wide says so, why, and what to do.

Dispersion is the interquartile range over the median (robust to one slow epoch, which the
mean and standard deviation are not). The 10% threshold is a choice (pyperf warns at a similar
spread), not a measured boundary.
"""
from __future__ import annotations

import numpy as np

UNSTABLE_IQR_OVER_MEDIAN = 0.10
MIN_SAMPLES_FOR_VERDICT = 3


def spread(values: list[float], advice: str = "rerun on a quiet machine, or compare the fastest epochs") -> dict:
    """p10/p50/p90, IQR/median and a stability verdict of a list of timings (any unit)."""
    if not values:
        return {}
    array = np.asarray(values, dtype=float)
    p10, p25, p50, p75, p90 = (float(np.percentile(array, q)) for q in (10, 25, 50, 75, 90))
    dispersion = (p75 - p25) / p50 if p50 > 0 else float("inf")
    return {"p10": round(p10, 3), "p50": round(p50, 3), "p90": round(p90, 3), "samples": len(values),
            "iqr_over_median": round(dispersion, 4), **verdict(dispersion, len(values), advice)}


def verdict(iqr_over_median: float, samples: int, advice: str) -> dict:
    """'stable' / 'unstable' (with the reason and the fix) / 'unknown' (too few samples to say)."""
    rule = f"unstable when IQR/median > {UNSTABLE_IQR_OVER_MEDIAN:.0%} over at least {MIN_SAMPLES_FOR_VERDICT} samples"
    if samples < MIN_SAMPLES_FOR_VERDICT:
        return {"stability": "unknown", "threshold": rule,
                "advice": f"only {samples} timed sample(s): train more epochs to judge the spread"}
    if iqr_over_median > UNSTABLE_IQR_OVER_MEDIAN:
        return {"stability": "unstable", "threshold": rule,
                "advice": (f"IQR is {iqr_over_median:.1%} of the median: the machine's speed changed during the run "
                           f"(other load, CPU frequency, a noisy neighbour): {advice}")}
    return {"stability": "stable", "threshold": rule}

