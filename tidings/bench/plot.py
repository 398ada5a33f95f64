"""``--plot out.png``: deliveries/s against group size, per contender (matplotlib)."""

from __future__ import annotations

from collections import defaultdict

from ..exceptions import MissingDependency
from .results import Outcome


def plot(outcomes: list[Outcome], path: str) -> None:
    """Draw the fan-out curves (in-process and cross-process) to ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependency("--plot needs matplotlib: pip install 'tidings[plot]'") from None
    panels = ["in-process fan-out", "cross-process fan-out"]
    fig, axes = plt.subplots(1, len(panels), figsize=(12, 4.5))
    for ax, scenario in zip(axes, panels, strict=True):
        series: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for o in outcomes:
            if o.scenario == scenario and o.rate > 0:
                series[o.layer].append((o.size, o.rate))
        for layer, points in sorted(series.items()):
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=layer)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("group members")
        ax.set_ylabel("deliveries / s")
        ax.set_title(scenario)
        ax.grid(True, which="both", alpha=0.3)
        if series:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
