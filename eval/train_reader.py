"""Train Kabar's reader from multilingual-e5-small's own weights: `python -m eval.train_reader`.

Data: the public questions of `tydiqa_id` (TyDi QA answerable + IDK-MRC unanswerable) and
`facqa`, and nothing else (belebele, seeds and xlsum stay out-of-domain checks). A fixed 15 % of
each set, chosen by a hash of the question's gold documents, is held out of training as `dev`
and written next to the weights, so `kabar eval --questions .../dev/SET.jsonl` measures the
reader on questions it never saw.

Every question is read the way a served question is: the corpus is chunked with Kabar's
chunker and the reader sees chunks. Per question: the chunk holding the answer (the answer
sentence is the positive, the chunk's other sentences negatives, the span is the answer
string), and a hard negative, the best BM25 chunk that does not hold it. An unanswerable
question (IDK-MRC) gets the two best BM25 chunks, which are on its topic and answer nothing.
A share of the questions has its question words switched into English ("siapa" → "who") so
that the reader does not learn to lean on Indonesian interrogatives alone. `--translated DIR`
(data/crosslingual) adds the team's translations of public questions: a translated training
question is read with its Indonesian question's passages, and the translated dev questions are
measured as `<set>-translated`. With `--distill-weight` and `--teacher` a training translation also
learns to read its passage as the teacher reads it with the Indonesian question. A reader trained with
translations is written with `question_languages: any` (`--question-languages` to say otherwise).

`--read-together` teaches a reader that reads a question's passages in one sequence (rag/reader/encoding.py's
`encode_passages`): each training question is its answering chunk and up to two of the passages retrieval shows it
(`--passages read`), in a shuffled order, with one softmax over all their sentences and "none".

Stops after `--minutes`, checkpoints every `--checkpoint-steps`, resumes with `--resume`.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import random
import re
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from eval.questions import refuse_check_sets
from rag.reader.read import QUESTION_LANGUAGES

DEFAULT_SETS = ("tydiqa_id", "facqa")
DEV_PERCENT = 15
TRANSLATED = "-translated"  # translated dev questions are measured as the set <set>-translated


@dataclass
class Example:
    question: str
    title: str | None
    text: str
    sentences: list[tuple[int, int]]
    answer: tuple[int, int] | None  # the answer's characters in `text`
    kind: str = "negative"
    set_name: str = ""
    group: int = -1  # the question it was made for: a question's passages are trained together
    # A training translation's Indonesian question: `--distill-weight` has the teacher read the passage with it.
    source_question: str | None = None


@dataclass
class Dataset:
    # Grouped by question, groups shuffled: a batch never splits a question's passages.
    train: list[Example] = field(default_factory=list)
    dev: list[Example] = field(default_factory=list)
    dev_questions: dict[str, list[dict]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


def split_of(key: str) -> str:
    digest = hashlib.sha256(f"kabar-reader-dev:{key}".encode()).hexdigest()
    return "dev" if int(digest, 16) % 100 < DEV_PERCENT else "train"


def answered_split(set_name: str, gold_doc_ids: list[str]) -> str:
    """An answerable question's split, by its gold articles: questions about one article stay on one side."""
    return split_of(f"{set_name}:{'|'.join(sorted(gold_doc_ids))}")


# Question words and a few function words, Indonesian → English, for code-switched questions.
CODE_SWITCH = [
    (r"\b(siapakah|siapa)\b", "who"), (r"\b(kapankah|kapan)\b", "when"),
    (r"\b(di ?manakah|di ?mana)\b", "where"), (r"\b(berapakah|berapa)\b", "how many"),
    (r"\b(mengapa|kenapa)\b", "why"), (r"\b(bagaimanakah|bagaimana)\b", "how"),
    (r"\b(apakah|apa)\b", "what"), (r"\b(manakah|mana)\b", "which"), (r"\byang\b", "that"),
    (r"\bdan\b", "and"), (r"\bdari\b", "of"), (r"\bdi\b", "in"), (r"\bpada\b", "in"), (r"\bke\b", "to"),
    (r"\btahun\b", "year"), (r"\bnegara\b", "country"), (r"\bkota\b", "city"), (r"\bpertama\b", "first"),
]


def code_switch(question: str) -> str:
    switched = question
    for pattern, english in CODE_SWITCH:
        switched = re.sub(pattern, english, switched, flags=re.IGNORECASE)
    return switched


