"""What the observability tests share: the chart's files, metric names, allowed labels."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import yaml
from prometheus_client import REGISTRY, CollectorRegistry

ROOT: Final = Path(__file__).resolve().parents[2]
CHART_FILES: Final = ROOT / "charts" / "telesniff" / "files"
DASHBOARDS: Final = sorted((CHART_FILES / "dashboards").glob("*.json"))
ALERT_FILES: Final = sorted((CHART_FILES / "alerts").glob("*.yaml"))
ALERT_TESTS: Final = Path(__file__).with_name("alerts_test.yaml")

# Every label any telesniff metric may carry, each with a bounded set of values (see
# docs/observability.md).  Prometheus adds job and instance (and namespace/pod in Kubernetes).
ALLOWED_LABELS: Final = frozenset({
    "group", "chat", "kind", "matched",  # listener: ChatGroup, configured chat id, match kind
    "stream", "consumer_group", "operation",  # consumer
    "route", "method", "status", "reason",  # gateway
    "result", "phase",  # operator (and reason, above)
    "le", "version",  # histogram buckets, telesniff_build_info
})  # fmt: skip
SCRAPE_LABELS: Final = frozenset({"__name__", "job", "instance"})

GRAFANA_RANGES: Final = {"$__rate_interval": "5s", "$__interval": "5s", "$__range": "1m"}
METRIC_NAME: Final = re.compile(r"\b((?:telesniff|process|python)_[a-z0-9_]+)\b")
LABEL_VALUES: Final = re.compile(r"^label_values\((?P<match>.+),\s*(?P<label>\w+)\)$")


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in DASHBOARDS}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows; rows themselves excluded."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(panel title / refId, PromQL)`` for every panel target."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield f"{panel['title']} / {target['refId']}", target["expr"]


def variable_queries(dashboard: dict[str, Any]) -> dict[str, str]:
    found = {}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            found[variable["name"]] = query["query"] if isinstance(query, dict) else query
    return found


def substitute(expr: str, variables: dict[str, str]) -> str:
    """Grafana's substitution of ``$__…`` ranges and ``$var`` / ``${var}`` / ``${var:fmt}``."""
    for name, value in GRAFANA_RANGES.items():
        expr = expr.replace(name, value)
    return re.sub(
        r"\$\{(\w+)(?::\w+)?\}|\$(\w+)",
        lambda match: variables[match.group(1) or match.group(2)],
        expr,
    )


def alert_rules() -> dict[str, dict[str, Any]]:
    rules = {}
    for path in ALERT_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rules[rule["alert"]] = rule
    return rules


def exposed_names(*registries: CollectorRegistry) -> set[str]:
    """Every sample name the given registries (and the default one) can expose."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("_count", "_sum", "_created", ""),
        "info": ("_info",),
        "unknown": ("",),
    }
    names: set[str] = set()
    for registry in (REGISTRY, *registries):
        for family in registry.collect():
            names.update(family.name + suffix for suffix in suffixes[family.type])
    return names
