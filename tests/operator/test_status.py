"""Status and conditions, computed from the real state of things."""

from __future__ import annotations

import datetime
from typing import Any

from telesniff.operator.status import Check, Counters, build_status, changed, conditions
from tests.operator.conftest import NOW

SESSION_OK = Check(True, "SecretFound", "ok")


def workload(ready: int = 0, generation: int = 1, observed: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"name": "alpha-listener", "generation": generation},
        "status": {"observedGeneration": observed, "readyReplicas": ready, "replicas": 1},
    }


def status(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "current": {},
        "generation": 3,
        "listener": "alpha-listener",
        "chats": 2,
        "config_hash": "abc",
        "suspended": False,
        "problem": None,
        "session": SESSION_OK,
        "workload": workload(),
        "counters": None,
        "now": NOW,
    }
    return build_status(**(arguments | overrides))


def condition(result: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(item for item in result["conditions"] if item["type"] == kind)


def test_pending_until_the_listener_pod_is_ready() -> None:
    pending = status()
    assert pending["phase"] == "Pending"
    assert condition(pending, "Ready")["status"] == "False"
    assert condition(pending, "Ready")["reason"] == "ListenerNotReady"
    running = status(workload=workload(ready=1))
    assert running["phase"] == "Running"
    assert condition(running, "Ready") == {
        "type": "Ready",
        "status": "True",
        "reason": "ListenerReady",
        "message": "the listener pod of StatefulSet alpha-listener is ready",
        "lastTransitionTime": "2026-01-02T03:04:05Z",
        "observedGeneration": 3,
    }
    assert running["observedGeneration"] == 3
    assert running["listener"] == "alpha-listener"
    assert running["chats"] == 2
    assert running["configHash"] == "abc"


def test_a_rollout_in_progress_is_not_running_yet() -> None:
    rolling = status(workload=workload(ready=1, generation=2, observed=1))
    assert rolling["phase"] == "Pending"
    assert condition(rolling, "Ready")["reason"] == "RollingOut"


def test_suspended_missing_and_failed() -> None:
    assert status(suspended=True)["phase"] == "Suspended"
    assert status(workload=None)["phase"] == "Pending"
    assert condition(status(workload=None), "Ready")["reason"] == "WorkloadMissing"
    missing = Check(False, "SecretNotFound", "Secret 'tg' not found")
    failed = status(session=missing, workload=workload(ready=1))
    assert failed["phase"] == "Failed"
    assert condition(failed, "SessionValid")["reason"] == "SecretNotFound"
    assert condition(failed, "Ready")["message"] == "Secret 'tg' not found"
    problem = Check(False, "DuplicateSession", "used by 'beta'")
    assert status(problem=problem, suspended=True)["phase"] == "Failed"
    # A demo group needs no session: SessionValid is True (NotRequired), and it runs.
    demo = status(
        session=Check(True, "NotRequired", "spec.source is demo"), workload=workload(ready=1)
    )
    assert demo["phase"] == "Running"
    assert condition(demo, "SessionValid")["status"] == "True"


def test_counters_and_last_message_time() -> None:
    result = status(counters=Counters(messages=10, detections=4, last_message_at=1767225600.5))
    assert result["messages"] == 10
    assert result["detections"] == 4
    assert result["lastMessageTime"] == "2026-01-01T00:00:00Z"
    assert "messages" not in status()


def test_transition_times_survive_unchanged_conditions() -> None:
    earlier = datetime.datetime(2025, 12, 31, tzinfo=datetime.UTC)
    first = status(now=earlier)
    again = status(current=first, now=NOW)
    assert again == first
    assert not changed(first, again)
    flipped = status(current=first, now=NOW, workload=workload(ready=1))
    assert condition(flipped, "Ready")["lastTransitionTime"] == "2026-01-02T03:04:05Z"
    assert condition(flipped, "SessionValid")["lastTransitionTime"] == "2025-12-31T00:00:00Z"
    assert changed(first, flipped)


def test_changed_ignores_keys_it_does_not_write() -> None:
    current = {"phase": "Running", "messages": 5}
    assert not changed(current, {"phase": "Running"})
    assert changed(current, {"phase": "Pending"})


def test_conditions_keep_their_order() -> None:
    result = conditions(
        [], {"Ready": SESSION_OK, "SessionValid": SESSION_OK}, generation=1, now=NOW
    )
    assert [item["type"] for item in result] == ["Ready", "SessionValid"]
