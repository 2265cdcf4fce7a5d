"""Admission checks: what is refused, and that every message says what to fix."""

from __future__ import annotations

from typing import Any, cast

import kmock
import kopf
import pytest

from telesniff.groupspec import SpecError, parse_spec
from telesniff.operator import admission, webhooks
from telesniff.operator.runtime import Runtime
from tests.operator.conftest import (
    GROUPS,
    SECRETS,
    ApplyingEmulator,
    group_body,
    secret_body,
    store,
)


def as_body(document: dict[str, Any]) -> kopf.Body:
    return kopf.Body(cast("kopf.RawBody", document))


def test_invalid_specs_get_the_cli_messages() -> None:
    spec = {"chats": ["@ok_name"], "patterns": ["(unclosed"]}
    with pytest.raises(SpecError) as cli:
        parse_spec(spec)
    result, rejection = admission.check_spec(spec)
    assert result is None
    assert rejection is not None
    assert rejection.reason == "invalid_spec"
    assert rejection.message == str(cli.value)
    assert "spec.patterns" in rejection.message
    assert "not a valid regular expression" in rejection.message
    _, bad_chat = admission.check_spec({"chats": ["not a chat!"]})
    assert bad_chat is not None
    assert "spec.chats" in bad_chat.message
    assert "t.me link" in bad_chat.message


def test_missing_secret_and_missing_key() -> None:
    spec = parse_spec(group_body()["spec"])
    (problem,) = admission.check_secrets(spec, "ns", {"tg": None})
    assert problem.reason == "missing_secret"
    assert problem.message.startswith(
        "spec.telegram.session, spec.telegram.apiId, spec.telegram.apiHash: "
        "Secret 'tg' not found in namespace 'ns'"
    )
    assert (
        "kubectl -n ns create secret generic tg "
        "--from-file=session=... --from-file=api-id=... --from-file=api-hash=..."
    ) in problem.message
    problems = admission.check_secrets(spec, "ns", {"tg": frozenset({"session", "api-id"})})
    assert [p.reason for p in problems] == ["missing_key"]
    assert problems[0].message.startswith(
        "spec.telegram.apiHash: Secret 'tg' has no key 'api-hash' (it has: api-id, session)"
    )
    assert (
        admission.check_secrets(spec, "ns", {"tg": frozenset({"session", "api-id", "api-hash"})})
        == []
    )


def test_duplicate_session_names_the_other_group() -> None:
    mine = group_body("alpha")
    beta = group_body("beta")
    other_session = group_body(
        "gamma",
        telegram={
            "session": {"name": "tg", "key": "other"},
            "apiId": {"name": "tg", "key": "api-id"},
            "apiHash": {"name": "tg", "key": "api-hash"},
        },
    )
    spec = parse_spec(mine["spec"])
    assert admission.find_session_owner("alpha", spec, [mine, other_session]) is None
    owner = admission.find_session_owner("alpha", spec, [mine, other_session, beta])
    assert owner is beta
    message = admission.duplicate_session("alpha", spec, beta).message
    assert "already used by ChatGroup 'beta'" in message
    assert "Secret 'tg' key 'session'" in message


def test_older() -> None:
    first = group_body("b", created="2026-01-01T00:00:00Z")
    second = group_body("a", created="2026-01-02T00:00:00Z")
    assert admission.is_older(first, second)
    assert not admission.is_older(second, first)


async def test_review_reads_secrets_and_groups_from_the_api(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    body = group_body("alpha")
    assert [p.reason for p in await admission.review(rt.api, "alpha", "ns", body["spec"])] == [
        "missing_secret"
    ]
    store(cluster, SECRETS, secret_body())
    assert await admission.review(rt.api, "alpha", "ns", body["spec"]) == []
    store(cluster, GROUPS, group_body("beta"))
    problems = await admission.review(rt.api, "alpha", "ns", body["spec"])
    assert [p.reason for p in problems] == ["duplicate_session"]
    # A group is not its own duplicate (updates).
    assert await admission.review(rt.api, "beta", "ns", body["spec"]) == []
    # Groups in other namespaces do not count.
    assert await admission.review(rt.api, "alpha", "elsewhere", body["spec"]) != []
    secret_requests = [req for req in cluster if "/secrets" in req.url.path]
    assert secret_requests
    # Reads only, by name: no list or watch of Secrets anywhere.
    assert {req.action for req in secret_requests} == {kmock.action.FETCH}


async def test_the_webhook_handler_rejects_and_counts(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    body = as_body(group_body("alpha", patterns=["[unclosed"]))
    with pytest.raises(kopf.AdmissionError) as denied:
        await webhooks.validate(rt, body, None)
    assert "spec.patterns" in str(denied.value)
    assert denied.value.code == 422
    assert rt.metrics.rejections.labels(reason="invalid_spec")._value.get() == 1
    # An update that leaves the spec alone (e.g. kopf's annotations) always passes.
    await webhooks.validate(rt, body, as_body(group_body("alpha", patterns=["[unclosed"])))
    store(cluster, SECRETS, secret_body())
    await webhooks.validate(rt, as_body(group_body("alpha")), None)


def test_webhook_server_needs_a_certificate(tmp_path: Any) -> None:
    from tests.operator.conftest import operator_settings

    assert webhooks.webhook_server(operator_settings()) is None
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    plain = webhooks.webhook_server(operator_settings(webhook_cert_file=cert, webhook_key_file=key))
    assert isinstance(plain, kopf.WebhookServer)
    assert not isinstance(plain, webhooks.ServiceWebhookServer)
    service = webhooks.webhook_server(
        operator_settings(
            webhook_cert_file=cert,
            webhook_key_file=key,
            webhook_service_name="telesniff-operator-webhook",
            webhook_service_namespace="telesniff",
        )
    )
    assert isinstance(service, webhooks.ServiceWebhookServer)
    assert (service.service, service.service_namespace, service.service_port) == (
        "telesniff-operator-webhook",
        "telesniff",
        443,
    )
    disabled = operator_settings(
        webhook_cert_file=cert, webhook_key_file=key, webhook_enabled=False
    )
    assert webhooks.webhook_server(disabled) is None
