#!/usr/bin/env python3
"""Reference BD-rate / BD-PSNR values for codecbench's tests (tests/bdrate.rs).

Writes tests/data/bdrate_reference.csv: for every curve pair below, the BD-rate (percent) and
BD-quality (quality units) that the PyPI package `bjontegaard` (FAU-LMS, an independent
implementation built on scipy/numpy) computes with its 'pchip' and 'cubic' methods.

Run it in a throwaway virtual environment:

    python3 -m venv /tmp/venv-bd
    /tmp/venv-bd/bin/pip install bjontegaard==1.3.0
    /tmp/venv-bd/bin/python scripts/reference/bdrate_reference.py

Columns:
- case, metric (bd_rate | bd_quality), method (pchip | cubic);
- anchor_rate, anchor_quality, test_rate, test_quality: the points, ';'-separated, written with
  Python's repr so that Rust parses exactly the same doubles;
- reference: the package's value ('nan' where the package returns NaN: curves that do not
  overlap);
- exact: the same definition evaluated here in exact rational arithmetic (fractions.Fraction)
  from the same doubles, rounded to a double only at the end (10^x for BD-rate is taken in
  floating point from the exact average). It tells how much of a difference to the package is
  the package's own floating-point rounding (numpy.polyfit on a raw Vandermonde matrix loses a
  few digits). It is checked against the package below, so a slip in it would stop the script;
- overlap_warning: 1 if the package warned that the overlap is below 75% (or absent);
- expected, expected_source: a value known without either implementation (a published example,
  or an analytic one such as 'test is 10% smaller at equal quality'), where there is one;
- package, package_version, scipy_version, numpy_version.

Points are sorted by the integration axis before they are handed to the package (quality for
BD-rate, rate for BD-quality), as scipy's PchipInterpolator requires increasing x.
"""

import csv
import os
import warnings
from fractions import Fraction as F

import bjontegaard
import numpy as np
import scipy

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "bdrate_reference.csv")

# JCTVC-E137 data, as quoted with the expected BD-rates in Netflix vmaf's
# python/test/bd_rate_calculator_test.py (class BDrateCalculatorJCTVCTest), whose
# BDrateCalculator says it was "validated against JCTVC-E137" (the JCT-VC PCHIP Excel sheet).
E137_SOURCE = "JCTVC-E137 PCHIP example as quoted in Netflix vmaf python/test/bd_rate_calculator_test.py"

JPEG4 = ([32410, 44870, 67320, 128950], [31.92, 33.41, 35.37, 39.08])
WEBP4 = ([24180, 32950, 49760, 97410], [32.05, 33.38, 35.12, 38.41])


def pts(rates, quals):
    return [float(r) for r in rates], [float(q) for q in quals]


