"""Kabar's HTTP API (FastAPI). Routers stay thin; `rag.service.Kabar` does the work."""
