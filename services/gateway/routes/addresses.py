"""``GET /api/addresses/hot`` and ``GET /api/addresses/{value}``: who called what, when."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from telesniff.db.queries import ADDRESS_KINDS, address_detail, hot_addresses
from telesniff.gateway.deps import Authorized, DatabaseDep, JSONBytes
from telesniff.gateway.filters import parse_filter
from telesniff.gateway.schemas import AddressOut, HotAddressOut, Problem

router = APIRouter(prefix="/api/addresses", tags=["addresses"], dependencies=[Authorized])

_ERRORS: dict[int | str, dict[str, object]] = {401: {"model": Problem}, 422: {"model": Problem}}


@router.get("/hot", response_model=list[HotAddressOut], responses=_ERRORS)
async def hot(
    database: DatabaseDep,
    window: Annotated[float, Query(gt=0, le=90 * 86400, description="seconds")] = 3600,
    kind: Annotated[
        str | None, Query(description="match kind(s), comma-separated; default solana,evm")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONBytes:
    kinds = parse_filter(kind=kind).kinds or frozenset(ADDRESS_KINDS)
    ranked = await hot_addresses(
        database, since=time.time() - window, kinds=sorted(kinds), limit=limit
    )
    return JSONBytes(ranked)


@router.get(
    "/{value:path}",
    response_model=AddressOut,
    responses={**_ERRORS, 404: {"model": Problem}},
)
async def address(
    database: DatabaseDep,
    value: str,
    kind: Annotated[str | None, Query(description="match kind, when a value has several")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="timeline length")] = 200,
) -> JSONBytes:
    kinds = parse_filter(kind=kind).kinds
    if kinds is not None and len(kinds) != 1:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "kind: give one kind")
    found = await address_detail(
        database, value, kind=next(iter(kinds)) if kinds else None, timeline_limit=limit
    )
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "never mentioned")
    return JSONBytes(found)
