"""Dependencies as `Annotated` aliases: routes ask for the service, a scope, never build them."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from api.security import AuthError, KeyRecord, Scope
from rag.jobs import JobQueue
from rag.service import Kabar


def get_service(request: Request) -> Kabar:
    return request.app.state.kabar


def get_jobs(request: Request) -> JobQueue:
    return request.app.state.jobs


def _require(scope: Scope):
    def dependency(
        request: Request,
        authorization: Annotated[str | None, Header(description="Bearer <API key>")] = None,
        x_api_key: Annotated[str | None, Header(description="API key (alternative to Authorization)")] = None,
    ) -> KeyRecord | None:
        token = x_api_key
        if authorization:
            kind, _, value = authorization.partition(" ")
            token = value.strip() if kind.lower() == "bearer" else None
        try:
            record = request.app.state.auth.check(token, scope)
        except AuthError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            raise HTTPException(status_code=exc.status, detail=exc.message, headers=headers) from None
        who = f"key:{record.name}" if record else f"ip:{request.client.host if request.client else 'unknown'}"
        retry_after = request.app.state.rate_limiter.hit(scope, who)
        if retry_after is not None:
            raise HTTPException(status_code=429, detail="rate limit exceeded; retry later",
                                headers={"Retry-After": str(math.ceil(retry_after))})
        return record

    return dependency


ServiceDep = Annotated[Kabar, Depends(get_service)]
JobsDep = Annotated[JobQueue, Depends(get_jobs)]
AskScope = Annotated[KeyRecord | None, Depends(_require("ask"))]
AdminScope = Annotated[KeyRecord | None, Depends(_require("admin"))]
