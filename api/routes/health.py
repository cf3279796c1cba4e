"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ServiceDep
from api.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Alive, and which index generation is served")
def healthz(service: ServiceDep) -> Health:
    if not service.ready:
        return Health(status="ok", articles=0, chunks=0, generation=0, embedder=service.embedder.spec.key)
    manifest = service.snapshot.manifest
    return Health(status="ok", articles=manifest.articles, chunks=manifest.chunks,
                  generation=manifest.generation, embedder=f"{manifest.embedder.backend}:{manifest.embedder.model}")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}},
            summary="Ready when an index is loaded")
def readyz(service: ServiceDep) -> Response:
    ready = service.ready
    if service.index_problem:
        # Still answering from the last good generation, but an operator must look.
        serving = f"; still serving {service.snapshot.label}" if ready else ""
        return JSONResponse({"ready": False, "detail": service.index_problem + serving}, status_code=503)
    if ready:
        return JSONResponse({"ready": True, "detail": f"serving {service.snapshot.label}"})
    return JSONResponse({"ready": False, "detail": "no index yet: ingest documents first"}, status_code=503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request, service: ServiceDep) -> Response:
    gauges = request.app.state.metrics
    ready = service.ready
    gauges.index_problem.set(1 if service.index_problem else 0)
    if ready:
        snapshot = service.snapshot
        gauges.index_articles.set(snapshot.manifest.articles)
        gauges.index_chunks.set(snapshot.manifest.chunks)
        gauges.index_bytes.set(sum(f.stat().st_size for f in snapshot.directory.path.rglob("*") if f.is_file()))
    return Response(generate_latest(gauges.registry), media_type=CONTENT_TYPE_LATEST)
