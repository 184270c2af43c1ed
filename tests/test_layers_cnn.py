"""Behaviour of the convolution-family layers beyond shapes and counts (which tests/test_registry.py
covers): weight/spectral normalization, DropConnect, train-only noise and dropout, interpolation,
and the located errors of their options."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from netspec.check import check
from netspec.compiler import compile_model
from netspec.errors import NetspecError
from netspec.layers import get_layer


def layer(tag: str, **params):
    return get_layer(tag).model_validate(params)


def model_of(write_spec, shape, *items: str, init: str = ""):
    layers = "".join(f"    - {item}\n" for item in items)
    init_text = f"  init: {init}\n" if init else ""
    text = f"netspec: 1\ninputs:\n  x: {{shape: {shape}}}\nmodel:\n{init_text}  layers:\n{layers}"
    return compile_model(check(write_spec(text)).graph, seed=0)


def test_weight_norm_is_g_times_v_over_its_norm_per_output_channel():
    conv = layer("conv2d", out_channels=5, kernel_size=3, weight_norm=True).build((3, 8, 8))
    g = conv.parametrizations.weight.original0
    v = conv.parametrizations.weight.original1
    assert g.shape == (5, 1, 1, 1) and v.shape == (5, 3, 3, 3)
    with torch.no_grad():
        g.copy_(torch.arange(1.0, 6.0).view(5, 1, 1, 1))
    norms = conv.weight.flatten(1).norm(dim=1)
    assert torch.allclose(norms, torch.arange(1.0, 6.0), atol=1e-5)
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(conv(x), F.conv2d(x, g * v / v.flatten(1).norm(dim=1).view(5, 1, 1, 1), conv.bias), atol=1e-5)


def test_weight_norm_of_a_transposed_conv_normalizes_its_output_channels():
    up = layer("conv_transpose2d", out_channels=4, kernel_size=2, stride=2, weight_norm=True).build((6, 3, 3))
    assert up.parametrizations.weight.original0.shape == (1, 4, 1, 1)  # weight is (in, out, kH, kW)


def test_spectral_norm_scales_the_largest_singular_value_to_one():
    fc = layer("linear", out_features=6, spectral_norm=True).build((10,))
    fc.train()
    for _ in range(50):  # power iterations run in training forwards
        fc(torch.randn(4, 10))
    fc.eval()
    assert torch.linalg.matrix_norm(fc.weight.detach(), ord=2).item() == pytest.approx(1.0, abs=1e-3)


def test_weight_options_are_exclusive_and_located(write_spec):
    path = write_spec("netspec: 1\ninputs:\n  x: {shape: [4]}\nmodel:\n  layers:\n"
                      "    - {linear: {out_features: 2, weight_norm: true, spectral_norm: true}}\n")
    with pytest.raises(NetspecError) as info:
        check(path)
    assert "weight_norm or spectral_norm" in str(info.value)
    assert info.value.path == ("model", "layers", 0, "linear")


def test_initializers_reach_reparametrized_weights(write_spec):
    model = model_of(write_spec, [3, 6, 6],
                     "{name: wn, conv2d: {out_channels: 4, kernel_size: 3, weight_norm: true}}",
                     "{name: sn, conv2d: {out_channels: 2, kernel_size: 1, spectral_norm: true}, init: {weight: ones}}",
                     init="{conv2d: {weight: {type: constant, value: 0.5}}}")
    assert torch.equal(model.wn.weight.detach(), torch.full((4, 3, 3, 3), 0.5))
    assert torch.equal(model.sn.parametrizations.weight.original.detach(), torch.ones(2, 4, 1, 1))


def test_dropconnect_drops_weights_not_activations(write_spec):
    model = model_of(write_spec, [16], "{name: fc, linear: {out_features: 8, dropconnect: 0.5, bias: false}}")
    w = model.fc.weight.detach()
    eye = torch.eye(16)  # row j picks column j of W
    model.train()
    torch.manual_seed(0)
    out = model(eye).detach()  # out[j, i] = mask[i, j] * 2 * W[i, j]: one mask for the whole batch
    kept = out != 0
    assert torch.allclose(out[kept], 2 * w.T[kept])
    assert 0.3 < kept.float().mean() < 0.7
    same = model(torch.ones(4, 16)).detach()
    assert torch.equal(same, same[:1].expand(4, 8))  # identical rows stay identical (activation dropout would differ)
    model.eval()
    assert torch.equal(model(eye), eye @ w.T)


def test_gaussian_noise_only_in_training():
    noise = layer("gaussian_noise", std=0.3).build((1000,))
    x = torch.randn(8, 1000)
    noise.eval()
    assert torch.equal(noise(x), x)
    noise.train()
    diff = noise(x) - x
    assert diff.std().item() == pytest.approx(0.3, rel=0.05)
    assert diff.mean().abs().item() < 0.02


def test_dropout2d_zeroes_whole_feature_maps():
    drop = layer("dropout2d", p=0.5).build((32, 4, 4)).train()
    torch.manual_seed(0)
    out = drop(torch.ones(2, 32, 4, 4))
    per_map = out.flatten(2)
    assert torch.all((per_map == 0).all(-1) | (per_map == 2).all(-1))
    assert (per_map == 0).all(-1).any() and (per_map == 2).all(-1).any()


def test_upsample_bilinear_equals_interpolate():
    up = layer("upsample", scale_factor=2, mode="bilinear", align_corners=False).build((3, 5, 5))
    x = torch.randn(2, 3, 5, 5)
    assert torch.equal(up(x), F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))


def test_pixel_shuffle_round_trips():
    shuffle, unshuffle = layer("pixel_shuffle", upscale_factor=2), layer("pixel_unshuffle", downscale_factor=2)
    assert shuffle.output_shape((12, 4, 5)) == (3, 8, 10)
    assert unshuffle.output_shape((3, 8, 10)) == (12, 4, 5)
    x = torch.randn(2, 12, 4, 5)
    assert torch.equal(unshuffle.build((3, 8, 10))(shuffle.build((12, 4, 5))(x)), x)


def test_conv_transpose_output_padding_picks_the_size():
    plain = layer("conv_transpose2d", out_channels=2, kernel_size=3, stride=2, padding=1)
    padded = layer("conv_transpose2d", out_channels=2, kernel_size=3, stride=2, padding=1, output_padding=1)
    assert plain.output_shape((4, 8, 8)) == (2, 15, 15)
    assert padded.output_shape((4, 8, 8)) == (2, 16, 16)  # undoes a stride-2 conv of a 16x16 map


@pytest.mark.parametrize("tag,params,shape,message", [
    ("conv_transpose2d", {"out_channels": 2, "kernel_size": 3, "stride": 2, "output_padding": 2}, (4, 5, 5),
     "output_padding 2 must be smaller than the stride"),
    ("group_norm", {"num_groups": 4}, (6, 3, 3), "num_groups 4 does not divide the 6 channels"),
    ("pixel_shuffle", {"upscale_factor": 2}, (6, 3, 3), "not divisible by upscale_factor² = 4"),
    ("upsample", {"size": [4, 4], "mode": "bilinear"}, (3, 8), "expects (C, H, W)"),
    ("upsample", {"scale_factor": [2, 2]}, (3, 4, 4, 4), "scale_factor has 2 values, but the input has 3"),
])
def test_option_errors_say_what_is_wrong(tag, params, shape, message):
    from netspec.errors import ShapeError

    with pytest.raises(ShapeError) as info:
        layer(tag, **params).output_shape(shape)
    assert message in info.value.message


def test_upsample_needs_exactly_one_of_size_and_scale_factor(write_spec):
    path = write_spec("netspec: 1\ninputs:\n  x: {shape: [3, 4, 4]}\nmodel:\n  layers:\n    - upsample\n")
    with pytest.raises(NetspecError) as info:
        check(path)
    assert "exactly one of size and scale_factor" in str(info.value)
