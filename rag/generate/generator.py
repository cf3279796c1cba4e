"""A written answer in the asker's language, beside the extractive one, with every claim checked.

Called only after Kabar has decided that the archive answers the question: the model is never
asked to answer what retrieval could not. It sees the top passages (numbered, as data), writes
sentences ending in [n], and each sentence comes back marked supported (with the exact article
characters that support it) or not (with the reason). A model that is down, slow, rate-limited
or talks nonsense leaves the extractive answer as it is, with `llm_error` saying what happened.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from langdetect import DetectorFactory, LangDetectException, detect

from rag.generate.claims import CitedPassage, CitedSentence, ClaimChecker, split_claims
from rag.generate.client import ChatClient, Completion, LLMError
from rag.generate.prompt import PromptPassage, build_messages
from rag.models import Article, ClaimSupport, Generated, GeneratedClaim, Passage

DetectorFactory.seed = 0  # langdetect is random by default; the same question gets the same language


def question_language(question: str) -> str:
    try:
        return detect(question)
    except LangDetectException:
        return "und"


class Generator:
    def __init__(self, client: ChatClient, checker: ClaimChecker, passages: int = 5, max_sentences: int = 4) -> None:
        self.client = client
        self.checker = checker
        self.passages = passages
        self.max_sentences = max_sentences

    def messages(self, question: str, passages: list[Passage], language: str) -> list[dict]:
        shown = [PromptPassage(n, p.citation.title, p.citation.source,
                               p.citation.published.isoformat() if p.citation.published else None, p.text)
                 for n, p in enumerate(passages[:self.passages], start=1)]
        return build_messages(question, shown, language, self.max_sentences)

    def stream(self, question: str, passages: list[Passage], snapshot) -> Iterator[str | Generated]:
        """Text pieces as the model writes them, then the checked answer (a `Generated`).

        Raises LLMError when the model fails; the caller keeps its extractive answer.
        """
        started = time.perf_counter()
        language = question_language(question)
        pieces = self.client.stream(self.messages(question, passages, language))
        while True:
            try:
                yield next(pieces)
            except StopIteration as done:
                completion: Completion = done.value
                break
        yield self.checked(completion, passages[:self.passages], snapshot, language, started)

    def generate(self, question: str, passages: list[Passage], snapshot) -> Generated:
        started = time.perf_counter()
        language = question_language(question)
        completion = self.client.complete(self.messages(question, passages, language))
        return self.checked(completion, passages[:self.passages], snapshot, language, started)

    def checked(self, completion: Completion, passages: list[Passage], snapshot, language: str,
                started: float) -> Generated:
        text = completion.text.strip()
        if not text:
            raise LLMError("garbage", "the model answered with no text")
        articles: dict[str, Article] = snapshot.store.get_articles([p.citation.article_id for p in passages])
        cited = self._cited_passages(passages, snapshot, articles)
        claims = self.checker.check(split_claims(text), cited)
        shown = []
        for claim in claims:
            support = None
            if claim.support:
                article = articles[claim.support["article_id"]]
                start, end = claim.support["start"], claim.support["end"]
                support = ClaimSupport(article_id=article.id, start=start, end=end, cited_text=article.text[start:end])
            shown.append(GeneratedClaim(text=claim.text, citations=claim.citations, supported=claim.supported,
                                        reason=claim.reason, support=support))
        supported = sum(c.supported for c in shown)
        return Generated(text=text, lang=language, model=self.client.model, claims=shown,
                         supported_share=round(supported / len(shown), 4) if shown else 0.0,
                         latency_ms=round((time.perf_counter() - started) * 1000, 1),
                         tokens_in=completion.tokens_in, tokens_out=completion.tokens_out)

    @staticmethod
    def _cited_passages(passages: list[Passage], snapshot, articles: dict[str, Article]) -> dict[int, CitedPassage]:
        """Each numbered passage's sentences (those inside its chunk), with their stored vectors."""
        within = snapshot.store.sentences_within([(p.citation.article_id, p.citation.start, p.citation.end)
                                                  for p in passages])
        cited: dict[int, CitedPassage] = {}
        wanted = []
        for number, (passage, rows) in enumerate(zip(passages, within), start=1):
            c = passage.citation
            text = articles[c.article_id].text
            cited[number] = CitedPassage(number, [CitedSentence(c.article_id, r.start, r.end, text[r.start:r.end])
                                                  for r in rows])
            wanted += [r.id for r in rows]
        if wanted:
            vectors = dict(zip(wanted, snapshot.sentence_vectors.vectors_for(wanted)))
            ids = iter(wanted)
            for passage in cited.values():
                for sentence in passage.sentences:
                    sentence.vector = vectors[next(ids)]
        return cited