# name -> (anchor rates, anchor qualities, test rates, test qualities, {metric: (expected, source)})
CASES = {
    # The package's own example data (README and example_usage.py test cases 1-3): libx265
    # presets measured with ffmpeg, rate in kbit/s, PSNR in dB.
    "fau_readme_x265": (
        *pts([9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851]),
        *pts([9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987]),
        {},
    ),
    "fau_example2_high_rates": (
        *pts([82472.76, 26875.24, 9487.76, 4593.6], [43.825, 41.404, 40.037, 38.615]),
        *pts([99896.96, 33952.04, 9787.8, 4469.0], [44.731, 41.875, 40.121, 38.651]),
        {},
    ),
    "fau_example3_six_points": (
        *pts([82472.76, 26875.24, 9487.76, 4593.6, 3600, 2900], [43.825, 41.404, 40.037, 38.615, 36.5, 35.1]),
        *pts([99896.96, 33952.04, 9787.8, 4469.0, 4040, 3300], [44.731, 41.875, 40.121, 38.651, 37, 36.5]),
        {},
    ),
    "jctvc_e137_1": (
        *pts([108048.8736, 61279.976, 33905.6656, 18883.6928], [43.6471, 40.3953, 37.247, 34.2911]),
        *pts([108061.2784, 61299.9936, 33928.7472, 18910.912], [43.6768, 40.4232, 37.2761, 34.3147]),
        {("bd_rate", "pchip"): (-0.00465215420752807 * 100, E137_SOURCE)},
    ),
    "jctvc_e137_2": (
        *pts([40433.8848, 7622.7456, 2394.488, 1017.6184], [37.5761, 35.3756, 33.8977, 32.0603]),
        *pts([40370.12, 7587.0024, 2390.0944, 1017.0984], [37.5982, 35.4025, 33.9194, 32.0822]),
        {("bd_rate", "pchip"): (-0.018779823450567612 * 100, E137_SOURCE)},
    ),
    # Made up but typical: one 768x512 photo, JPEG vs WebP at quality 50/70/85/95, bytes vs PSNR.
    "jpeg_vs_webp_4pt_bytes": (*pts(*JPEG4), *pts(*WEBP4), {}),
    # Five settings each, rate in bits per pixel.
    "jpeg_vs_webp_5pt_bpp": (
        *pts([0.42, 0.63, 0.91, 1.37, 2.62], [29.8, 31.6, 33.3, 35.1, 38.6]),
        *pts([0.31, 0.47, 0.70, 1.08, 2.05], [30.1, 31.9, 33.5, 35.2, 38.1]),
        {},
    ),
    # Test needs 10% fewer bytes at every quality: BD-rate is -10% whatever the interpolation.
    "uniform_10pct_smaller": (
        *pts(*JPEG4),
        *pts([0.9 * r for r in JPEG4[0]], JPEG4[1]),
        {
            ("bd_rate", "pchip"): (-10.0, "analytic: test rate = 0.9 x anchor rate at equal quality"),
            ("bd_rate", "cubic"): (-10.0, "analytic: test rate = 0.9 x anchor rate at equal quality"),
        },
    ),
    "identical": (
        *pts(*JPEG4),
        *pts(*JPEG4),
        {
            (m, i): (0.0, "analytic: identical curves")
            for m in ("bd_rate", "bd_quality")
            for i in ("pchip", "cubic")
        },
    ),
    # Test shifted up by 3 dB: quality overlap 5.16 of 10.16 dB (about 51%), warning expected.
    "partial_overlap": (
        *pts(*JPEG4),
        *pts([30000, 42000, 63000, 121000], [34.92, 36.41, 38.37, 42.08]),
        {},
    ),
    # Test better at low rates, worse at high rates.
    "crossing_curves": (
        *pts(*JPEG4),
        *pts([26500, 39800, 66100, 139800], [31.95, 33.40, 35.30, 39.00]),
        {},
    ),
    # Different numbers of points: six anchor settings, four test settings.
    "mismatched_counts_6_vs_4": (
        *pts([21900, 32410, 44870, 67320, 96800, 128950], [30.10, 31.92, 33.41, 35.37, 37.12, 39.08]),
        *pts(*WEBP4),
        {},
    ),
    # Anchor has a setting that costs more bytes for slightly lower PSNR (non-monotonic).
    "non_monotonic_anchor": (
        *pts([32410, 44870, 67320, 70100, 128950], [31.92, 33.41, 35.37, 35.30, 39.08]),
        *pts(*WEBP4),
        {},
    ),
    # SSIMULACRA 2-like scores as quality (0..100, higher is better), bytes as rate.
    "ssimulacra2_scores": (
        *pts([18200, 26400, 39700, 61800, 104500], [48.3, 61.2, 70.4, 78.9, 86.1]),
        *pts([15100, 22600, 35200, 57900, 101200], [50.1, 62.0, 71.3, 79.2, 85.7]),
        {},
    ),
    # Three and two points: only PCHIP (the cubic fit needs four); two points is linear.
    "three_points": (
        *pts([32410, 67320, 128950], [31.92, 35.37, 39.08]),
        *pts([24180, 49760, 97410], [32.05, 35.12, 38.41]),
        {},
    ),
    "two_points": (
        *pts([32410, 128950], [31.92, 39.08]),
        *pts([24180, 97410], [32.05, 38.41]),
        {},
    ),
    # No overlap in quality nor in rate: the package returns NaN (codecbench: None).
    "no_overlap": (
        *pts(*JPEG4),
        *pts([400000, 520000, 700000, 900000], [45.0, 47.0, 49.0, 51.0]),
        {},
    ),
}


def exact_pchip_integral(x, y, lo, hi):
    """Integral of scipy's PchipInterpolator over [lo, hi], in exact rationals."""
    x = [F(v) for v in x]
    y = [F(v) for v in y]
    n = len(x)
    h = [x[k + 1] - x[k] for k in range(n - 1)]
    m = [(y[k + 1] - y[k]) / h[k] for k in range(n - 1)]
    sign = lambda v: (v > 0) - (v < 0)
    if n == 2:
        d = [m[0], m[0]]
    else:
        d = [F(0)] * n
        for k in range(1, n - 1):
            if sign(m[k - 1]) != sign(m[k]) or m[k - 1] == 0 or m[k] == 0:
                d[k] = F(0)
            else:
                w1 = 2 * h[k] + h[k - 1]
                w2 = h[k] + 2 * h[k - 1]
                d[k] = (w1 + w2) / (w1 / m[k - 1] + w2 / m[k])

        def edge(h0, h1, m0, m1):
            e = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
            if sign(e) != sign(m0):
                return F(0)
            if sign(m0) != sign(m1) and abs(e) > 3 * abs(m0):
                return 3 * m0
            return e

        d[0] = edge(h[0], h[1], m[0], m[1])
        d[-1] = edge(h[-1], h[-2], m[-1], m[-2])
    lo, hi = F(lo), F(hi)
    total = F(0)
    for k in range(n - 1):
        a, b = max(lo, x[k]) - x[k], min(hi, x[k + 1]) - x[k]
        if b <= a:
            continue
        c2 = (3 * m[k] - 2 * d[k] - d[k + 1]) / h[k]
        c3 = (d[k] + d[k + 1] - 2 * m[k]) / h[k] ** 2
        prim = lambda u: y[k] * u + d[k] * u**2 / 2 + c2 * u**3 / 3 + c3 * u**4 / 4
        total += prim(b) - prim(a)
    return total


