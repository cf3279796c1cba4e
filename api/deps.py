"""Dependencies as `Annotated` aliases: routes ask for the service, never build it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rag.service import Kabar


def get_service(request: Request) -> Kabar:
    return request.app.state.kabar


ServiceDep = Annotated[Kabar, Depends(get_service)]
