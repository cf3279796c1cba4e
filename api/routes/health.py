from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServiceDep
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Alive, and what index is being served")
def healthz(service: ServiceDep) -> Health:
    snapshot = service.snapshot
    manifest = snapshot.manifest
    return Health(status="ok", articles=manifest.articles, chunks=manifest.chunks,
                  generation=manifest.generation, embedder=f"{manifest.embedder.backend}:{manifest.embedder.model}")
