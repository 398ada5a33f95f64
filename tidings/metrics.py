"""Metrics: a plain dict for any code, Prometheus text for scrapers.

layer.statistics()              # a Statistics snapshot (counters and gauges)
metrics(layer)                  # the same as {"tidings_sent_total": ..., ...}
prometheus_text(layer)          # text exposition format (needs prometheus-client)
register(layer, registry)       # add a collector to a prometheus_client registry

The names and help texts come from ``Statistics``' fields (``tidings/statistics.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .exceptions import MissingDependency
from .statistics import COUNTERS, GAUGES

if TYPE_CHECKING:
    from .layers.base import BaseChannelLayer


def metrics(layer: BaseChannelLayer, prefix: str = "tidings") -> dict[str, float]:
    """Every counter (``_total``) and gauge of ``layer`` as a flat dict."""
    stats = layer.statistics()
    out: dict[str, float] = {f"{prefix}_{name}_total": getattr(stats, name) for name in COUNTERS}
    out.update({f"{prefix}_{name}": getattr(stats, name) for name in GAUGES})
    return out


def _collector(layer: BaseChannelLayer, prefix: str) -> Any:
    try:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    except ImportError:
        raise MissingDependency(
            "Prometheus output needs prometheus-client: pip install 'tidings[prometheus]'"
        ) from None

    class LayerCollector:
        def collect(self) -> Iterator[Any]:
            stats = layer.statistics()
            for name, text in COUNTERS.items():
                yield CounterMetricFamily(f"{prefix}_{name}", text, value=getattr(stats, name))
            for name, text in GAUGES.items():
                yield GaugeMetricFamily(f"{prefix}_{name}", text, value=getattr(stats, name))
            depth = GaugeMetricFamily(
                f"{prefix}_inbox_depth",
                "Unread messages of the deepest inboxes",
                labels=["channel"],
            )
            for channel, count in stats.deepest.items():
                depth.add_metric([channel], count)
            yield depth

    return LayerCollector()


def register(layer: BaseChannelLayer, registry: Any = None, prefix: str = "tidings") -> Any:
    """Add ``layer``'s metrics to ``registry`` (prometheus_client's default if None)."""
    collector = _collector(layer, prefix)
    if registry is None:
        from prometheus_client import REGISTRY as registry
    registry.register(collector)
    return collector


def prometheus_text(layer: BaseChannelLayer, prefix: str = "tidings") -> str:
    """The layer's metrics in Prometheus text exposition format."""
    collector = _collector(layer, prefix)
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(collector)
    return str(generate_latest(registry).decode())
