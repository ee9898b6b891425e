"""The metrics of this process as Prometheus would read them (`server/metrics.py`)."""

from __future__ import annotations

from prometheus_client import REGISTRY


def sample(name: str, **labels: str) -> float:
    """The value of one sample, 0 when it has none yet (a counter never incremented)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0
