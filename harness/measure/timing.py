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



# Speed A/B (bench.py ab): how one code's step times compare with another's measured in one sitting.
AB_CONFIDENCE = 0.95
AB_MIN_EFFECT = 0.05  # bench.py ab: a change under 5% is not called slower or faster (docs/speed.md)
AB_NO_CHANGE_BAND = 0.05  # the interval must lie within x0.95..x1.05 to call it "no change"
AB_VERDICTS = ("slower", "faster", "no change", "inconclusive (noise)")
AB_STATISTICS = {"median": np.median, "min": np.min}


def ab_verdict(base: list[float], new: list[float], statistic: str = "median", min_effect: float = AB_MIN_EFFECT,
               resamples: int = 4000) -> dict:
    """new/base ratio of the sides' `statistic` (median, or min: the fastest run) with a percentile-bootstrap
    confidence interval (each side resampled on its own), and a verdict:
      slower / faster: the interval excludes x1 and the ratio is beyond min_effect;
      no change: the interval lies inside 1 +- AB_NO_CHANGE_BAND;
      inconclusive (noise): neither (too few or too scattered runs).
    For the min the percentile bootstrap is only approximate (an extreme order statistic): its false-alarm
    rate is measured instead (docs/speed.md).
    Deterministic (a fixed seed), so a sitting's records always give the same verdict."""
    if len(base) < 2 or len(new) < 2:
        raise ValueError("an A/B verdict needs at least 2 timings per side")
    reduce = AB_STATISTICS[statistic]
    a, b = np.asarray(base, dtype=float), np.asarray(new, dtype=float)
    rng = np.random.default_rng(0)
    ratios = (reduce(rng.choice(b, (resamples, b.size)), axis=1)
              / reduce(rng.choice(a, (resamples, a.size)), axis=1))
    tail = (1 - AB_CONFIDENCE) / 2 * 100
    low, high = (float(np.percentile(ratios, q)) for q in (tail, 100 - tail))
    ratio = float(reduce(b) / reduce(a))
    if low > 1 and ratio > 1 + min_effect:
        verdict = "slower"
    elif high < 1 and ratio < 1 - min_effect:
        verdict = "faster"
    elif 1 - AB_NO_CHANGE_BAND <= low and high <= 1 + AB_NO_CHANGE_BAND:
        verdict = "no change"
    else:
        verdict = "inconclusive (noise)"
    return {"ratio": round(ratio, 4), "ci": [round(low, 4), round(high, 4)], "confidence": AB_CONFIDENCE,
            "verdict": verdict,
            "rule": (f"new/base of {statistic} ms/step, {AB_CONFIDENCE:.0%} bootstrap interval; slower/faster: the "
                     f"interval excludes x1 and the ratio is beyond {min_effect:.0%}; no change: the interval "
                     f"is inside x{1 - AB_NO_CHANGE_BAND:.2f}..x{1 + AB_NO_CHANGE_BAND:.2f}")}