def build_dataset(datasets_dir: Path, sets: tuple[str, ...], limit: int | None, seed: int,
                  code_switch_share: float, log=print, grouped: bool = False,
                  shown: dict[str, dict[str, list[tuple[str, int, int]]]] | None = None,
                  translated: Path | None = None, translated_copies: int = 1,
                  translated_shown: dict[str, dict[str, list[tuple[str, int, int]]]] | None = None,
                  answer_removed: float = 0.0, unanswerable_copies: int = 1,
                  perturbed: float = 0.0) -> Dataset:
    """`grouped`: shuffle questions (their passages stay together, for the per-question loss); otherwise
    shuffle passages one by one (the shipped reader's recipe).

    `shown` (set → question id → passages, `eval.mine_passages`): a training question's negatives are the
    passages Kabar's retrieval shows the reader for it, other chunks of the right article included, in place of
    one BM25 near miss from another article; a shown passage that holds the answer in a gold article is one more
    positive, one that holds the answer string elsewhere is left out (it may well answer). Dev examples are built
    as without it, so the dev metrics of both recipes compare.

    `translated` (a folder of `<set>-train.jsonl` / `<set>-dev.jsonl` with `translated_from`): each
    translation is read with exactly the passages of its Indonesian question (mined with the Indonesian
    words, which BM25 can match), `translated_copies` times in training; a translation must stay in its
    source question's split. `translated_shown` (set → translation id → passages, mined by asking each
    translation itself): a training translation is read with its answering chunk and the passages retrieval
    shows *it*, as serving will, in place of its source's.

    `answer_removed` (a share of the answerable training questions): the question's answering chunk is read
    once more with every sentence that holds the answer cut out, as a passage that does not answer. IDK-MRC's
    "no answer" questions are on the passage's topic and unanswered by it; a BM25 near miss from another
    article is rarely on topic that closely, so without these the passage head may learn "same topic" more
    than "answers". Drawn from a random stream of its own, so every other example is the recipe's without it.

    `unanswerable_copies`: each training question that has no answer (IDK-MRC's) is read that many times an
    epoch. They are the only negatives on exactly their passage's topic (458 questions, against 13,600 to
    17,300 training passages in the recipes of sessions (q) to (v)), and the "no answer" curve is judged on
    telling them apart.

    `perturbed` (a share of the answerable training questions): the question is edited the way IDK-MRC's
    were written (`eval.perturb_questions`: another name, number or year, the opposite event) and read once
    more with its answering chunk, as a question that chunk does not answer. Drawn from a random stream of its
    own.
    """
    from eval.perturb_questions import name_pool, perturb
    from eval.questions import load_questions
    from index.lexical import MemoryBM25
    from rag.chunk import Chunker

    rng = random.Random(seed)
    removal_rng = random.Random(seed + 1)
    perturb_rng = random.Random(seed + 2)
    chunker = Chunker()
    data = Dataset()
    groups: list[list[Example]] = []
    question_numbers = itertools.count()
    for set_name in sets:
        folder = datasets_dir / set_name
        articles, chunks, chunks_of = corpus_chunks(folder, chunker)
        lexical = MemoryBM25.build(list(range(len(chunks))),
                                     [f"{articles[c.article_id].title or ''}\n{c.text}" for c in chunks])
        questions = load_questions(folder / "questions.jsonl")
        if limit:
            questions = questions[:limit]
        counts = {"train_questions": 0, "dev_questions": 0, "unanswerable": 0, "no_answer_in_gold": 0}
        if answer_removed:
            counts["answer_removed"] = 0
        if perturbed:
            counts["perturbed"] = 0
            # Replacement names come from training questions only, so no dev question leaks into training.
            names = name_pool(q.question for q in questions
                              if q.gold_doc_ids and answered_split(set_name, q.gold_doc_ids) == "train")
        translations = translations_of(translated, set_name) if translated else {}
        if translated:
            counts["translated_train"] = counts["translated_dev"] = 0

        def example(question_text: str, number: int, answer: str | None, kind: str) -> Example:
            chunk = chunks[number]
            title = articles[chunk.article_id].title
            text = chunk.text
            spans = chunk_sentences(articles[chunk.article_id].text, chunk)
            located = None
            if answer:
                at = text.lower().find(answer.lower())
                if at >= 0:
                    located = (at, at + len(answer))
            return Example(question_text, title, text, spans, located, kind, set_name, group)

        def from_read(question, asked: str, read: list[int], positive: int | None) -> list[Example]:
            """What the passages a question was shown teach, beside its answering chunk."""
            if positive is None:  # unanswerable: every passage shown says "no"
                return [example(asked, n, None, "unanswerable") for n in read]
            taught = []
            for n in read:
                if n == positive:
                    continue
                found = question.answer_in(chunks[n].text)
                if found is None:
                    taught.append(example(asked, n, None, "read-negative"))
                elif chunks[n].article_id in question.gold_doc_ids:
                    taught.append(example(asked, n, found, "positive"))
            return taught

        for question in questions:
            group = next(question_numbers)
            hits = [number for number, _ in lexical.search(question.question, 8)]
            if question.gold_doc_ids:
                part = answered_split(set_name, question.gold_doc_ids)
            else:
                counts["unanswerable"] += 1
                # IDK-MRC questions were written against one paragraph; BM25's best is almost always it.
                part = split_of(f"{set_name}:{chunks[hits[0]].article_id if hits else question.id}")
            counts[f"{part}_questions"] += 1
            if part == "dev":
                data.dev_questions.setdefault(set_name, []).append(question.model_dump())
            asked = question.question
            if part == "train" and rng.random() < code_switch_share:
                asked = code_switch(asked)
            made: list[Example] = []
            read = None
            if shown is not None and part == "train":
                read = chunks_shown(chunks, chunks_of, shown.get(set_name, {}).get(question.id, []))
            positive = None
            if question.answers:
                for doc in question.gold_doc_ids:
                    for number in chunks_of.get(doc, []):
                        if question.contains_answer(chunks[number].text):
                            positive = number
                            break
                    if positive is not None:
                        break
                if positive is None:
                    counts["no_answer_in_gold"] += 1
                    continue
                made.append(example(asked, positive, question.answer_in(chunks[positive].text), "positive"))
                if read is not None:
                    made.extend(from_read(question, asked, read, positive))
                else:
                    negatives = [n for n in hits if n != positive and not question.contains_answer(chunks[n].text)
                                 and chunks[n].article_id not in question.gold_doc_ids]
                    if negatives:
                        made.append(example(asked, negatives[0], None, "hard-negative"))
                if part == "train" and answer_removed and removal_rng.random() < answer_removed:
                    cut = without_answer(made[0], question.answers)
                    if cut is not None:
                        made.append(cut)
                        counts["answer_removed"] += 1
                if part == "train" and perturbed and perturb_rng.random() < perturbed:
                    title = articles[chunks[positive].article_id].title or ""
                    passage = f"{title}\n{chunks[positive].text}"
                    edited = perturb(question.question, passage, names, perturb_rng)
                    if edited is not None:  # a question of its own, read with the chunk it does not answer
                        twin = example(edited, positive, None, "perturbed")
                        groups.append([replace(twin, group=next(question_numbers))])
                        counts["perturbed"] += 1
            else:
                made.extend(example(asked, n, None, "unanswerable") for n in (read if read else hits[:2]))
            if part == "dev":
                data.dev.extend(made)
            elif made:
                groups.append(made)
                if not question.answers:
                    for _ in range(unanswerable_copies - 1):
                        copy = next(question_numbers)  # one number a copy: its passages stay one question
                        groups.append([replace(e, group=copy) for e in made])
            for translation_id, text, written_for in translations.get(question.id, []):
                if written_for != part:
                    raise ValueError(f"{question.id}: translated in its {written_for} file, but it is a "
                                     f"{part} question of the reader's split")
                counts[f"translated_{part}"] += 1
                if not made:
                    continue
                if part == "dev":
                    group = next(question_numbers)
                    data.dev.extend(replace(e, question=text, set_name=f"{set_name}{TRANSLATED}", group=group)
                                    for e in made)
                    continue
                mined = (translated_shown or {}).get(set_name, {}).get(translation_id)
                own = chunks_shown(chunks, chunks_of, mined) if mined is not None else []
                if mined is not None and (own or positive is not None):  # its answer, then what it is shown
                    # made[0] is the answering chunk, when there is one
                    first = [replace(made[0], question=text)] if positive is not None else []
                    taught = first + from_read(question, text, own, positive)
                else:
                    taught = [replace(e, question=text) for e in made]
                taught = [replace(e, source_question=made[0].question) for e in taught]
                for _ in range(translated_copies):
                    group = next(question_numbers)
                    groups.append([replace(e, group=group) for e in taught])
        data.counts[set_name] = counts
        log(f"{set_name}: {len(articles)} articles, {len(chunks)} chunks, {counts}")
    if grouped:
        rng.shuffle(groups)
        data.train = [example for made in groups for example in made]
    else:
        data.train = [example for made in groups for example in made]
        rng.shuffle(data.train)
    return data


