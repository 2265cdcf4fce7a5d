"""A ChatGroup's status from what is really there: the StatefulSet's replicas, the
session Secret, the listener's counters. Pure functions; callers write the
result only when it differs from what the object already says."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Phase = Literal["Pending", "Running", "Suspended", "Failed"]


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check, as a condition states it."""

    ok: bool
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Counters:
    messages: int
    detections: int
    last_message_at: float | None  # epoch seconds


def rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _workload_check(workload: Mapping[str, Any] | None, suspended: bool) -> tuple[Phase, Check]:
    if suspended:
        return "Suspended", Check(
            False, "Suspended", "spec.suspend is true: the listener is scaled to 0"
        )
    if workload is None:
        return "Pending", Check(
            False, "WorkloadMissing", "the listener StatefulSet does not exist yet"
        )
    name = workload.get("metadata", {}).get("name", "?")
    generation = workload.get("metadata", {}).get("generation") or 0
    state = workload.get("status") or {}
    ready = int(state.get("readyReplicas") or 0)
    if int(state.get("observedGeneration") or 0) < int(generation):
        return "Pending", Check(
            False, "RollingOut", f"StatefulSet {name} is rolling out a new revision"
        )
    if ready >= 1:
        return "Running", Check(
            True, "ListenerReady", f"the listener pod of StatefulSet {name} is ready"
        )
    return "Pending", Check(
        False, "ListenerNotReady", f"0/1 listener pods of StatefulSet {name} are ready"
    )


def conditions(
    current: Sequence[Mapping[str, Any]],
    wanted: Mapping[str, Check],
    *,
    generation: int,
    now: datetime.datetime,
) -> list[dict[str, Any]]:
    """New conditions, keeping lastTransitionTime where a condition's status did not
    change (so an unchanged state produces an identical list and no write)."""
    previous = {str(item.get("type")): item for item in current if isinstance(item, Mapping)}
    result = []
    for kind, check in wanted.items():
        status = "True" if check.ok else "False"
        before = previous.get(kind)
        since = (
            before.get("lastTransitionTime")
            if before is not None and before.get("status") == status
            else None
        )
        result.append(
            {
                "type": kind,
                "status": status,
                "reason": check.reason,
                "message": check.message,
                "lastTransitionTime": since or rfc3339(now),
                "observedGeneration": generation,
            }
        )
    return result


def build_status(
    *,
    current: Mapping[str, Any],
    generation: int,
    listener: str,
    chats: int,
    config_hash: str | None,
    suspended: bool,
    problem: Check | None,
    session: Check,
    workload: Mapping[str, Any] | None,
    counters: Counters | None,
    now: datetime.datetime,
) -> dict[str, Any]:
    """The whole status. ``problem`` is a spec that cannot run (invalid, or its
    session taken by another group); it wins over everything else."""
    phase, ready = _workload_check(workload, suspended)
    if problem is not None:
        phase, ready = "Failed", problem
    elif not session.ok:
        phase, ready = "Failed", session
    status: dict[str, Any] = {
        "phase": phase,
        "observedGeneration": generation,
        "listener": listener,
        "chats": chats,
        "conditions": conditions(
            current.get("conditions") or [],
            {"Ready": ready, "SessionValid": session},
            generation=generation,
            now=now,
        ),
    }
    if config_hash is not None:
        status["configHash"] = config_hash
    if counters is not None:
        status["messages"] = counters.messages
        status["detections"] = counters.detections
        if counters.last_message_at is not None:
            moment = datetime.datetime.fromtimestamp(counters.last_message_at, tz=datetime.UTC)
            status["lastMessageTime"] = rfc3339(moment)
    return status


def changed(current: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether writing ``new`` would change anything (keys absent from ``new`` are kept)."""
    return any(current.get(key) != value for key, value in new.items())
