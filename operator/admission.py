"""What the admission webhook checks, and the same checks the reconciler repeats
(the webhook may be down or set to Ignore; the workload must still be safe).

Spec problems come from ``telesniff.groupspec.parse_spec`` so the webhook says
exactly what ``telesniff listener --group`` would say. Every message names the
field and says what to do about it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from telesniff.groupspec import GroupSpec, SecretKeyRef, SpecError, parse_spec
from telesniff.operator import resources as r
from telesniff.operator.kube import KubeApi, object_path

# The Secret keys, in the spec's own spelling.
_FIELDS = ("session", "apiId", "apiHash")


@dataclass(frozen=True, slots=True)
class Rejection:
    # A metric label: invalid_spec, missing_telegram, missing_secret, missing_key,
    # duplicate_session.
    reason: str
    message: str


MISSING_TELEGRAM = (
    "spec.telegram: required when spec.source is 'telegram' (the default): name the Secret "
    "keys holding the session and the API credentials (spec.telegram.session, "
    "spec.telegram.apiId, spec.telegram.apiHash), or set spec.source: demo to run the demo "
    "source without Telegram"
)


def check_spec(document: Any) -> tuple[GroupSpec | None, Rejection | None]:
    """The spec, or why it cannot be used. In a cluster a Telegram listener gets its
    credentials only from ``spec.telegram``, so a Telegram group without it is invalid
    here (``telesniff listener --group`` outside a cluster may take them from the
    environment, so ``parse_spec`` itself does not insist)."""
    try:
        spec = parse_spec(document)
    except SpecError as error:
        return None, Rejection("invalid_spec", str(error))
    if not spec.demo and spec.telegram is None:
        return None, Rejection("missing_telegram", MISSING_TELEGRAM)
    return spec, None


def secret_refs(spec: GroupSpec) -> dict[str, SecretKeyRef]:
    """The Secret keys the listener needs: none for the demo source (its ``telegram``,
    if any, is ignored)."""
    if spec.demo or spec.telegram is None:
        return {}
    telegram = spec.telegram
    return dict(zip(_FIELDS, (telegram.session, telegram.api_id, telegram.api_hash), strict=True))


def check_secrets(
    spec: GroupSpec, namespace: str, keys: Mapping[str, frozenset[str] | None]
) -> list[Rejection]:
    """``keys``: each referenced Secret's key names, or None when it does not exist.
    A missing Secret is one problem, however many fields refer to it."""
    problems = []
    missing: dict[str, list[tuple[str, str]]] = {}
    for field, ref in secret_refs(spec).items():
        present = keys.get(ref.name)
        where = f"spec.telegram.{field}"
        if present is None:
            missing.setdefault(ref.name, []).append((where, ref.key))
        elif ref.key not in present:
            have = ", ".join(sorted(present)) or "no keys"
            problems.append(
                Rejection(
                    "missing_key",
                    f"{where}: Secret {ref.name!r} has no key {ref.key!r} (it has: {have}); "
                    f"add the key to the Secret or set {where}.key to one it has",
                )
            )
    for name, uses in missing.items():
        fields = ", ".join(where for where, _ in uses)
        sources = " ".join(f"--from-file={key}=..." for _, key in uses)
        problems.insert(
            0,
            Rejection(
                "missing_secret",
                f"{fields}: Secret {name!r} not found in namespace {namespace!r}; create it "
                f"first (kubectl -n {namespace} create secret generic {name} {sources}) "
                "or refer to an existing Secret",
            ),
        )
    return problems


def _session_of(document: Any) -> tuple[str, str] | None:
    """(Secret name, key) of a raw spec's session, tolerating specs that do not parse."""
    if not isinstance(document, Mapping) or document.get("source") == "demo":
        return None
    session = (document.get("telegram") or {}).get("session") or {}
    if not isinstance(session, Mapping) or not session.get("name") or not session.get("key"):
        return None
    return str(session["name"]), str(session["key"])


def same_session(spec: GroupSpec, other: Mapping[str, Any]) -> bool:
    """Whether another ChatGroup body uses this spec's session Secret key (demo groups
    use no session)."""
    if spec.demo or spec.telegram is None:
        return False
    mine = (spec.telegram.session.name, spec.telegram.session.key)
    return _session_of(other.get("spec")) == mine


def find_session_owner(
    name: str, spec: GroupSpec, others: Iterable[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """Another ChatGroup (in the same namespace) using the same session Secret key."""
    for other in others:
        if other.get("metadata", {}).get("name") != name and same_session(spec, other):
            return other
    return None


def duplicate_session(name: str, spec: GroupSpec, other: Mapping[str, Any]) -> Rejection:
    assert spec.telegram is not None
    session = spec.telegram.session
    theirs = other.get("metadata", {}).get("name")
    return Rejection(
        "duplicate_session",
        f"spec.telegram.session: Secret {session.name!r} key {session.key!r} is already used "
        f"by ChatGroup {theirs!r}; a Telegram session must run in one listener only "
        f"(Telegram revokes a session used twice): give {name or 'this group'!r} its own "
        f"session, or add these chats to {theirs!r}",
    )


def is_older(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether ``a`` was created before ``b`` (ties broken by name): the older keeps a
    contested session, the newer one is held back."""

    def key(body: Mapping[str, Any]) -> tuple[str, str]:
        metadata = body.get("metadata", {})
        return str(metadata.get("creationTimestamp") or "~"), str(metadata.get("name") or "")

    return key(a) < key(b)


async def secret_keys(
    api: KubeApi, namespace: str, spec: GroupSpec
) -> dict[str, frozenset[str] | None]:
    """Key names of each referenced Secret. Only the names are kept: the values
    never need to leave the API server for this."""
    found: dict[str, frozenset[str] | None] = {}
    for ref in secret_refs(spec).values():
        if ref.name not in found:
            secret = await api.get(object_path("v1", "secrets", namespace, ref.name))
            found[ref.name] = None if secret is None else frozenset(secret.get("data") or {})
    return found


async def groups_in(api: KubeApi, namespace: str) -> list[dict[str, Any]]:
    return await api.list(r.group_path(namespace))


async def review(api: KubeApi, name: str, namespace: str, document: Any) -> list[Rejection]:
    """Everything wrong with a ChatGroup about to be stored; empty means admit it."""
    spec, invalid = check_spec(document)
    if spec is None:
        assert invalid is not None
        return [invalid]
    problems = check_secrets(spec, namespace, await secret_keys(api, namespace, spec))
    if secret_refs(spec):
        other = find_session_owner(name, spec, await groups_in(api, namespace))
        if other is not None:
            problems.append(duplicate_session(name, spec, other))
    return problems
