"""How trained weights are stored: int8 with a scale per row is undone at load time to within a rounding step,
and a file whose int8 tensors lost their scales is refused, not read as garbage."""

from __future__ import annotations

import pytest
import torch

from rag.reader.weights import SCALE_SUFFIX, format_of, pack_weights, unpack_weights


def layer_state() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {"layer.weight": torch.randn(384, 1536, generator=generator) * 0.05,
            "layer.bias": torch.randn(384, generator=generator), "head.weight": torch.randn(1, 384, generator=generator)}


def test_int8_keeps_every_weight_within_half_a_step_of_its_row_and_halves_the_bytes():
    state = layer_state()
    packed = pack_weights(state, "int8")
    assert packed["layer.weight"].dtype == torch.int8 and format_of(packed) == "int8"
    # Biases and a head too small to pay for its scales stay fp16.
    assert packed["layer.bias"].dtype == torch.float16 and packed["head.weight"].dtype == torch.float16
    restored = unpack_weights(packed)
    step = state["layer.weight"].abs().amax(dim=1, keepdim=True) / 127
    assert ((restored["layer.weight"] - state["layer.weight"]).abs() <= step / 2 + 1e-7).all()
    assert set(restored) == set(state) and all(t.dtype == torch.float32 for t in restored.values())
    fp16 = pack_weights(state, "fp16")
    size = lambda tensors: sum(t.numel() * t.element_size() for t in tensors.values())  # noqa: E731
    assert size(packed) < 0.51 * size(fp16) + 4 * 384
    assert format_of(fp16) == "fp16" and torch.equal(unpack_weights(fp16)["layer.bias"], state["layer.bias"].half().float())


@pytest.mark.parametrize("weights", ["int8", "fp16"])
def test_packing_the_weights_a_file_loads_gives_that_file_again(weights):
    # Packing is stable: a reader loaded from its file and saved again ships the same tensors, not drifted ones.
    packed = pack_weights(layer_state(), weights)
    again = pack_weights(unpack_weights(packed), weights)
    assert set(again) == set(packed) and all(torch.equal(again[name], packed[name]) for name in packed)


def test_an_int8_tensor_without_its_scale_is_refused():
    packed = pack_weights(layer_state(), "int8")
    del packed["layer.weight" + SCALE_SUFFIX]
    with pytest.raises(ValueError, match="no row scale"):
        unpack_weights(packed)
    orphan = pack_weights(layer_state(), "int8")
    del orphan["layer.weight"]
    with pytest.raises(ValueError, match="without its tensor"):
        unpack_weights(orphan)


def test_an_unknown_format_is_an_error():
    with pytest.raises(ValueError, match="fp16 or int8"):
        pack_weights(layer_state(), "int4")  # type: ignore[arg-type]
