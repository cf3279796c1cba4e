"""Any sentence-transformers model, by hub name or local directory.

The hub stays offline unless the user opts in (settings.hub_offline=False): a missing
model then fails in milliseconds with a clear message instead of retrying for a minute.
"""

from __future__ import annotations

from pathlib import Path

from rag.embed.base import EmbedderSpec, Vectors, normalise


class SentenceTransformerEmbedder:
    def __init__(self, model: str, device: str | None = None, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(model, device=device or "cpu")
        except OSError as exc:
            hint = "" if Path(model).exists() else (
                " (not a local directory; set KABAR_HUB_OFFLINE=false to allow downloading from a model hub)"
            )
            raise ValueError(f"cannot load sentence-transformers model {model!r}{hint}: {exc}") from exc
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = next((name for name in ("passage", "document") if name in prompts), None)
        self._batch_size = batch_size
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = dimension()
        self.spec = EmbedderSpec(backend="sentence-transformers", model=model, dim=int(dim))

    def encode_queries(self, texts: list[str]) -> Vectors:
        return self._encode(texts, self._query_prompt)

    def encode_passages(self, texts: list[str]) -> Vectors:
        return self._encode(texts, self._passage_prompt)

    def _encode(self, texts: list[str], prompt_name: str | None) -> Vectors:
        vectors = self._model.encode(
            list(texts),
            prompt_name=prompt_name,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return normalise(vectors.reshape(len(texts), self.spec.dim))
