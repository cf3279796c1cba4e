"""An optional second-stage reranker: any sentence-transformers CrossEncoder, by name or path.

The default pipeline reranks by sentence similarity with the multilingual embedder, which needs
no second model. A user with a cross-encoder (a hub name, or a local folder on an offline
machine) sets `KABAR_RERANKER` and the top of the candidate pool is reordered by it.
"""

from __future__ import annotations

import numpy as np

from index.protocol import ArchiveSnapshot as Snapshot
from rag.retrieve import Candidate


class CrossEncoderReranker:
    def __init__(self, model: str, device: str | None = None, batch_size: int = 16) -> None:
        from sentence_transformers import CrossEncoder

        self.name = model
        self.model = CrossEncoder(model, device=device)
        self.batch_size = batch_size

    def scorer(self, snapshot: Snapshot, question: str):
        """A function from candidates to scores in [0, 1], for `retrieve.Context.rerank`."""

        def score(candidates: list[Candidate]) -> list[float]:
            if not candidates:
                return []
            articles = snapshot.store.get_articles(list({c.chunk.article_id: None for c in candidates}))
            pairs = [(question, articles[c.chunk.article_id].text[c.chunk.start:c.chunk.end]) for c in candidates]
            raw = np.asarray(self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False),
                             dtype=np.float64).reshape(len(candidates), -1)[:, -1]
            if raw.min() < 0.0 or raw.max() > 1.0:  # logits: squash, so time bonuses keep their scale
                raw = 1.0 / (1.0 + np.exp(-raw))
            return raw.tolist()

        return score
