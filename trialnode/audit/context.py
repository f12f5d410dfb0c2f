"""Who is acting, through what, and why: carried along with the work being done.

Requests set it in middleware; commands, imports and jobs set it with
``acting_as(...)``; services add a reason with ``because(...)``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class AuditContext:
    actor: Any = None
    via: str = "system"
    reason: str = ""
    request_id: str = ""
    ip: str | None = None


_current: ContextVar[AuditContext] = ContextVar("audit_context", default=AuditContext())  # noqa: B039


def current() -> AuditContext:
    return _current.get()


@contextlib.contextmanager
def acting_as(*, actor: Any = None, via: str, ip: str | None = None) -> Iterator[AuditContext]:
    """Attribute every write inside the block to ``actor`` (or to ``via`` alone)."""
    context = AuditContext(actor=actor, via=via, request_id=uuid.uuid4().hex, ip=ip)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


@contextlib.contextmanager
def because(reason: str) -> Iterator[None]:
    """Record ``reason`` as the why of every write inside the block (an empty one keeps
    the reason already given around it)."""
    if not reason:
        yield
        return
    token = _current.set(replace(_current.get(), reason=reason))
    try:
        yield
    finally:
        _current.reset(token)


def set_actor(actor: Any) -> None:
    """For authentication that resolves the user late (API tokens)."""
    _current.set(replace(_current.get(), actor=actor))