def without_answer(answering: Example, answers: list[str]) -> Example | None:
    """The answering passage with every sentence that holds an answer string cut out, or None when nothing
    would be left. A passage that does not answer its question, on exactly its topic: what IDK-MRC's questions
    are asked of."""
    lowered = [answer.lower() for answer in answers if answer.strip()]
    kept = [(start, end) for start, end in answering.sentences
            if not any(answer in answering.text[start:end].lower() for answer in lowered)]
    if not kept or len(kept) == len(answering.sentences):
        return None
    text = " ".join(answering.text[start:end] for start, end in kept)
    if any(answer in text.lower() for answer in lowered):  # an answer across two sentences, now joined
        return None
    spans, at = [], 0
    for start, end in kept:
        spans.append((at, at + end - start))
        at += end - start + 1
    return replace(answering, text=text, sentences=spans, answer=None, kind="answer-removed")


def measured_sets(data: Dataset) -> list[str]:
    """Every trained set (measured even when a quick run left it no dev question), then their translations."""
    translated = dict.fromkeys(e.set_name for e in data.dev if e.set_name not in data.counts)
    return list(data.counts) + list(translated)


def translations_of(folder: Path, set_name: str) -> dict[str, list[tuple[str, str, str]]]:
    """Source question id → (the translation's id, translated question, the split file it came from)."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for part in ("train", "dev"):
        path = folder / f"{set_name}-{part}.jsonl"
        if not path.is_file():
            raise ValueError(f"--translated {folder}: no {path.name}")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                found.setdefault(row["translated_from"], []).append((row["id"], row["question"], part))
    return found


def corpus_chunks(folder: Path, chunker) -> tuple[dict, list, dict[str, list[int]]]:
    """A set's articles cleaned as ingest cleans them, their chunks, and each article's chunk numbers."""
    from rag.models import Article
    from rag.text import sanitize

    articles = {}
    for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            articles[record["id"]] = Article(id=record["id"], title=record.get("title"),
                                             text=sanitize(record["text"]).strip())
    chunks = [c for a in articles.values() for c in chunker.split(a)]
    chunks_of: dict[str, list[int]] = {}
    for number, chunk in enumerate(chunks):
        chunks_of.setdefault(chunk.article_id, []).append(number)
    return articles, chunks, chunks_of


def chunk_sentences(article_text: str, chunk) -> list[tuple[int, int]]:
    """The chunk's sentences as the reader receives them: the article's sentence spans, counted from the chunk."""
    from rag.text import sentence_spans

    return [(s - chunk.start, e - chunk.start) for s, e in sentence_spans(article_text, chunk.start, chunk.end)]


def chunks_shown(chunks: list, chunks_of: dict[str, list[int]],
                 shown: list[tuple[str, int, int]]) -> list[int]:
    """The training chunks the passages shown to a question (article, start, end) fall on, best first, once."""
    numbers = [most_overlapping(chunks, chunks_of.get(article_id, []), start, end)
               for article_id, start, end in shown]
    return list(dict.fromkeys(n for n in numbers if n is not None))


def most_overlapping(chunks: list, numbers: list[int], start: int, end: int) -> int | None:
    """Of an article's training chunks, the one a shown passage overlaps most (both come from Kabar's chunker)."""
    overlap, number = max(((min(end, chunks[n].end) - max(start, chunks[n].start), n) for n in numbers),
                          default=(0, None))
    return number if overlap > 0 else None


def batches_of(examples: list[Example], size: int) -> list[list[Example]]:
    """Consecutive examples, `size` rows or a little more, never splitting a question's group."""
    batches: list[list[Example]] = []
    current: list[Example] = []
    for number, example in enumerate(examples):
        current.append(example)
        following = examples[number + 1] if number + 1 < len(examples) else None
        if len(current) >= size and (following is None or following.group != example.group):
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches


TOGETHER_PASSAGES = 3  # what the service reads (KABAR_READER_PASSAGES' default)


def together_groups(examples: list[Example], rng: random.Random, passages: int = TOGETHER_PASSAGES) -> list[Example]:
    """Each question's examples (consecutive, as `build_dataset(grouped=True)` leaves them) cut to what one sequence
    holds: its answering chunk and up to `passages - 1` passages that do not answer, or `passages` of those for a
    question without an answer; shuffled, because served passages come in retrieval's order and a fixed place for
    the answer would teach "the first passage answers"."""
    kept: list[Example] = []
    for _, made in itertools.groupby(examples, key=lambda e: e.group):
        made = list(made)
        answering = [e for e in made if e.answer is not None]
        others = [e for e in made if e.answer is None]
        picked = answering[:1] + others[:passages - 1] if answering else others[:passages]
        if len(picked) < 2 and answering:  # another chunk of the answer's article rather than a passage alone
            picked = answering[:2]
        rng.shuffle(picked)
        kept.extend(picked)
    return kept


def question_batches(examples: list[Example], questions: int) -> list[list[Example]]:
    """Consecutive examples, `questions` questions (groups) a batch."""
    grouped = [list(made) for _, made in itertools.groupby(examples, key=lambda e: e.group)]
    return [[e for made in grouped[first:first + questions] for e in made]
            for first in range(0, len(grouped), questions)]


def unlabelled(rows: int, sentences: int, torch):
    """Label tensors before any label: sentence labels and validity, span start and end (-100: no span, ignored
    by the loss), passage labels."""
    return (torch.zeros((rows, sentences)), torch.zeros((rows, sentences), dtype=torch.bool),
            torch.full((rows,), -100, dtype=torch.long), torch.full((rows,), -100, dtype=torch.long),
            torch.zeros(rows))


def collate_together(batch: list[Example], tokenizer, torch):
    """Training tensors with one row per question, its passages read together; `collate`'s order of outputs, the
    last being (each question's examples, its encoded input). A row's passage label says whether any passage
    answers, its span is the first answering passage's answer."""
    from rag.reader.encoding import batch_tensors, encode_passages

    questions = [list(made) for _, made in itertools.groupby(batch, key=lambda e: e.group)]
    inputs = [encode_passages(tokenizer, made[0].question, [(e.title, e.text, e.sentences) for e in made])
              for made in questions]
    ids, mask, sentence_of, sentences = batch_tensors(inputs, tokenizer.pad, torch)
    sentence_labels, sentence_valid, start, end, passage = unlabelled(len(questions), sentences, torch)
    for row, (made, item) in enumerate(zip(questions, inputs)):
        sentence_valid[row, :len(item.sentences)] = True
        for number, example in enumerate(made):
            if example.answer is None:
                continue
            a_start, a_end = example.answer
            for k in item.sentence_numbers(number):
                s, e = item.sentences[k]
                if s < a_end and a_start < e:
                    sentence_labels[row, k] = 1.0
            tokens = [t for t, (s, e) in enumerate(item.offsets_of(number)) if s >= 0 and s < a_end and a_start < e]
            if tokens and start[row] < 0:  # the answer may lie past the passage's share of the window
                start[row], end[row] = tokens[0], tokens[-1]
        passage[row] = float(sentence_labels[row].max() > 0) if sentences else 0.0
    group = torch.arange(len(questions))
    return (ids, mask, sentence_of, sentences, sentence_labels, sentence_valid, start, end, passage, group,
            list(zip(questions, inputs)))


