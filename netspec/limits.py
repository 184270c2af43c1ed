"""Global ceilings: what keeps `netspec validate` bounded in time and memory on any input, and
refuses models no machine can hold before anything is allocated.

Each ceiling is far above what a real spec needs (the comment says how far). The YAML loader's
own limits (file size, values after alias expansion, nesting depth) live in ``netspec.source``.
The size ceilings (``MAX_PARAMS``, ``MAX_TRAIN_BYTES``) are defaults: a spec that really means a
bigger model raises them explicitly with ``constraints: {max_params: ..., max_memory_mb: ...}``.
"""

from __future__ import annotations

#: repetitions of one layer or block use (`repeat: N`); ResNet-152's longest stage repeats 36 times
MAX_REPEAT = 1_000
#: blocks inside blocks (a block's layers using a block, ...); BERT and the ResNets nest 2-3 levels
MAX_BLOCK_DEPTH = 32
#: nodes of one model after block expansion; BERT-base expands to under 300
MAX_NODES = 20_000
#: outputs of one layer (`split`, `chunk`): each becomes a node output to wire and check
MAX_OUTPUTS = 1_024
#: parameters of all models of a spec (2^36 ≈ 68.7 billion: 275 GB of float32 weights alone)
MAX_PARAMS = 2**36
#: estimated training memory (weights, gradients, optimizer state, activations, data on the device)
MAX_TRAIN_BYTES = 2 * 2**40
