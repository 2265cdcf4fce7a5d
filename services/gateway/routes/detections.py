"""``GET /api/detections``: history and search, newest first, cursor pagination."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from telesniff.contract import INT64_MAX
from telesniff.db.queries import DetectionQuery, list_detections
from telesniff.gateway.deps import Authorized, DatabaseDep, JSONBytes
from telesniff.gateway.filters import parse_filter
from telesniff.gateway.schemas import DetectionsPage, Problem

router = APIRouter(prefix="/api", tags=["detections"], dependencies=[Authorized])

_PREFIX = "d1:"


def encode_page_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{row_id}".encode()).decode().rstrip("=")


def decode_page_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw.startswith(_PREFIX) and raw[len(_PREFIX) :].isdigit():
            row_id = int(raw[len(_PREFIX) :])
            if row_id <= INT64_MAX:
                return row_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise HTTPException(
        status.HTTP_400_BAD_REQUEST, "cursor: not a cursor returned by this API (use `next`)"
    )


@router.get(
    "/detections",
    response_model=DetectionsPage,
    responses={400: {"model": Problem}, 401: {"model": Problem}, 422: {"model": Problem}},
)
async def detections(
    database: DatabaseDep,
    group: Annotated[str | None, Query(description="ChatGroup name(s), comma-separated")] = None,
    chat: Annotated[str | None, Query(description="chat id")] = None,
    sender: Annotated[str | None, Query(description="sender id or username")] = None,
    kind: Annotated[str | None, Query(description="match kind(s), comma-separated")] = None,
    q: Annotated[str | None, Query(description="text contains (case-insensitive)")] = None,
    since: Annotated[float | None, Query(description="date >= since (epoch s)")] = None,
    until: Annotated[float | None, Query(description="date < until (epoch s)")] = None,
    cursor: Annotated[str | None, Query(description="`next` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JSONBytes:
    rule = parse_filter(group=group, chat=chat, sender=sender, kind=kind, q=q)
    if since is not None and until is not None and until <= since:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "until: must be after since")
    query = DetectionQuery(
        groups=rule.groups,
        chat_id=rule.chat_id,
        sender_id=rule.sender_id,
        sender=rule.sender,
        kinds=rule.kinds,
        text=q.lower() if q else None,
        since=since,
        until=until,
        before_id=decode_page_cursor(cursor) if cursor else None,
        limit=limit,
    )
    items, last = await list_detections(database, query)
    return JSONBytes(
        {"items": items, "next": encode_page_cursor(last) if last is not None else None}
    )