def collate(batch: list[Example], tokenizer, torch, null_span: bool = False):
    """Training tensors for a batch; the encoded inputs come last (the evaluation reads their offsets).

    `null_span`: a passage that does not answer (or whose answer lies past the token window) gets its span on the
    first token, as SQuAD 2.0 readers do, so that the best span's logit is measured against "no span here";
    otherwise such passages teach the span head nothing."""
    from rag.reader.encoding import batch_tensors, encode_pair

    inputs = [encode_pair(tokenizer, e.question, e.title, e.text, e.sentences) for e in batch]
    ids, mask, sentence_of, sentences = batch_tensors(inputs, tokenizer.pad, torch)
    sentence_labels, sentence_valid, start, end, passage = unlabelled(len(batch), sentences, torch)
    numbers: dict[int, int] = {}
    group = torch.tensor([numbers.setdefault(e.group, len(numbers)) for e in batch], dtype=torch.long)
    for row, (example, item) in enumerate(zip(batch, inputs)):
        sentence_valid[row, :len(item.sentences)] = True
        if null_span:
            start[row], end[row] = 0, 0
        if example.answer is None:
            continue
        a_start, a_end = example.answer
        for number, (s, e) in enumerate(item.sentences):
            if s < a_end and a_start < e:
                sentence_labels[row, number] = 1.0
        tokens = [t for t, (s, e) in enumerate(item.offsets) if s >= 0 and s < a_end and a_start < e]
        if tokens:  # the answer may lie past the token window
            start[row], end[row] = tokens[0], tokens[-1]
            passage[row] = 1.0
    return ids, mask, sentence_of, sentences, sentence_labels, sentence_valid, start, end, passage, group, inputs


def question_softmax(logits, sentence_labels, sentence_valid, group, torch):
    """One softmax per question over the sentences of *all* its passages and a "none" option at 0.

    Shared normalisation (Clark & Gardner, 2018): trained passage by passage, a sentence's logit
    only says how it compares with its neighbours, so the best sentence of a passage that answers
    nothing scores as high as a real answer elsewhere. Served, the reader compares sentences across
    the top passages, and says "none" when no sentence beats 0.
    """
    F = torch.nn.functional
    total = logits.new_zeros(())
    questions = int(group.max().item()) + 1 if len(group) else 0
    for number in range(questions):
        rows = group == number
        scores = logits[rows][sentence_valid[rows]]
        labels = sentence_labels[rows][sentence_valid[rows]]
        options = torch.cat([scores, scores.new_zeros(1)])
        answer = int(labels.argmax()) if labels.numel() and labels.max() > 0 else len(scores)
        total = total + F.cross_entropy(options.unsqueeze(0), torch.tensor([answer], device=logits.device))
    return total / max(questions, 1)


def losses(out, sentence_labels, sentence_valid, start, end, passage, group, torch, per_question: bool = False,
           passage_weight: float = 0.5):
    """`per_question`: one softmax over all passages of a question and "none" (question_softmax); otherwise a
    softmax over the sentences of each answering passage (the shipped reader's recipe)."""
    F = torch.nn.functional
    logits = out["sentence"]
    bce = F.binary_cross_entropy_with_logits(logits, sentence_labels, reduction="none")
    sentence_loss = (bce * sentence_valid).sum() / sentence_valid.sum().clamp(min=1)
    has = passage > 0
    spanned = start >= 0  # the answering passages, and with null spans every passage
    span_loss = torch.tensor(0.0)
    listwise = torch.tensor(0.0)
    if per_question:
        listwise = question_softmax(logits, sentence_labels, sentence_valid, group, torch)
    elif has.any():
        target = sentence_labels[has].argmax(-1)
        listwise = 0.5 * F.cross_entropy(logits[has].masked_fill(~sentence_valid[has], -1e4), target)
    if spanned.any():
        span_loss = (F.cross_entropy(out["start"][spanned], start[spanned])
                     + F.cross_entropy(out["end"][spanned], end[spanned])) / 2
    passage_loss = F.binary_cross_entropy_with_logits(out["passage"], passage)
    total = sentence_loss + listwise + span_loss + passage_weight * passage_loss
    return total, {"sentence": sentence_loss.item(), "listwise": listwise.item(), "span": span_loss.item(),
                   "passage": passage_loss.item()}


def distillation_loss(student: dict, teacher: dict, student_valid, teacher_valid, rows: list[int], torch):
    """How far the student's reading of a translation is from the teacher's reading of its Indonesian question.

    Row j of `teacher` is the teacher's reading of batch row `rows[j]` with the source question. Per row: the KL
    divergence from the teacher's softmax over the passage's sentences to the student's (rows with fewer than two
    sentences both can read teach nothing), and the mean squared distance of the passage logits. Why: a translated
    question taught only from gold labels kept losing to the Indonesian one on the same passages (translated
    tydiqa exact .623 against .725); the shipped reader's reading of the Indonesian question is a denser target
    than the one answering sentence, and it holds the reader's calibration, which the answer head relies on.
    """
    F = torch.nn.functional
    kl = student["sentence"].new_zeros(())
    width = min(student["sentence"].shape[1], teacher["sentence"].shape[1])  # the batches pad to their own longest
    for j, i in enumerate(rows):
        both = student_valid[i, :width] & teacher_valid[j, :width]
        if both.sum() < 2:
            continue
        taught = F.softmax(teacher["sentence"][j, :width][both].float(), -1)
        learned = F.log_softmax(student["sentence"][i, :width][both].float(), -1)
        kl = kl + (taught * (taught.clamp_min(1e-9).log() - learned)).sum()
    kl = kl / max(1, len(rows))
    passage = F.mse_loss(student["passage"][rows].float(), teacher["passage"].float())
    return kl, passage


