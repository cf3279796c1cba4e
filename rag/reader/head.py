"""The answer head: the reader's sentences compared across passages, on top of the chooser.

The reader was trained passage by passage, so its sentence logit says how a sentence compares with its
neighbours, not with the sentences of the other passages Kabar weighs; added to the chooser's score as it
was, it moved tydiqa dev by .002. The head is fitted on exactly what serving weighs (the sentences of the
top passages Kabar's own retrieval returns for the public training questions), with one softmax per question
over all of them and "none" (`python -m eval.train_answer_head`). It reads the reader's sentence vector (the
sentence head's hidden layer), its logit and its passage logit, and adds to the chooser's score:

    value = chooser score + trust × (a·logit + b·passage logit + mlp(sentence vector))

trust is 1 for a reader measured on questions in other languages (`question_languages: "any"` in its config),
otherwise how far the question's words are Indonesian or the archive's own (0 below one half), so a question
the reader is not trusted with gets exactly the chooser's choice. The file records the reader weights and the
chooser weights it was fitted with: a head fitted for others is an error, never silently used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

HEAD_FILE = "answer_head.safetensors"
FORMAT = "kabar-answer-head/1"
# A sentence the reader found no short answer in: below every span logit seen (dev questions: -9.6 .. 17.9).
NO_SPAN_LOGIT = -10.0


class AnswerHeadLoadError(RuntimeError):
    """The answer head's file is damaged, or was fitted for another reader or chooser."""


def chooser_digest(weights) -> str:
    """A short fingerprint of a chooser's weights (`rag.chooser.ChooserWeights`): the head adds to its scores."""
    numbers = json.dumps([weights.mean, weights.scale, weights.weights])
    return hashlib.sha256(numbers.encode()).hexdigest()[:16]


@dataclass
class AnswerHead:
    hidden_weight: npt.NDArray[np.float32]  # (units, reader hidden)
    hidden_bias: npt.NDArray[np.float32]  # (units,)
    out_weight: npt.NDArray[np.float32]  # (units,)
    out_bias: float
    logit_weight: float
    passage_weight: float
    metadata: dict
    # Heads fitted with `--span` read the reader's best short-answer logit in the sentence too.
    span_weight: float = 0.0

    def scores(self, logits: npt.NDArray, passage_logits: npt.NDArray, vectors: npt.NDArray,
               span_scores: npt.NDArray | None = None) -> npt.NDArray[np.float64]:
        """What reading adds to each sentence's chooser score (before the trust weight)."""
        if len(vectors) == 0:
            return np.zeros(0)
        hidden = np.asarray(vectors, dtype=np.float32) @ self.hidden_weight.T + self.hidden_bias
        import torch  # the reader's own dependency: a head is only ever used beside a reader

        hidden = torch.nn.functional.gelu(torch.from_numpy(np.ascontiguousarray(hidden))).numpy()
        added = (self.logit_weight * np.asarray(logits, dtype=np.float64)
                 + self.passage_weight * np.asarray(passage_logits, dtype=np.float64)
                 + hidden.astype(np.float64) @ self.out_weight + self.out_bias)
        if self.span_weight:
            if span_scores is None:
                raise ValueError("this answer head reads the reader's span logits: pass span_scores")
            added += self.span_weight * np.asarray(span_scores, dtype=np.float64)
        return added


def save_answer_head(directory: Path, tensors: dict[str, np.ndarray], metadata: dict) -> Path:
    """`tensors`: hidden.weight, hidden.bias, out.weight, out.bias, read.weight ([logit, passage] or [logit, passage,
    span]) as float32."""
    from safetensors.numpy import save

    path = Path(directory) / HEAD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = save({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()},
                metadata={"kabar": json.dumps({"format": FORMAT, **metadata}, ensure_ascii=False)})
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def load_answer_head(directory: Path, reader_sha256: str, chooser_fingerprint: str | None) -> AnswerHead | None:
    """The head beside a reader's weights, or None when that folder has none (the reader then reads as before)."""
    path = Path(directory) / HEAD_FILE
    if not path.is_file():
        return None
    fix = "restore it from the repository, refit it with `python -m eval.train_answer_head`, or delete it"
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as handle:
            metadata = json.loads((handle.metadata() or {}).get("kabar", "{}"))
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (not a dict)
        hidden_weight, hidden_bias = tensors["hidden.weight"], tensors["hidden.bias"]
        out_weight, out_bias, read = tensors["out.weight"].reshape(-1), tensors["out.bias"], tensors["read.weight"]
        if hidden_weight.shape[0] != hidden_bias.shape[0] or hidden_weight.shape[0] != out_weight.shape[0]:
            raise ValueError(f"its layers do not fit together ({hidden_weight.shape}, {out_weight.shape})")
        read = read.reshape(-1)
        if len(read) not in (2, 3):  # [logit, passage logit] or [logit, passage logit, span logit]
            raise ValueError(f"read.weight holds {len(read)} weights, not 2 or 3")
    except Exception as exc:  # safetensors raises its own error types for a damaged file
        raise AnswerHeadLoadError(f"{path} is not a readable answer head ({exc}); {fix}") from exc
    if metadata.get("format") != FORMAT:
        raise AnswerHeadLoadError(f"{path} is not a {FORMAT} file; {fix}")
    if metadata.get("reader_sha256") != reader_sha256:
        raise AnswerHeadLoadError(f"{path} was fitted for another reader (its weights' sha256 "
                                  f"{str(metadata.get('reader_sha256'))[:12]}…, this one {reader_sha256[:12]}…); {fix}")
    if chooser_fingerprint is not None and metadata.get("chooser") != chooser_fingerprint:
        raise AnswerHeadLoadError(f"{path} was fitted on another chooser's scores ({metadata.get('chooser')}, this "
                                  f"one {chooser_fingerprint}); {fix}")
    return AnswerHead(hidden_weight=hidden_weight.astype(np.float32), hidden_bias=hidden_bias.astype(np.float32),
                      out_weight=out_weight.astype(np.float32), out_bias=float(out_bias.reshape(-1)[0]),
                      logit_weight=float(read[0]), passage_weight=float(read[1]), metadata=metadata,
                      span_weight=float(read[2]) if len(read) == 3 else 0.0)
