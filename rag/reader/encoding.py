"""How a question and its passages become the reader's input, the same in training and serving.

Layout: `<s> query: QUESTION </s></s> passage: HEADLINE \n CHUNK </s>`, e5's own prefixes, so
the layers start from what they were trained on. Every chunk token knows its characters in the
chunk and its sentence; headline and question tokens belong to no sentence.

A reader trained to read a question's passages together (`encode_passages`) gets them in one sequence,
`<s> query: QUESTION </s></s> passage: … </s> passage: … </s> …`, each passage with an equal share of the
512 positions: its sentences then compare across passages by attention, not only through a head fitted on
top of logits that were each computed alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.reader.e5_file import E5Tokenizer

MAX_QUESTION_TOKENS = 48
MAX_TOKENS = 256
# e5's position table: the most one sequence of passages read together can hold.
MAX_TOGETHER_TOKENS = 512


@dataclass
class ReaderInput:
    ids: list[int]
    # Per token: (start, end) in the chunk text, or (-1, -1) outside it.
    offsets: list[tuple[int, int]]
    # Per token: index into `sentences`, or -1.
    sentence_of: list[int]
    # The sentences read, as (start, end) in the chunk text (those cut off by truncation are dropped).
    sentences: list[tuple[int, int]]
    # Read together (`encode_passages`): per token, the passage it belongs to (-1 outside every passage), and per
    # kept sentence, its passage. Alone: every chunk token and sentence belongs to passage 0.
    passage_of: list[int] | None = None
    sentence_passage: list[int] | None = None

    def sentence_numbers(self, passage: int) -> list[int]:
        """Read together: the numbers of the sentences passage `passage` holds."""
        return [n for n, p in enumerate(self.sentence_passage or []) if p == passage]

    def offsets_of(self, passage: int) -> list[tuple[int, int]]:
        """Read together: the token offsets with every token outside passage `passage` at (-1, -1), since another
        passage's offsets count other characters (its short answer is looked for among its own tokens only)."""
        return [o if p == passage else (-1, -1) for o, p in zip(self.offsets, self.passage_of or [])]


def _question_ids(tokenizer: E5Tokenizer, question: str) -> list[int]:
    question_ids, _ = tokenizer.encode("query: " + question)
    return [tokenizer.bos, *question_ids[:MAX_QUESTION_TOKENS], tokenizer.eos, tokenizer.eos]


def _passage_tokens(tokenizer: E5Tokenizer, title: str | None, text: str, sentences: list[tuple[int, int]],
                    limit: int) -> tuple[list[int], list[tuple[int, int]], list[int], list[int]]:
    """The headline and chunk's first `limit` tokens, then `</s>`: their ids, offsets in the chunk, each token's
    sentence (numbered among the sentences read) and which of `sentences` were read at all (a sentence the window
    cut off halfway is still scored on what was read of it)."""
    head = "passage: " + (f"{title.strip()}\n" if title and title.strip() else "")
    passage_ids, passage_spans = tokenizer.encode(head + text)
    ids, offsets, sentence_of = [], [], []
    shift, read_until = len(head), 0
    for token, (start, end) in zip(passage_ids[:limit], passage_spans[:limit]):
        ids.append(token)
        if end <= shift:
            offsets.append((-1, -1))
            sentence_of.append(-1)
            continue
        start, end = max(start - shift, 0), end - shift
        offsets.append((start, end))
        read_until = max(read_until, end)
        last = end - 1
        sentence_of.append(next((i for i, (s, e) in enumerate(sentences) if s <= last < e), -1))
    ids.append(tokenizer.eos)
    offsets.append((-1, -1))
    sentence_of.append(-1)
    kept = [i for i, (s, _) in enumerate(sentences) if s < read_until]
    renumber = {old: new for new, old in enumerate(kept)}
    return ids, offsets, [renumber.get(i, -1) for i in sentence_of], kept


def encode_pair(tokenizer: E5Tokenizer, question: str, title: str | None, text: str,
                sentences: list[tuple[int, int]], max_tokens: int = MAX_TOKENS) -> ReaderInput:
    ids = _question_ids(tokenizer, question)
    passage_ids, passage_offsets, passage_sentence_of, kept = _passage_tokens(
        tokenizer, title, text, sentences, max_tokens - len(ids) - 1)
    return ReaderInput(ids=ids + passage_ids, offsets=[(-1, -1)] * len(ids) + passage_offsets,
                       sentence_of=[-1] * len(ids) + passage_sentence_of, sentences=[sentences[i] for i in kept])


def encode_passages(tokenizer: E5Tokenizer, question: str,
                    passages: list[tuple[str | None, str, list[tuple[int, int]]]],
                    max_tokens: int = MAX_TOGETHER_TOKENS) -> ReaderInput:
    """A question and its passages (title, chunk text, sentences) in one sequence, sentences numbered across them.

    Each passage gets the same share of the positions left after the question (a long chunk is cut, as
    `encode_pair` cuts at 256), so the last passage is never the one that loses its end to the first.
    """
    ids = _question_ids(tokenizer, question)
    offsets: list[tuple[int, int]] = [(-1, -1)] * len(ids)
    passage_of = [-1] * len(ids)
    sentence_of = [-1] * len(ids)
    share = (max_tokens - len(ids)) // max(1, len(passages))
    sentences: list[tuple[int, int]] = []
    sentence_passage: list[int] = []
    for number, (title, text, spans) in enumerate(passages):
        passage_ids, passage_offsets, local, kept = _passage_tokens(tokenizer, title, text, spans, share - 1)
        ids += passage_ids
        offsets += passage_offsets
        passage_of += [number if start >= 0 else -1 for start, _ in passage_offsets]
        sentence_of += [len(sentences) + n if n >= 0 else -1 for n in local]
        sentences += [spans[i] for i in kept]
        sentence_passage += [number] * len(kept)
    return ReaderInput(ids=ids, offsets=offsets, sentence_of=sentence_of, sentences=sentences,
                       passage_of=passage_of, sentence_passage=sentence_passage)


def batch_tensors(inputs: list[ReaderInput], pad: int, torch):
    """Padded (ids, attention mask, sentence of each token, sentences per passage) for one forward pass."""
    width = max(len(i.ids) for i in inputs)
    sentences = max(1, max(len(i.sentences) for i in inputs))
    ids = torch.full((len(inputs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(inputs), width), dtype=torch.long)
    sentence_of = torch.full((len(inputs), width), -1, dtype=torch.long)
    for row, item in enumerate(inputs):
        ids[row, :len(item.ids)] = torch.tensor(item.ids)
        mask[row, :len(item.ids)] = 1
        sentence_of[row, :len(item.ids)] = torch.tensor(item.sentence_of)
    return ids, mask, sentence_of, sentences
