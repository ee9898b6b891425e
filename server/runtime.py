"""Process-wide tuning, applied once the app has started."""

from __future__ import annotations

import functools
import gc

__all__ = ["YOUNG_GENERATION_THRESHOLD", "tune_garbage_collector"]

# Allocations (less deallocations) that trigger a collection of the youngest generation;
# CPython's default is 700.
YOUNG_GENERATION_THRESHOLD = 10_000


@functools.cache
def tune_garbage_collector() -> None:
    """Keep the cyclic garbage collector off what lives as long as the process.

    What is loaded at start (botocore's service models, the schema, the modules: ~170,000
    objects) is never garbage, yet every full collection walked it; a big operation allocates
    enough to trigger several. Freezing moves it out of the collector's sight, and a larger
    young generation makes collections rarer: the collector's share of a 50-project Dashboard
    fell from ~26 ms to ~8 ms (BENCHMARKS.md). Once per process: `gc.collect` is not free.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
