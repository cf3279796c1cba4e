"""How a reader's trained tensors are stored: fp16, or int8 with one scale per row.

The repository holds at most 50 MB of trained weights. Two readers in fp16 fit while the deeper one trains six
layers; one that trains eight would not. Weight-only int8 with a scale per output row halves a file again and is
undone at load time, so reading still runs in fp32/bf16 and the answer head is fitted on the readings of exactly
the weights that ship (`python -m eval.pack_reader` measures what it costs on the reader's dev questions).
"""

from __future__ import annotations

from typing import Literal

import torch

WeightsFormat = Literal["fp16", "int8"]
SCALE_SUFFIX = ":int8_row_scale"
MIN_INT8_ELEMENTS = 4096  # biases, norms and small heads stay fp16: a row scale would cost more than it saves


def pack_weights(state: dict[str, torch.Tensor], weights: WeightsFormat) -> dict[str, torch.Tensor]:
    packed: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        tensor = tensor.detach().to("cpu", torch.float32)
        if weights == "int8" and tensor.dim() == 2 and tensor.numel() >= MIN_INT8_ELEMENTS:
            scale = tensor.abs().amax(dim=1).clamp_min(1e-12) / 127.0
            packed[name] = torch.round(tensor / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
            packed[name + SCALE_SUFFIX] = scale.contiguous()
        elif weights in ("fp16", "int8"):
            packed[name] = tensor.half().contiguous()
        else:
            raise ValueError(f"unknown weights format {weights!r} (fp16 or int8)")
    return packed


def unpack_weights(packed: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """fp32 tensors from either format; an int8 tensor without its scale (or the reverse) is a damaged file."""
    state: dict[str, torch.Tensor] = {}
    for name, tensor in packed.items():
        if name.endswith(SCALE_SUFFIX):
            if name[: -len(SCALE_SUFFIX)] not in packed:
                raise ValueError(f"a row scale without its tensor: {name}")
            continue
        if tensor.dtype == torch.int8:
            scale = packed.get(name + SCALE_SUFFIX)
            if scale is None or scale.shape != (tensor.shape[0],):
                raise ValueError(f"int8 tensor {name} has no row scale that fits it")
            state[name] = tensor.float() * scale.float()[:, None]
        else:
            state[name] = tensor.float()
    return state


def format_of(packed: dict[str, torch.Tensor]) -> WeightsFormat:
    return "int8" if any(t.dtype == torch.int8 for t in packed.values()) else "fp16"
