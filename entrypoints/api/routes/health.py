"""``GET /health``: open, no token; says whether the event store answers."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from entrypoints.api.deps import SchedulingDep
from entrypoints.api.errors import responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    position: int


@router.get("/health", response_model=Health, responses=responses(503))
def health(scheduling: SchedulingDep) -> Health:
    """Open to all: the store answers and its log is at ``position``."""
    return Health(status="ok", position=scheduling.head())
