"""The chart's alert rules with promtool: valid, and each alert tested firing and not firing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.observability.common import ALERT_FILES, ALERT_TESTS, alert_rules

pytestmark = pytest.mark.prometheus


def promtool() -> str:
    binary = shutil.which("promtool")
    if binary is None:
        raise RuntimeError("promtool is not installed; run `make test` (scripts/test-deps.sh)")
    return binary


def test_rule_files_are_prometheus_rule_groups() -> None:
    assert ALERT_FILES, "charts/telesniff/files/alerts/*.yaml"
    for path in ALERT_FILES:
        document = yaml.safe_load(path.read_text())
        assert set(document) == {"groups"}, f"{path.name}: a rule file is {{groups: [...]}}"
        for group in document["groups"]:
            assert group["name"].startswith("telesniff")
            for rule in group["rules"]:
                annotations = rule["annotations"]
                assert {"summary", "description", "runbook"} <= set(annotations), rule["alert"]
                assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
                anchor = rule["alert"].lower()
                assert f"docs/observability.md#{anchor}" in annotations["runbook"], rule["alert"]


@pytest.mark.parametrize("path", ALERT_FILES, ids=lambda path: path.name)
def test_promtool_check_rules(path: Path) -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", ALERT_TESTS.name],
        cwd=ALERT_TESTS.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    document = yaml.safe_load(ALERT_TESTS.read_text())
    tested = {str(Path(ALERT_TESTS.parent, name).resolve()) for name in document["rule_files"]}
    assert tested == {str(path.resolve()) for path in ALERT_FILES}
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in document["tests"]:
        for check in case["alert_rule_test"]:
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = set(alert_rules())
    assert alerts - firing == set(), "alerts without a firing case"
    assert alerts - quiet == set(), "alerts without a not-firing case"
    assert (firing | quiet) - alerts == set(), "cases for alerts that do not exist"
