"""The shipped specs at the sizes the default suite runs them: one table for every test that
compiles and runs a spec from specs/ (test_specs.py, test_zoo_cnn.py, test_zoo_sequence.py,
test_export_zoo.py).

``SMALL``: spec name -> ``--set`` overrides that shrink its input (the image size, the ``dims:``)
for a fast CPU forward pass; the architecture stays as shipped. ``NARROW``: for weight-heavy
specs (hundreds of MB of fully connected or embedding weights, where the cost is the weights, not
the input), the overrides on top of ``SMALL`` that make a narrower or shallower variant of the
same architecture — the same layer types and wiring (test_export_zoo checks that). A spec absent
from both runs as shipped.
"""

from __future__ import annotations

IMAGE_32 = ["inputs.image.shape=[3,32,32]"]
IMAGE_64 = ["inputs.image.shape=[3,64,64]"]

SMALL: dict[str, list[str]] = {
    "alexnet": IMAGE_64, "zfnet": IMAGE_64, "vgg11": IMAGE_32, "vgg16": IMAGE_32, "googlenet": IMAGE_64,
    "resnet18": IMAGE_64, "resnet50": IMAGE_64, "densenet121": IMAGE_64, "mobilenet_v2": IMAGE_64, "fcn": IMAGE_64,
    "unet": ["inputs.image.shape=[1,64,64]"],
    "char_rnn": ["dims.seq=12"], "lstm_classifier": ["dims.seq=12"], "bilstm_tagger": ["dims.seq=12"],
    "gru_seq2seq_attention": ["dims.src_len=9", "dims.tgt_len=7"],
    "transformer_classifier": ["dims.seq=12"], "gpt_mini": ["dims.seq=12"], "gpt2_small": ["dims.seq=12"],
    "bert_base": ["dims.seq=12"],
    "gcn": ["dims.nodes=12"],
}

NARROW: dict[str, list[str]] = {
    "alexnet": ["model.layers[13].linear.out_features=256", "model.layers[15].linear.out_features=256"],
    "zfnet": ["model.layers[11].linear.out_features=256", "model.layers[13].linear.out_features=256"],
    "vgg11": ["model.layers[7].linear.out_features=256", "model.layers[9].linear.out_features=256"],
    "vgg16": [f"model.layers[{i}].vgg_stage.out={w}" for i, w in enumerate([16, 32, 64, 128, 128])]
             + ["model.layers[7].linear.out_features=128", "model.layers[9].linear.out_features=128"],
    "fcn": ["model.layers[5].conv2d.out_channels=256", "model.layers[7].conv2d.out_channels=256"],
    "resnet50": ["model.layers[6].repeat.count=2", "model.layers[7].repeat.count=2"],
    "densenet121": [f"model.layers[{i}].dense_block.num_layers=2" for i in (4, 6, 8, 10)],
    "gru_seq2seq_attention": ["model.layers[0].embedding.num_embeddings=1000", "model.layers[4].embedding.num_embeddings=1000",
                              "model.layers[11].linear.out_features=1000", "constraints.output_shapes.logits=[tgt_len,1000]"],
    "gpt2_small": ["model.layers[0].embedding.num_embeddings=1000", "model.layers[0].embedding.embedding_dim=192",
                   "model.layers[3].transformer_encoder.num_layers=2", "model.layers[3].transformer_encoder.dim_feedforward=768",
                   "model.layers[5].linear.out_features=1000", "constraints.output_shapes.lm_head=[seq,1000]"],
    "bert_base": ["model.layers[0].embedding.num_embeddings=1000", "model.layers[0].embedding.embedding_dim=192",
                  "model.layers[2].embedding.embedding_dim=192", "model.layers[6].transformer_encoder_with_padding.num_layers=2",
                  "model.layers[6].transformer_encoder_with_padding.dim_feedforward=768",
                  "model.layers[8].linear.out_features=192", "constraints.output_shapes.encoder=[seq,192]",
                  "constraints.output_shapes.pooler=[192]"],
    "word2vec_skipgram": ["model.layers[0].embedding.num_embeddings=1000", "model.layers[1].embedding.num_embeddings=1000"],
}


def small(name: str) -> list[str]:
    """The overrides that run spec ``name`` at a small input size (none: as shipped)."""
    return list(SMALL.get(name, []))


def narrow(name: str) -> list[str]:
    """``small`` plus, for a weight-heavy spec, the overrides of its narrower variant."""
    return small(name) + NARROW.get(name, [])
