"""A small Kubernetes API client for what kopf itself does not do: apply children,
read Secrets, write status from outside a handler.

It logs in exactly the way kopf does (kopf's own service-account and kubeconfig
functions), and the operator hands kopf the same credentials, so both sides act
as one identity with one set of RBAC rules. Everything goes over aiohttp, which
kopf already depends on: no second Kubernetes client library.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import kopf

from telesniff import __version__

LoginFn = Callable[[], kopf.ConnectionInfo]

# Kind → plural for the kinds the operator touches (no discovery round-trips).
PLURALS = {"ConfigMap": "configmaps", "StatefulSet": "statefulsets", "Secret": "secrets"}


class ApiError(Exception):
    """A failed API request, with the API server's own reason and message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.status == 404


def login() -> kopf.ConnectionInfo:
    """In a pod: the mounted service account; elsewhere: $KUBECONFIG or ~/.kube/config."""
    settings = kopf.OperatorSettings()
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(
        settings=settings
    )
    if info is None:
        raise kopf.LoginError(
            "no credentials: not in a pod with a service account, and no kubeconfig "
            "(set KUBECONFIG or create ~/.kube/config)"
        )
    return info


def object_path(
    api_version: str,
    plural: str,
    namespace: str | None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if namespace:
        path += f"/namespaces/{namespace}"
    path += f"/{plural}"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


def path_of(obj: Mapping[str, Any], subresource: str | None = None) -> str:
    metadata = obj["metadata"]
    return object_path(
        obj["apiVersion"],
        PLURALS[obj["kind"]],
        metadata.get("namespace"),
        metadata["name"],
        subresource,
    )


class KubeApi:
    """One aiohttp session against the API server; re-logs in once on a 401
    (service-account tokens are rotated on disk)."""

    def __init__(
        self, login_fn: LoginFn = login, *, field_manager: str, timeout_s: float = 30.0
    ) -> None:
        self._login = login_fn
        self._field_manager = field_manager
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._server = ""

    def connection_info(self) -> kopf.ConnectionInfo:
        """Fresh credentials, also handed to kopf by the operator's login handler."""
        return self._login()

    async def _connect(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            info = self._login()
            headers = info.as_http_headers() | {"User-Agent": f"telesniff-operator/{__version__}"}
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=info.as_ssl_context()),
                headers=headers,
                timeout=self._timeout,
            )
            self._server = info.server.rstrip("/")
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        for attempt in range(2):
            session = await self._connect()
            data = None if body is None else json.dumps(body)
            headers = {"Content-Type": content_type, "Accept": "application/json"}
            async with session.request(
                method, self._server + path, params=params, data=data, headers=headers
            ) as response:
                if response.status == 401 and attempt == 0:
                    await self.close()
                    continue
                payload = await response.json(content_type=None)
                if response.status >= 400:
                    payload = payload if isinstance(payload, dict) else {}
                    raise ApiError(
                        response.status,
                        str(payload.get("reason") or response.reason or "Error"),
                        str(payload.get("message") or payload or ""),
                    )
                return payload if isinstance(payload, dict) else {}
        raise ApiError(401, "Unauthorized", "the API server refused the credentials twice")

    async def get(self, path: str) -> dict[str, Any] | None:
        """The object, or None if it does not exist."""
        try:
            return await self.request("GET", path)
        except ApiError as error:
            if error.not_found:
                return None
            raise

    async def list(self, path: str, *, label_selector: str | None = None) -> list[dict[str, Any]]:
        params = {"labelSelector": label_selector} if label_selector else None
        items = (await self.request("GET", path, params=params)).get("items") or []
        return [item for item in items if isinstance(item, dict)]

    async def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply, forcing ownership: the operator's fields always win,
        which is exactly what repairing an edited child means."""
        return await self.request(
            "PATCH",
            path_of(obj),
            params={"fieldManager": self._field_manager, "force": "true"},
            body=obj,
            content_type="application/apply-patch+yaml",
        )

    async def patch_status(
        self, path: str, status: Mapping[str, Any], *, resource_version: str | None = None
    ) -> dict[str, Any]:
        """Merge-patch the status subresource. With ``resource_version`` the API server
        refuses (409) if the object changed since that version."""
        body: dict[str, Any] = {"status": status}
        if resource_version:
            body["metadata"] = {"resourceVersion": resource_version}
        return await self.request(
            "PATCH", f"{path}/status", body=body, content_type="application/merge-patch+json"
        )
