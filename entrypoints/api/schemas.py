"""Request and response shapes shared by the routers (pagination, written answers)."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

MAX_PAGE = 200


class Strict(BaseModel):
    """Request bodies: unknown fields are refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class WrittenOut(BaseModel):
    """What a write did: the aggregate it concerns and the last log position it wrote."""

    id: UUID
    position: int = Field(ge=0, description="global log position of the last event written")


class Page(BaseModel, Generic[T]):
    """A page of a list; pass ``next_after`` as ``after`` to get the next one."""

    items: list[T]
    next_after: int | None = Field(
        default=None, description="cursor for the next page; null on the last page")


class PageParams(BaseModel):
    after: int = 0
    limit: int = 50


async def page_params(
    after: Annotated[int, Query(ge=0, le=2**62, description="cursor from the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")] = 50,
) -> PageParams:
    return PageParams(after=after, limit=limit)
