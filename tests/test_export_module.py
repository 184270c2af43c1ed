"""The library API for things that are not a whole spec model (the training programs' GAN
generator, VAE decoder and one language-model decoding step): export_module + verify, checked
against the modules in onnxruntime at batch sizes (and lengths) other than the example's."""

from __future__ import annotations

import onnx
import pytest
import torch
from torch import nn

from netspec.errors import ExportError
from netspec.export import UnsupportedOpError, export_module, verify
from netspec.export.postprocess import read_metadata


class Generator(nn.Module):
    """DCGAN-style: z (N, 16) -> image (N, 1, 16, 16)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Unflatten(1, (16, 1, 1)), nn.ConvTranspose2d(16, 8, 4, bias=False),
                                 nn.BatchNorm2d(8), nn.ReLU(), nn.ConvTranspose2d(8, 4, 4, 2, 1), nn.ReLU(),
                                 nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(4, 1, 3, padding=1), nn.Tanh())

    def forward(self, z):
        return self.net(z)


class Decoder(nn.Module):
    """VAE decoder: z (N, 8) -> Bernoulli means (N, 784)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 784), nn.Sigmoid())

    def forward(self, z):
        return self.net(z)


class DecodeStep(nn.Module):
    """One language-model step: (token (N,), h (N, L, H), c (N, L, H)) -> (logits, h, c)."""

    def __init__(self, vocab: int = 30, hidden: int = 12) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, token, h, c):
        out, (h, c) = self.lstm(self.embed(token).unsqueeze(1), (h.transpose(0, 1).contiguous(), c.transpose(0, 1).contiguous()))
        return self.head(out[:, 0]), h.transpose(0, 1), c.transpose(0, 1)


def _warm(model: nn.Module) -> nn.Module:
    """Non-trivial batch-norm statistics, then eval mode."""
    model.train()
    with torch.no_grad():
        model(torch.randn(16, 16) * 2 + 1)
    return model.eval()


def test_a_gan_generator(tmp_path):
    gen = _warm(Generator())
    path = tmp_path / "g.onnx"
    result = export_module(gen, [torch.randn(2, 16)], ["z"], ["image"], path, dynamic_axes={"z": {0: "batch"}},
                           metadata={"netspec.model": "generator"}, dynamic_outputs={"image": {0: "batch"}})
    assert result.exporter == "dynamo" and result.opset == 18
    report = verify(path, gen, [[torch.randn(1, 16)], [torch.randn(5, 16)]])
    assert report.ok and [r.batch for r in report.runs] == [1, 5], report.worst()
    assert read_metadata(path)["netspec.model"] == "generator"


def test_a_vae_decoder_by_name(tmp_path):
    dec = Decoder().eval()
    path = tmp_path / "d.onnx"
    export_module(dec, [torch.randn(2, 8)], ["z"], ["mean"], path, dynamic_axes={"z": {0: "batch"}})
    report = verify(path, dec, [{"z": torch.randn(3, 8)}, {"z": torch.randn(7, 8)}], atol=1e-5)
    assert report.ok and report.worst().max_abs < 1e-5


def test_one_language_model_decoding_step(tmp_path):
    step = DecodeStep().eval()
    path = tmp_path / "step.onnx"
    state = {0: "batch"}
    export_module(step, [torch.tensor([1, 2]), torch.randn(2, 2, 12), torch.randn(2, 2, 12)], ["token", "h", "c"],
                  ["logits", "h_next", "c_next"], path, dynamic_axes={"token": state, "h": state, "c": state},
                  dynamic_outputs={"logits": state, "h_next": state, "c_next": state})
    inputs = [[torch.randint(0, 30, (n,)), torch.randn(n, 2, 12), torch.randn(n, 2, 12)] for n in (1, 4)]
    report = verify(path, step, inputs)
    assert report.ok and [o.name for o in report.runs[0].outputs] == ["logits", "h_next", "c_next"]
    assert {n.op_type for n in onnx.load(str(path)).graph.node} >= {"LSTM", "Gather"}


def test_verification_catches_a_wrong_file(tmp_path):
    dec = Decoder().eval()
    export_module(dec, [torch.randn(2, 8)], ["z"], ["mean"], tmp_path / "d.onnx", dynamic_axes={"z": {0: "batch"}})
    other = Decoder().eval()  # different weights
    report = verify(tmp_path / "d.onnx", other, [[torch.randn(3, 8)], [torch.randn(2, 8)]])
    assert not report.ok and report.worst().max_abs > 1e-3 and not report.worst().ok


def test_an_unmapped_operator_names_the_operator(tmp_path):
    class RunningMax(nn.Module):
        def forward(self, x):
            return torch.cummax(x, dim=1).values

    with pytest.raises(UnsupportedOpError) as info:
        export_module(RunningMax(), [torch.randn(2, 5)], ["x"], ["y"], tmp_path / "r.onnx")
    assert info.value.op == "aten.cummax" and not (tmp_path / "r.onnx").exists()


def test_three_dimensional_attention_inputs_export(tmp_path):
    """scaled_dot_product_attention over (N, L, E): the exporter's mapping takes 4-d inputs only."""
    from netspec.layers import get_layer

    layer = get_layer("scaled_dot_product_attention").model_validate({"causal": True})
    module = layer.build((6, 8), (6, 8), (6, 8)).eval()
    axes = {0: "batch", 1: "seq"}
    xs = [torch.randn(2, 6, 8) for _ in range(3)]
    export_module(module, xs, ["q", "k", "v"], ["out"], tmp_path / "a.onnx", dynamic_axes={"q": axes, "k": axes, "v": axes})
    report = verify(tmp_path / "a.onnx", module, [[torch.randn(1, 3, 8)] * 3, [torch.randn(3, 9, 8)] * 3])
    assert report.ok, report.worst()


def test_a_file_that_fails_the_checker_is_reported(tmp_path):
    bad = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["x"], ["y"]), onnx.helper.make_node("Relu", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 3])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 3])]))
    onnx.save(bad, str(tmp_path / "bad.onnx"))
    with pytest.raises(ExportError, match="fails onnx.checker"):
        verify(tmp_path / "bad.onnx", nn.ReLU(), [[torch.randn(2, 3)]])


@pytest.mark.gpu
def test_a_module_on_the_gpu_exports_and_verifies_against_itself(tmp_path):
    dec = Decoder().cuda().eval()
    path = tmp_path / "d.onnx"
    export_module(dec, [torch.randn(2, 8, device="cuda")], ["z"], ["mean"], path, dynamic_axes={"z": {0: "batch"}})
    report = verify(path, dec, [[torch.randn(3, 8)], [torch.randn(6, 8)]])  # PyTorch runs on the GPU
    assert report.ok, report.worst()
    assert next(dec.parameters()).is_cuda and not dec.training  # the caller's module stays where it was