def evaluate(model, examples: list[Example], tokenizer, torch, batch_size: int = 32,
             null_span: bool = False) -> dict[str, float]:
    """On dev passages: is the top sentence the answer's, is the span exact, is 'answers at all' right;
    and per question, over all its passages read together (as served): is the best sentence of all
    the answer, and does "none" win exactly when nothing answers; and how well a question's best passage logit
    (what the reader's "no answer" curve reads) tells answerable questions from unanswerable ones (AUC)."""
    from eval.metrics import exact_match, token_f1
    from rag.reader.read import best_span

    model.eval()
    right_sentence = exact = f1_sum = positives = 0
    passage_right = null_right = 0
    per_question: dict[int, list[tuple[float, bool]]] = {}
    best_passage: dict[int, float] = {}  # a question's best passage logit: what the reader's curve reads
    with torch.no_grad():
        for batch in batches_of(examples, batch_size):
            ids, mask, sentence_of, n, labels, valid, start, end, passage, _, items = collate(batch, tokenizer, torch)
            out = model(ids, mask, sentence_of, n)
            for row, (example, item) in enumerate(zip(batch, items)):
                passage_right += int((out["passage"][row] > 0).item() == bool(passage[row] > 0))
                span = (best_span(out["start"][row].tolist(), out["end"][row].tolist(), item.offsets, example.text)
                        if null_span or passage[row] > 0 else None)
                if null_span:  # "answers" when the best span beats the first token's
                    null = float(out["start"][row, 0] + out["end"][row, 0])
                    null_right += int((span is not None and span[2] > null) == bool(passage[row] > 0))
                logit = float(out["passage"][row])
                best_passage[example.group] = max(logit, best_passage.get(example.group, logit))
                sentences = per_question.setdefault(example.group, [])
                sentences.extend((float(out["sentence"][row, k]), bool(labels[row, k] > 0))
                                 for k in range(n) if valid[row, k])
                if passage[row] <= 0:
                    continue
                positives += 1
                scores = out["sentence"][row].masked_fill(~valid[row], -1e4)
                right_sentence += int(labels[row, int(scores.argmax())] > 0)
                gold = example.text[example.answer[0]:example.answer[1]]
                predicted = example.text[span[0]:span[1]] if span else ""
                exact += int(exact_match(predicted, gold))
                f1_sum += token_f1(predicted, gold)
    model.train()
    answered = {g for g, s in per_question.items() if any(is_answer for _, is_answer in s)}
    unanswered = {g for g, s in per_question.items() if s and g not in answered}
    answerable = [per_question[g] for g in answered]
    unanswerable = [per_question[g] for g in unanswered]
    passage_auc = rank_auc([best_passage[g] for g in answered], [best_passage[g] for g in unanswered])
    question_top1 = sum(max(s)[1] and max(s)[0] > 0 for s in answerable)
    answerable_refused = sum(max(s)[0] <= 0 for s in answerable)
    unanswerable_refused = sum(max(s)[0] <= 0 for s in unanswerable)
    return {"sentence_top1": round(right_sentence / max(positives, 1), 4),
            "span_exact": round(exact / max(positives, 1), 4), "span_f1": round(f1_sum / max(positives, 1), 4),
            "passage_accuracy": round(passage_right / max(len(examples), 1), 4), "positives": positives,
            **({"null_span_accuracy": round(null_right / max(len(examples), 1), 4)} if null_span else {}),
            "passages": len(examples),
            "question_top1": round(question_top1 / max(len(answerable), 1), 4),
            "answerable_refused": round(answerable_refused / max(len(answerable), 1), 4),
            "unanswerable_refused": round(unanswerable_refused / max(len(unanswerable), 1), 4),
            "questions": len(answerable) + len(unanswerable),
            **({"passage_auc": round(passage_auc, 4)} if passage_auc is not None else {})}


def evaluate_together(model, examples: list[Example], tokenizer, torch, seed: int,
                      batch_questions: int = 8) -> dict[str, float]:
    """`evaluate`'s numbers for a reader that reads a question's dev passages together, in an order shuffled by
    `seed` (the answering chunk is built first). Per answering passage: its top sentence and its span (the span
    head restricted to its tokens); `passage_accuracy` is per question: the one passage logit says whether any
    passage answers."""
    from eval.metrics import exact_match, token_f1
    from rag.reader.read import best_span

    rng = random.Random(seed)
    shuffled: list[Example] = []
    for _, made in itertools.groupby(examples, key=lambda e: e.group):
        made = list(made)
        rng.shuffle(made)
        shuffled.extend(made)
    model.eval()
    right_sentence = exact = f1_sum = positives = passage_right = 0
    per_question: list[tuple[list[tuple[float, bool]], float]] = []
    with torch.no_grad():
        for batch in question_batches(shuffled, batch_questions):
            ids, mask, sentence_of, n, labels, valid, _, _, passage, _, read = collate_together(batch, tokenizer, torch)
            out = model(ids, mask, sentence_of, n)
            for row, (made, item) in enumerate(read):
                logit = float(out["passage"][row])
                passage_right += int((logit > 0) == bool(passage[row] > 0))
                per_question.append(([(float(out["sentence"][row, k]), bool(labels[row, k] > 0))
                                      for k in range(n) if valid[row, k]], logit))
                starts, ends = out["start"][row].tolist(), out["end"][row].tolist()
                for number, example in enumerate(made):
                    if example.answer is None:
                        continue
                    own = item.sentence_numbers(number)
                    if not own:
                        continue
                    positives += 1
                    best = max(own, key=lambda k: float(out["sentence"][row, k]))
                    right_sentence += int(labels[row, best] > 0)
                    span = best_span(starts, ends, item.offsets_of(number), example.text)
                    gold = example.text[example.answer[0]:example.answer[1]]
                    predicted = example.text[span[0]:span[1]] if span else ""
                    exact += int(exact_match(predicted, gold))
                    f1_sum += token_f1(predicted, gold)
    model.train()
    answerable = [(s, logit) for s, logit in per_question if any(is_answer for _, is_answer in s)]
    unanswerable = [(s, logit) for s, logit in per_question if s and not any(is_answer for _, is_answer in s)]
    passage_auc = rank_auc([logit for _, logit in answerable], [logit for _, logit in unanswerable])
    question_top1 = sum(max(s)[1] and max(s)[0] > 0 for s, _ in answerable)
    return {"sentence_top1": round(right_sentence / max(positives, 1), 4),
            "span_exact": round(exact / max(positives, 1), 4), "span_f1": round(f1_sum / max(positives, 1), 4),
            "passage_accuracy": round(passage_right / max(len(per_question), 1), 4), "positives": positives,
            "passages": len(examples),
            "question_top1": round(question_top1 / max(len(answerable), 1), 4),
            "answerable_refused": round(sum(max(s)[0] <= 0 for s, _ in answerable) / max(len(answerable), 1), 4),
            "unanswerable_refused": round(sum(max(s)[0] <= 0 for s, _ in unanswerable) / max(len(unanswerable), 1),
                                          4),
            "questions": len(per_question),
            **({"passage_auc": round(passage_auc, 4)} if passage_auc is not None else {})}


