"""Every spec in specs/ exports to ONNX and verifies in onnxruntime against PyTorch.

Specs whose default input is large run at a reduced input size (``--set`` / ``dims``, as the spec
allows); weight-heavy ones (hundreds of MB of fully connected or embedding weights, where the
cost is the weights, not the input) run as a narrower or shallower variant of the same
architecture — the same layer types and wiring — in the default suite, and at their real widths
in the ``slow`` suite. A spec added to specs/ is picked up automatically.
"""

from __future__ import annotations

import pytest

from conftest import SPECS
from export_helpers import assert_verified
from netspec.check import check
from netspec.export import export_spec

IMAGE_64 = ["inputs.image.shape=[3,64,64]"]

#: the default suite's overrides per spec (absent: the spec as shipped)
DEFAULT = {
    "alexnet": IMAGE_64 + ["model.layers[13].linear.out_features=256", "model.layers[15].linear.out_features=256"],
    "zfnet": IMAGE_64 + ["model.layers[11].linear.out_features=256", "model.layers[13].linear.out_features=256"],
    "vgg11": ["inputs.image.shape=[3,32,32]", "model.layers[7].linear.out_features=256",
              "model.layers[9].linear.out_features=256"],
    "vgg16": ["inputs.image.shape=[3,32,32]"] + [f"model.layers[{i}].vgg_stage.out={w}" for i, w in
                                                 enumerate([16, 32, 64, 128, 128])]
             + ["model.layers[7].linear.out_features=128", "model.layers[9].linear.out_features=128"],
    "fcn": IMAGE_64 + ["model.layers[5].conv2d.out_channels=256", "model.layers[7].conv2d.out_channels=256"],
    "googlenet": IMAGE_64,
    "resnet18": IMAGE_64,
    "resnet50": IMAGE_64 + ["model.layers[6].repeat.count=2", "model.layers[7].repeat.count=2"],
    "densenet121": IMAGE_64 + [f"model.layers[{i}].dense_block.num_layers=2" for i in (4, 6, 8, 10)],
    "mobilenet_v2": IMAGE_64,
    "unet": ["inputs.image.shape=[1,64,64]"],
    "char_rnn": ["dims.seq=12"],
    "lstm_classifier": ["dims.seq=12"],
    "bilstm_tagger": ["dims.seq=12"],
    "gru_seq2seq_attention": ["dims.src_len=9", "dims.tgt_len=7", "model.layers[0].embedding.num_embeddings=1000",
                              "model.layers[4].embedding.num_embeddings=1000", "model.layers[11].linear.out_features=1000",
                              "constraints.output_shapes.logits=[tgt_len,1000]"],
    "transformer_classifier": ["dims.seq=12"],
    "gpt_mini": ["dims.seq=12"],
    "gpt2_small": ["dims.seq=12", "model.layers[0].embedding.num_embeddings=1000", "model.layers[0].embedding.embedding_dim=192",
                   "model.layers[3].transformer_encoder.num_layers=2", "model.layers[3].transformer_encoder.dim_feedforward=768",
                   "model.layers[5].linear.out_features=1000",
                   "constraints.output_shapes.lm_head=[seq,1000]"],
    "bert_base": ["dims.seq=12", "model.layers[0].embedding.num_embeddings=1000", "model.layers[0].embedding.embedding_dim=192",
                  "model.layers[2].embedding.embedding_dim=192", "model.layers[6].transformer_encoder_with_padding.num_layers=2",
                  "model.layers[6].transformer_encoder_with_padding.dim_feedforward=768",
                  "model.layers[8].linear.out_features=192", "constraints.output_shapes.encoder=[seq,192]",
                  "constraints.output_shapes.pooler=[192]"],
    "gcn": ["dims.nodes=12"],
    "word2vec_skipgram": ["model.layers[0].embedding.num_embeddings=1000", "model.layers[1].embedding.num_embeddings=1000"],
}

#: the same architectures at their real widths and depths (reduced input sizes only)
FULL = {
    "alexnet": IMAGE_64, "zfnet": IMAGE_64, "vgg11": ["inputs.image.shape=[3,32,32]"],
    "vgg16": ["inputs.image.shape=[3,32,32]"], "fcn": IMAGE_64, "resnet50": IMAGE_64, "densenet121": IMAGE_64,
    "gru_seq2seq_attention": ["dims.src_len=9", "dims.tgt_len=7"], "gpt2_small": ["dims.seq=12"],
    "bert_base": ["dims.seq=12"], "word2vec_skipgram": [],
}

NAMES = sorted(p.stem for p in SPECS.glob("*.yaml"))


def _export_and_check(name: str, overrides: list[str], tmp_path) -> None:
    checked = check(SPECS / f"{name}.yaml", overrides)
    done = export_spec(SPECS / f"{name}.yaml", overrides, out=tmp_path / f"{name}.onnx")
    assert_verified(done, checked)
    assert {d.model for d in done} == set(checked.graphs)  # one file per model


@pytest.mark.parametrize("name", NAMES)
def test_spec_exports_and_verifies(name, tmp_path):
    _export_and_check(name, DEFAULT.get(name, []), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FULL))
def test_full_size_spec_exports_and_verifies(name, tmp_path):
    _export_and_check(name, FULL[name], tmp_path)


def test_reduced_variants_keep_the_architecture():
    """A reduced variant has the same layer types in the same order as the shipped spec."""
    for name, overrides in DEFAULT.items():
        if name not in NAMES or not any(o.startswith("model.") for o in overrides):
            continue
        full = check(SPECS / f"{name}.yaml", FULL.get(name, []))
        small = check(SPECS / f"{name}.yaml", overrides)
        kinds = {g: sorted({n.layer.tag for n in graph.nodes}) for g, graph in full.graphs.items()}
        assert kinds == {g: sorted({n.layer.tag for n in graph.nodes}) for g, graph in small.graphs.items()}, name
        assert sum(g.params for g in small.graphs.values()) < sum(g.params for g in full.graphs.values())
