"""What the handlers share for the operator's lifetime."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from telesniff.operator.kube import KubeApi
from telesniff.operator.metrics import OperatorMetrics
from telesniff.operator.settings import OperatorSettings
from telesniff.operator.stats import StatsReader


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass
class Runtime:
    settings: OperatorSettings
    api: KubeApi
    stats: StatsReader
    metrics: OperatorMetrics
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    now: Callable[[], datetime.datetime] = _utcnow
    # What this process last applied, per child (kind, namespace, name): the
    # StatefulSet's generation or the ConfigMap's config hash. A child event that
    # shows something else means someone else changed it: drift, to be repaired.
    applied: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # The latest StatefulSet per (namespace, group), kept from its watch events so
    # the periodic status refresh needs no GET.
    workloads: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @property
    def passthrough(self) -> dict[str, str]:
        return self.settings.listener_env_values(dict(self.environ))

    async def close(self) -> None:
        await self.api.close()
        await self.stats.close()