def dev_metrics(model, data: Dataset, tokenizer, torch, settings: dict) -> dict[str, dict[str, float]]:
    """Each measured set's dev numbers, read the way the reader's settings say it reads (alone or together)."""
    if settings.get("read_together"):
        return {name: evaluate_together(model, [e for e in data.dev if e.set_name == name], tokenizer, torch,
                                        seed=int(settings.get("seed", 13)))
                for name in measured_sets(data)}
    return {name: evaluate(model, [e for e in data.dev if e.set_name == name], tokenizer, torch,
                           null_span=bool(settings.get("null_span", False)))
            for name in measured_sets(data)}


def rank_auc(positives: list[float], negatives: list[float]) -> float | None:
    """The chance that a random positive outscores a random negative (ties count half); None without both."""
    if not positives or not negatives:
        return None
    from sklearn.metrics import roc_auc_score

    labels = [1] * len(positives) + [0] * len(negatives)
    return float(roc_auc_score(labels, positives + negatives))


def start_from(model, directory: Path, layers: int, passage_pooling: str, option: str = "--init") -> dict:
    """Load a trained reader's layers and heads into `model`; what the new reader's card says it started from.

    Two runs, not one longer one: the first teaches the sentence and span heads from e5's layers; the passage head
    over the mean of the tokens learns slowly beside them (loss .58 after 1,087 steps) and needs a second pass at a
    higher rate and full weight, which would unsettle the other heads from the start.
    """
    from safetensors.torch import load_file

    from rag.reader.weights import unpack_weights

    config_path, weights_path = directory / "config.json", directory / "reader.safetensors"
    if not config_path.is_file() or not weights_path.is_file():
        raise ValueError(f"{option} {directory}: not a reader folder (needs config.json and reader.safetensors)")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    trained = config.get("settings", {})
    if int(trained.get("layers", -1)) != layers or trained.get("passage_pooling", "first") != passage_pooling:
        raise ValueError(f"{option} {directory}: a {trained.get('layers')}-layer reader with passage pooling "
                         f"{trained.get('passage_pooling', 'first')!r}; this run asks for {layers} and {passage_pooling!r}")
    state = unpack_weights(load_file(str(weights_path)))
    missing, unexpected = model.load_trained(state, int(trained.get("freeze_layers", 0)))  # over e5's, loaded already
    if missing or unexpected:
        raise ValueError(f"{option} {directory}: its weights do not fit this reader")
    return {"path": str(directory), "sha256": config.get("sha256", ""), "command": trained.get("command", ""),
            "steps": trained.get("steps"), "training_minutes": config.get("machine", {}).get("training_minutes"),
            "freeze_layers": int(trained.get("freeze_layers", 0))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.train_reader", description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--sets", default=",".join(DEFAULT_SETS))
    parser.add_argument("--out", type=Path, default=Path("rag/data/reader"))
    parser.add_argument("--work", type=Path, default=Path(".kabar/reader-training"),
                        help="checkpoints and the training log")
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--epochs", type=float, default=1.5)
    parser.add_argument("--minutes", type=float, default=75.0, help="stop training after this long")
    parser.add_argument("--limit", type=int, default=None, help="questions per set (a quick run)")
    parser.add_argument("--code-switch", type=float, default=0.25)
    parser.add_argument("--checkpoint-steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--loss", choices=["passage", "question"], default="passage",
                        help="passage: sentences compete within each passage (the shipped reader); question: one "
                        "softmax over the sentences of all of a question's passages and 'none' (measured: not better "
                        "in the pipeline after 78 min; docs/quality-experiments.md)")
    parser.add_argument("--read-together", action="store_true",
                        help="read each question's passages in one sequence (its answering chunk and up to two "
                        "passages retrieval shows it, shuffled), one softmax over all their sentences and 'none'; "
                        "the service then reads its top passages the same way. Needs --passages read")
    parser.add_argument("--passage-pooling", choices=["mean", "first"], default="mean",
                        help="what the 'does this passage answer' head reads: the mean of the tokens, or the first token "
                        "(the shipped reader's; its head never learned, docs/quality-experiments.md)")
    parser.add_argument("--init", type=Path, default=None,
                        help="start from a reader this command trained (its folder) instead of e5's own layers: a "
                        "second, shorter run that teaches its 'does this passage answer' head (see the README)")
    parser.add_argument("--head-lr", type=float, default=None, help="the heads' learning rate (default: 10 × --lr)")
    parser.add_argument("--passage-lr", type=float, default=None,
                        help="the passage head's learning rate (default: --head-lr)")
    parser.add_argument("--passage-weight", type=float, default=0.5,
                        help="weight of the 'does this passage answer' loss beside the sentence and span losses")
    parser.add_argument("--null-span", action="store_true",
                        help="passages without an answer put their span on the first token (SQuAD 2.0's null "
                             "answer), so the span logit speaks to answerability and compares across passages")
    parser.add_argument("--passages", choices=["bm25", "read"], default="bm25",
                        help="a training question's negatives: bm25 (the best BM25 chunk of another article; the "
                             "first run's) or read (the passages Kabar's retrieval shows the reader for it, mined "
                             "once into --work: eval.mine_passages)")
    parser.add_argument("--embedder", default="e5", help="the embedder of the retrieval that mines --passages read")
    parser.add_argument("--indexes", type=Path, default=None,
                        help="where --passages read builds the sets' indexes (default: reused from .kabar/eval)")
    parser.add_argument("--freeze-layers", type=int, default=0,
                        help="keep the embeddings and the first N layers as e5 has them (not trained): a deeper reader "
                             "for the same training time, whose lower layers keep e5's cross-lingual alignment")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--bf16", action="store_true",
                        help="run the encoder's forward and backward matrix products in bf16 (weights, optimizer "
                        "and heads stay fp32): faster on a CPU with bf16 instructions or a GPU")
    parser.add_argument("--weights", choices=["fp16", "int8"], default="fp16",
                        help="how the trained tensors are stored: int8 (one scale per row) halves the file, so a "
                        "reader that trains more layers fits the repository's 50 MB beside the other; the dev "
                        "metrics are measured on the stored weights either way")
    parser.add_argument("--translated", type=Path, default=None,
                        help="a folder of translated public questions (data/crosslingual): trained on with "
                             "their Indonesian questions' passages; the dev ones measured as <set>-translated")
    parser.add_argument("--translated-passages", choices=["source", "read"], default="source",
                        help="a training translation's passages: source (its Indonesian question's) or read "
                             "(those Kabar's retrieval shows the translation itself, mined once into --work)")
    parser.add_argument("--distill-weight", type=float, default=0.0,
                        help="with --translated and --teacher: the weight of a loss that teaches a translation's "
                             "reading to match the teacher's reading of its Indonesian question (KL over the "
                             "passage's sentences plus 0.1 x the passage logits' squared distance)")
    parser.add_argument("--teacher", type=Path, default=None,
                        help="the reader (of this run's shape) that reads the Indonesian questions for "
                             "--distill-weight; usually the --init reader")
    parser.add_argument("--question-languages", choices=QUESTION_LANGUAGES, default=None,
                        help="written into the reader's config: 'any' lets it have its say on questions in every "
                             "language (the default with --translated, whose dev questions it is measured on), "
                             "'indonesian' only on mostly Indonesian ones (the default without)")
    parser.add_argument("--translated-copies", type=int, default=1,
                        help="how many times each translated training question is read per epoch")
    parser.add_argument("--answer-removed", type=float, default=0.0,
                        help="share of answerable training questions whose answering chunk is also read "
                             "with its answer sentences cut out, as a passage that does not answer")
    parser.add_argument("--unanswerable-copies", type=int, default=1,
                        help="how many times each training question with no answer (IDK-MRC's) is read "
                             "per epoch")
    parser.add_argument("--perturbed", type=float, default=0.0,
                        help="share of answerable training questions also read edited so that their passage "
                             "no longer answers them (another name, number, year or the opposite event), as "
                             "\"no answer\" examples of IDK-MRC's kind (default 0)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="CPU threads (torch's own default is the physical cores: 1 on this 2-vCPU machine)")
    args = parser.parse_args(argv)
    refuse_check_sets(args.sets.split(","), "trained on")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from rag.reader.e5_file import E5Tokenizer, read_e5_file
    from rag.reader.model import ReaderModel
    from rag.reader.read import save_reader
    from rag.reader.weights import pack_weights, unpack_weights

    if not (args.datasets / "tydiqa_id").is_dir() and "tydiqa_id" in args.sets:
        print(f"error: no data sets at {args.datasets} (pass --datasets)", file=sys.stderr)
        return 2
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    args.work.mkdir(parents=True, exist_ok=True)
    log_file = (args.work / "train.log").open("a", encoding="utf-8")

    def log(message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    started = time.time()
    shown = None
    if args.passages == "read":
        from eval.mine_passages import passages_read

        shown = {name: passages_read(args.datasets, name, args.work, args.limit, log, args.embedder,
                                     args.indexes)
                 for name in args.sets.split(",")}

    translated_shown = None
    if args.translated_passages == "read" and not args.translated:
        print("error: --translated-passages read needs --translated (the questions to ask)", file=sys.stderr)
        return 2
    if args.translated_passages == "read":
        from eval.mine_passages import passages_read

        # each training translation asked itself: serving shows an English question other passages
        translated_shown = {}
        for name in args.sets.split(","):
            asked = args.translated / f"{name}-train.jsonl"
            translated_shown[name] = passages_read(args.datasets, name, args.work, args.limit, log,
                                                   args.embedder, args.indexes, questions_file=asked)
    try:
        if args.translated_copies < 1:
            raise ValueError(f"--translated-copies must be 1 or more, not {args.translated_copies}")
        if args.unanswerable_copies < 1:
            raise ValueError(f"--unanswerable-copies must be 1 or more, not {args.unanswerable_copies}")
        if not 0.0 <= args.answer_removed <= 1.0:
            raise ValueError(f"--answer-removed is a share of the questions, 0 to 1, not {args.answer_removed}")
        if not 0.0 <= args.perturbed <= 1.0:
            raise ValueError(f"--perturbed is a share between 0 and 1, not {args.perturbed}")
        if args.distill_weight < 0:
            raise ValueError(f"--distill-weight must be 0 or more, not {args.distill_weight}")
        if args.read_together and (args.passages != "read" or args.distill_weight or args.null_span):
            raise ValueError("--read-together learns from the passages retrieval shows each question (--passages "
                             "read), without --distill-weight or --null-span")
        if args.distill_weight and (args.teacher is None or args.translated is None):
            raise ValueError("--distill-weight needs --teacher (the reader that reads the Indonesian questions) "
                             "and --translated (the questions it is distilled on)")
        data = build_dataset(args.datasets, tuple(args.sets.split(",")), args.limit, args.seed,
                             args.code_switch, log, grouped=args.loss == "question" or args.read_together,
                             shown=shown,
                             translated=args.translated, translated_copies=args.translated_copies,
                             translated_shown=translated_shown, answer_removed=args.answer_removed,
                             unanswerable_copies=args.unanswerable_copies, perturbed=args.perturbed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.read_together:
        data.train = together_groups(data.train, random.Random(args.seed + 3))
    log(f"examples: {len(data.train)} train, {len(data.dev)} dev ({time.time() - started:.0f} s to build)")
    e5 = read_e5_file()
    tokenizer = E5Tokenizer(e5)
    model = ReaderModel(e5, args.layers, args.passage_pooling)
    model.load_e5(e5)
    init = None
    if args.init is not None:
        try:
            init = start_from(model, args.init, args.layers, args.passage_pooling)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        log(f"starting from the reader at {args.init} (sha256 {init['sha256'][:12]}…)")
    if not 0 <= args.freeze_layers < args.layers:
        print(f"error: --freeze-layers must be between 0 and {args.layers - 1}", file=sys.stderr)
        return 2
    if init is not None and args.freeze_layers > init["freeze_layers"]:
        # A frozen layer is not saved: it is rebuilt from e5 at load time, so it must be e5's own, untrained.
        print(f"error: --init {args.init} trained its layers {init['freeze_layers']}..{args.freeze_layers - 1}; "
              f"a frozen layer must be e5's own (--freeze-layers {init['freeze_layers']} or fewer)", file=sys.stderr)
        return 2
    model.freeze(args.freeze_layers)  # the same weights save_reader leaves out
    model.to(device)
    teacher, taught_by = None, None
    if args.distill_weight:
        teacher = ReaderModel(e5, args.layers, args.passage_pooling)
        teacher.load_e5(e5)
        try:
            taught_by = start_from(teacher, args.teacher, args.layers, args.passage_pooling, option="--teacher")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        teacher.eval()
        for parameter in teacher.parameters():
            parameter.requires_grad_(False)
        teacher.to(device)
        teacher.bf16_encoder = args.bf16
        log(f"distilling from {args.teacher} (sha256 {taught_by['sha256'][:12]}…) on the translated rows, "
            f"weight {args.distill_weight}")
    model.bf16_encoder = args.bf16
    head_lr = args.head_lr if args.head_lr is not None else args.lr * 10
    passage_lr = args.passage_lr if args.passage_lr is not None else head_lr
    heads = [p for n, p in model.named_parameters() if not n.startswith(("encoder.", "passage."))]
    passage_head = [p for n, p in model.named_parameters() if n.startswith("passage.")]
    body = [p for n, p in model.named_parameters() if n.startswith("encoder.") and p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": heads, "lr": head_lr},
                                   {"params": passage_head, "lr": passage_lr}], weight_decay=0.01)
    if args.read_together:  # --batch questions, each one row
        batches = question_batches(data.train, args.batch)
    elif args.loss == "question":
        batches = batches_of(data.train, args.batch)
    else:
        batches = [data.train[first:first + args.batch] for first in range(0, len(data.train), args.batch)]
    steps_per_epoch = len(batches)
    # --epochs 0 with --init measures a trained reader (the translated dev questions too) without training it
    total_steps = 0 if args.epochs == 0 else max(1, int(steps_per_epoch * args.epochs))
    warmup = max(1, total_steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / max(1, total_steps - warmup))))
    step = 0
    checkpoint = args.work / "checkpoint.pt"
    if args.resume and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device)
        model.load_state_dict(state["model"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        log(f"resumed at step {step}")
    elapsed_before = 0.0 if not (args.resume and checkpoint.exists()) else state.get("seconds", 0.0)
    train_started = time.time()
    model.train()
    running: dict[str, float] = {}
    stopped_by = "steps"
    while step < total_steps:
        batch = batches[step % steps_per_epoch]
        collated = (collate_together(batch, tokenizer, torch) if args.read_together
                    else collate(batch, tokenizer, torch, args.null_span))
        tensors = [t.to(device) if hasattr(t, "to") else t for t in collated[:-1]]
        ids, mask, sentence_of, n, labels, valid, start, end, passage, group = tensors
        out = model(ids, mask, sentence_of, n)
        loss, parts = losses(out, labels, valid, start, end, passage, group, torch,
                             per_question=args.loss == "question" or args.read_together,
                             passage_weight=args.passage_weight)
        rows = [i for i, e in enumerate(batch) if e.source_question]
        if teacher is not None and rows:
            originals = [replace(batch[i], question=batch[i].source_question) for i in rows]
            t_ids, t_mask, t_of, t_n, _, t_valid, *_ = [t.to(device) if hasattr(t, "to") else t
                                                         for t in collate(originals, tokenizer, torch,
                                                                          args.null_span)[:-1]]
            with torch.no_grad():
                read_by_teacher = teacher(t_ids, t_mask, t_of, t_n)
            kl, passage_distance = distillation_loss(out, read_by_teacher, valid, t_valid, rows, torch)
            loss = loss + args.distill_weight * (kl + 0.1 * passage_distance)
            parts["distill"] = kl.item()
            parts["distill_passage"] = passage_distance.item()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        step += 1
        for name, value in parts.items():
            running[name] = 0.98 * running.get(name, value) + 0.02 * value
        seconds = elapsed_before + time.time() - train_started
        if step % 20 == 0 or step == total_steps:  # the last step's losses too, however short the run
            log(f"step {step}/{total_steps} {seconds / 60:.1f} min " + " ".join(f"{k} {v:.3f}" for k, v in running.items()))
        if step % args.checkpoint_steps == 0 or step == total_steps:
            torch.save({"model": model.trained_state(), "optimizer": optimizer.state_dict(),
                        "schedule": schedule.state_dict(), "step": step, "seconds": seconds}, checkpoint.with_suffix(".tmp"))
            os.replace(checkpoint.with_suffix(".tmp"), checkpoint)
        if seconds > args.minutes * 60:
            stopped_by = "time"
            log(f"time budget of {args.minutes} min reached at step {step}")
            break
    training_seconds = elapsed_before + time.time() - train_started
    model.cpu()
    model.bf16_encoder = False  # dev metrics in fp32, as a reader reads without a bf16 CPU
    stored = unpack_weights(pack_weights(model.trained_state(args.freeze_layers), args.weights))
    model.load_trained(stored, args.freeze_layers)  # the dev metrics are the shipped weights'
    metrics = dev_metrics(model, data, tokenizer, torch,
                          {"read_together": args.read_together, "seed": args.seed, "null_span": args.null_span})
    log(f"dev: {json.dumps(metrics)}")
    command = "python -m eval.train_reader " + " ".join(argv if argv is not None else sys.argv[1:])
    settings = {"layers": args.layers, "batch": args.batch, "lr": args.lr, "head_lr": head_lr,
                "passage_lr": passage_lr, "passage_weight": args.passage_weight, "init": init,
                "freeze_layers": args.freeze_layers, "bf16": args.bf16, "weights": args.weights,
                "command": command.strip(),
                "epochs": args.epochs, "steps": step, "total_steps": total_steps, "stopped_by": stopped_by,
                "seed": args.seed, "code_switch": args.code_switch, "dev_percent": DEV_PERCENT, "loss": args.loss,
                "read_together": args.read_together,
                "passage_pooling": args.passage_pooling, "null_span": args.null_span, "passages": args.passages,
                "sets": args.sets, "limit": args.limit, "train_examples": len(data.train),
                "translated": str(args.translated) if args.translated else None,
                "translated_copies": args.translated_copies if args.translated else None,
                "translated_passages": args.translated_passages if args.translated else None,
                "answer_removed": args.answer_removed, "unanswerable_copies": args.unanswerable_copies,
                "perturbed": args.perturbed,
                "distill_weight": args.distill_weight or None,
                "teacher": taught_by,
                "dev_examples": len(data.dev), "counts": data.counts}
    machine = {"device": device, "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
               "torch": torch.__version__, "threads": torch.get_num_threads(),
               "training_minutes": round(training_seconds / 60, 1)}
    languages = args.question_languages or ("any" if args.translated else "indonesian")
    save_reader(model, args.out, settings=settings, machine=machine, dev_metrics=metrics,
                question_languages=languages)
    dev_dir = args.out / "dev"
    dev_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in data.dev_questions.items():
        (dev_dir / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                               encoding="utf-8")
    from eval.reader_card import write_card

    write_card(args.out, command.strip())
    log(f"wrote {args.out} ({training_seconds / 60:.1f} min of training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