def exact_cubic_integral(x, y, lo, hi):
    """Integral of the least-squares cubic (numpy.polyfit degree 3) over [lo, hi], exactly."""
    x = [F(v) for v in x]
    y = [F(v) for v in y]
    # Normal equations are fine in exact arithmetic.
    a = [[sum(xi ** (i + j) for xi in x) for j in range(4)] + [sum(yi * xi**i for xi, yi in zip(x, y))] for i in range(4)]
    for c in range(4):
        p = next(r for r in range(c, 4) if a[r][c] != 0)
        a[c], a[p] = a[p], a[c]
        for r in range(4):
            if r != c and a[r][c] != 0:
                f = a[r][c] / a[c][c]
                a[r] = [u - f * v for u, v in zip(a[r], a[c])]
    coef = [a[i][4] / a[i][i] for i in range(4)]
    lo, hi = F(lo), F(hi)
    return sum(coef[k] * (hi ** (k + 1) - lo ** (k + 1)) / (k + 1) for k in range(4))


def exact_bd(xa, ya, xt, yt, method):
    lo, hi = max(xa[0], xt[0]), min(xa[-1], xt[-1])
    if hi <= lo:
        return float("nan")
    integral = exact_pchip_integral if method == "pchip" else exact_cubic_integral
    return float((integral(xt, yt, lo, hi) - integral(xa, ya, lo, hi)) / (F(hi) - F(lo)))


def axis(rates, quals, metric):
    """(x, y) sorted by x: x is what is integrated over, y what is averaged."""
    log_rates = [float(v) for v in np.log10(rates)]
    pairs = zip(quals, log_rates) if metric == "bd_rate" else zip(log_rates, quals)
    x, y = zip(*sorted(pairs))
    return list(x), list(y)


def main():
    rows = []
    worst = {}
    for case, (ra, qa, rt, qt, expected) in CASES.items():
        for metric in ("bd_rate", "bd_quality"):
            for method in ("pchip", "cubic"):
                if method == "cubic" and min(len(ra), len(rt)) < 4:
                    continue
                order_a = np.argsort(qa if metric == "bd_rate" else ra)
                order_t = np.argsort(qt if metric == "bd_rate" else rt)
                sa = [ra[i] for i in order_a], [qa[i] for i in order_a]
                st = [rt[i] for i in order_t], [qt[i] for i in order_t]
                fn = bjontegaard.bd_rate if metric == "bd_rate" else bjontegaard.bd_psnr
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    value = float(fn(*sa, *st, method=method, require_matching_points=False))
                overlap_warning = any("overlap" in str(w.message) for w in caught)

                xa, ya = axis(ra, qa, metric)
                xt, yt = axis(rt, qt, metric)
                avg = exact_bd(xa, ya, xt, yt, method)
                exact = (10**avg - 1) * 100 if metric == "bd_rate" else avg
                if not np.isnan(value):
                    dev = abs(value - exact)
                    assert dev <= 1e-8 * max(1.0, abs(exact)), (case, metric, method, value, exact)
                    key = (metric, method)
                    worst[key] = max(worst.get(key, 0.0), dev)
                else:
                    assert np.isnan(exact)
                exp_value, exp_source = expected.get((metric, method), ("", ""))
                rows.append(
                    {
                        "case": case,
                        "metric": metric,
                        "method": method,
                        "anchor_rate": ";".join(repr(v) for v in ra),
                        "anchor_quality": ";".join(repr(v) for v in qa),
                        "test_rate": ";".join(repr(v) for v in rt),
                        "test_quality": ";".join(repr(v) for v in qt),
                        "reference": repr(value),
                        "exact": repr(exact),
                        "overlap_warning": int(overlap_warning),
                        "expected": repr(exp_value) if exp_value != "" else "",
                        "expected_source": exp_source,
                        "package": "bjontegaard",
                        "package_version": bjontegaard.__version__,
                        "scipy_version": scipy.__version__,
                        "numpy_version": np.__version__,
                    }
                )
    with open(OUT, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {os.path.normpath(OUT)}")
    for (metric, method), dev in sorted(worst.items()):
        print(f"package vs exact, worst |difference|: {metric} {method}: {dev:.3e}")


if __name__ == "__main__":
    main()
