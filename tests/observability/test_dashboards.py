"""The chart's Grafana dashboards, statically: shape, variables, and only metrics that exist.

That every query returns data from a running pipeline is test_prometheus.py's job.
"""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from telesniff import observability
from telesniff.consumer import metrics as consumer_metrics
from telesniff.gateway.metrics import Metrics
from telesniff.listener import metrics as listener_metrics
from telesniff.operator.metrics import OperatorMetrics
from tests.observability.common import (
    DASHBOARDS,
    LABEL_VALUES,
    METRIC_NAME,
    alert_rules,
    dashboards,
    exposed_names,
    panels,
    queries,
    variable_queries,
)

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Imported for their metrics, which register in the default registry as they load.
IN_DEFAULT_REGISTRY = (listener_metrics, consumer_metrics, observability)


def known_names() -> set[str]:
    return exposed_names(Metrics(CollectorRegistry()).registry, OperatorMetrics().registry)


def test_there_is_an_overview_and_a_chatgroup_dashboard() -> None:
    uids = {board["uid"] for board in dashboards().values()}
    assert uids == {"telesniff-overview", "telesniff-chatgroup"}
    assert len(DASHBOARDS) == 2


@pytest.mark.parametrize("name", [path.name for path in DASHBOARDS])
def test_dashboard_shape(name: str) -> None:
    board = dashboards()[name]
    assert board["title"]
    assert board["uid"]
    assert board["schemaVersion"] >= 36
    assert "telesniff" in board["tags"]
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(board):
        assert panel["title"], panel
        assert panel.get("description"), panel["title"]
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert target["expr"].strip(), panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_the_chatgroup_dashboard_has_group_and_chat_variables() -> None:
    board = dashboards()["telesniff-chatgroup.json"]
    found = variable_queries(board)
    assert LABEL_VALUES.match(found["group"])
    assert LABEL_VALUES.match(found["chat"])
    assert "$group" in found["chat"], "the chat list follows the selected group"
    chat = next(v for v in board["templating"]["list"] if v["name"] == "chat")
    assert chat["multi"]
    assert chat["includeAll"]
    assert chat["allValue"] == ".*"
    uses = [expr for _, expr in queries(board)]
    assert all("$group" in expr for expr in uses), "every panel is about the selected group"
    assert any('chat=~"$chat"' in expr for expr in uses)


def _names_in(expressions: list[str]) -> set[str]:
    return {name for expr in expressions for name in METRIC_NAME.findall(expr)}


def test_dashboards_use_only_metrics_the_code_exposes() -> None:
    expressions: list[str] = []
    for board in dashboards().values():
        expressions += [expr for _, expr in queries(board)]
        expressions += list(variable_queries(board).values())
    unknown = _names_in(expressions) - known_names()
    assert not unknown, f"dashboards query metrics no process exposes: {sorted(unknown)}"


def test_alerts_use_only_metrics_the_code_exposes() -> None:
    rules: dict[str, Any] = alert_rules()
    unknown = _names_in([rule["expr"] for rule in rules.values()]) - known_names()
    assert not unknown, f"alerts use metrics no process exposes: {sorted(unknown)}"
