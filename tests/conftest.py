"""Shared fixtures. Unit tests use the deterministic hashing embedder; tests marked
`model` run the real e5 and sentence-transformers models."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before any OpenMP runtime loads

import pytest  # noqa: E402

from rag.chunk import Chunker
from rag.embed.factory import load_embedder
from rag.ingest.pipeline import Ingestor
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
SHARED = ROOT.parent / "shared"
SUMMIT_ARTICLE = "000_587714d13c2303dd"
XIAN_ARTICLE = "004_e7ff7c033fefe0f1"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedding-cache")


def build_index(index_dir: Path, backend: str, cache_dir: Path, paths: list[Path] | None = None) -> Settings:
    # The shared services read with the shipped reader, so every end-to-end answer checks its span too.
    settings = Settings(index_dir=index_dir, cache_dir=cache_dir, reader="bundled")
    embedder = load_embedder(backend, None, cache_dir)
    Ingestor(embedder, Chunker(settings.chunk_size, settings.chunk_overlap)).ingest_paths(
        paths or [SAMPLES], index_dir, progress=False
    )
    return settings


@pytest.fixture(scope="session")
def hashing_seed_settings(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Settings:
    """The sample articles indexed with the fast hashing embedder (read-only: don't write to it)."""
    return build_index(tmp_path_factory.mktemp("hashing-index"), "hashing", cache_dir)


@pytest.fixture(scope="session")
def e5_seed_settings(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Settings:
    """The sample articles indexed with the real multilingual e5 model."""
    return build_index(tmp_path_factory.mktemp("e5-index"), "e5", cache_dir)
