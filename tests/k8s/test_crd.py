"""The ChatGroup CRD on a real API server: it installs, and its schema is enforced."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.k8s.controlplane import ControlPlane, ControlPlaneError

pytestmark = pytest.mark.k8s

REPO = Path(__file__).resolve().parents[2]
CRD = REPO / "charts" / "telesniff" / "crds" / "chatgroups.yaml"
EXAMPLE = REPO / "examples" / "chatgroup.yaml"
GROUPS = "/apis/telesniff.dev/v1alpha1/namespaces/default/chatgroups"


@pytest.fixture(scope="module")
def cp() -> Iterator[ControlPlane]:
    with ControlPlane(controller_manager=False) as plane:
        plane.run_kubectl("apply", "-f", str(CRD))
        plane.run_kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/chatgroups.telesniff.dev",
        )
        yield plane


def chatgroup(name: str, **spec: Any) -> dict[str, Any]:
    """A demo group unless ``spec`` says otherwise (a Telegram one needs spec.telegram)."""
    return {
        "apiVersion": "telesniff.dev/v1alpha1",
        "kind": "ChatGroup",
        "metadata": {"name": name},
        "spec": {"source": "demo", "chats": ["@solana_alpha"], **spec},
    }


TELEGRAM = {
    "session": {"name": "tg", "key": "session"},
    "apiId": {"name": "tg", "key": "api-id"},
    "apiHash": {"name": "tg", "key": "api-hash"},
}


def create(cp: ControlPlane, body: dict[str, Any]) -> Any:
    return cp.request("POST", GROUPS, body)


def test_the_crd_is_established_and_structural(cp: ControlPlane) -> None:
    crd = cp.request(
        "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/chatgroups.telesniff.dev"
    )
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert conditions.get("NonStructuralSchema", "False") == "False"
    assert crd["spec"]["names"]["shortNames"] == ["cg"]
    resources = cp.request("GET", "/apis/telesniff.dev/v1alpha1")["resources"]
    assert {r["name"] for r in resources} == {"chatgroups", "chatgroups/status"}


@pytest.mark.parametrize("example", ["chatgroup.yaml", "chatgroup-demo.yaml"])
def test_the_examples_are_accepted_as_written(cp: ControlPlane, example: str) -> None:
    body = yaml.safe_load((EXAMPLE.parent / example).read_text())
    created = create(cp, body)
    # Nothing pruned or defaulted: every field of the example is in the schema, written out.
    assert created["spec"] == body["spec"]
    listed = cp.run_kubectl("get", "cg", body["metadata"]["name"], "-o", "json")
    assert json.loads(listed.stdout)["spec"]["chats"] == body["spec"]["chats"]


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ({"chats": []}, "spec.chats"),
        ({"chats": [True]}, "spec.chats[0]"),
        ({"chats": ["x" * 300]}, "spec.chats[0]"),
        ({"detectors": ["telepathy"]}, "spec.detectors[0]"),
        ({"detectors": ["url", "url"]}, "spec.detectors[1]"),
        ({"keywords": "presale"}, "spec.keywords"),
        ({"suspend": "yes"}, "spec.suspend"),
        ({"telegram": {"session": {"name": "tg", "key": "s"}}}, "spec.telegram.apiId"),
        (
            {
                "telegram": {
                    "session": {"name": "Not_A_Name", "key": "s"},
                    "apiId": {"name": "tg", "key": "id"},
                    "apiHash": {"name": "tg", "key": "hash"},
                }
            },
            "spec.telegram.session.name",
        ),
        ({"resources": {"limits": {"memory": "lots"}}}, "spec.resources.limits.memory"),
        ({"tolerations": [{"operator": "Sometimes"}]}, "spec.tolerations[0].operator"),
    ],
)
def test_the_api_server_refuses_schema_invalid_objects(
    cp: ControlPlane, spec: dict[str, Any], complaint: str
) -> None:
    body = chatgroup("bad", **spec)
    with pytest.raises(ControlPlaneError) as refused:
        create(cp, body)
    assert "HTTP 422" in str(refused.value)
    assert complaint in str(refused.value)


def test_source_defaults_to_telegram_which_needs_secrets(cp: ControlPlane) -> None:
    body = chatgroup("telegram-default", telegram=TELEGRAM)
    del body["spec"]["source"]
    assert create(cp, body)["spec"]["source"] == "telegram"
    # A demo group needs no secrets, and may keep (ignored) references.
    assert create(cp, chatgroup("demo-plain"))["spec"]["source"] == "demo"
    assert create(cp, chatgroup("demo-refs", telegram=TELEGRAM))["spec"]["telegram"] == TELEGRAM
    for spec in ({"source": "telegram"}, {}):
        body = chatgroup("no-secrets", **spec)
        if not spec:
            del body["spec"]["source"]
        with pytest.raises(ControlPlaneError) as refused:
            create(cp, body)
        message = str(refused.value)
        assert "HTTP 422" in message
        assert "spec.telegram: Required value" in message
        assert "spec.telegram is required when spec.source is telegram (the default)" in message
    with pytest.raises(ControlPlaneError, match=r"spec\.source: Unsupported value"):
        create(cp, chatgroup("pigeon", source="carrier-pigeon"))


def test_unknown_fields_are_pruned_not_stored(cp: ControlPlane) -> None:
    body = chatgroup("pruned", surprise=True)
    created = create(cp, body)
    assert "surprise" not in created["spec"]


def test_status_is_a_subresource_with_printer_columns(cp: ControlPlane) -> None:
    create(cp, chatgroup("columns"))
    status = {
        "phase": "Running",
        "chats": 1,
        "messages": 12,
        "detections": 3,
        "conditions": [{"type": "Ready", "status": "True", "reason": "ListenerReady"}],
    }
    cp.request(
        "PATCH",
        f"{GROUPS}/columns/status",
        {"status": status},
        content_type="application/merge-patch+json",
    )
    # A write to the main resource does not touch the status.
    cp.request(
        "PATCH",
        f"{GROUPS}/columns",
        {"status": {"phase": "Failed"}, "spec": {"keywords": ["x"]}},
        content_type="application/merge-patch+json",
    )
    table = cp.run_kubectl("get", "cg", "columns", "-o", "wide").stdout.split("\n")
    header, row = table[0].split(), table[1].split()
    assert header[:6] == ["NAME", "PHASE", "CHATS", "MESSAGES", "DETECTIONS", "READY"]
    assert row[:6] == ["columns", "Running", "1", "12", "3", "ListenerReady"]
    bad_phase = {"status": {"phase": "Sleeping"}}
    with pytest.raises(ControlPlaneError, match=r"status\.phase"):
        cp.request(
            "PATCH",
            f"{GROUPS}/columns/status",
            bad_phase,
            content_type="application/merge-patch+json",
        )
