"""Survey statistics that need no database: margins of error and intervals for proportions."""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def margin_of_error(
    n: int, p: float = 0.5, population: int | None = None, z: float = Z95
) -> float | None:
    """Half-width of the normal-approximation interval for a proportion, as a fraction.

    ``p=0.5`` gives the worst case, the usual figure quoted for a poll. With the unit's
    ``population`` known, the finite-population correction shrinks it (to 0 when everyone
    answered). None when there are no responses.
    """
    if n <= 0:
        return None
    moe = z * math.sqrt(p * (1 - p) / n)
    if population is not None and population > 1:
        if n >= population:
            return 0.0
        moe *= math.sqrt((population - n) / (population - 1))
    return moe


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion: honest for small n, unlike the normal one."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0 or n successes the bound is exactly 0 or 1; float rounding would miss it.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high
