"""Where every built-in layer type lives: family module -> the tags of its layers.

The registry imports a family module the first time a spec names one of its layers, so
`netspec validate` pays only for the layers a spec uses. Adding a layer type is its class in a
family module plus its tag here; tests/test_registry.py checks this table against the classes.
"""

MODULES: dict[str, tuple[str, ...]] = {
    "activation": (
        "elu", "gelu", "hardswish", "heaviside", "identity", "leaky_relu", "log_softmax", "mish", "prelu",
        "relu", "relu6", "selu", "sigmoid", "silu", "softmax", "softplus", "step", "swish", "tanh"
    ),
    "attention": (
        "additive_attention", "luong_attention", "multihead_attention", "scaled_dot_product_attention"
    ),
    "conv": ("conv1d", "conv2d", "conv3d"),
    "conv_transpose": ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d"),
    "dense": ("linear",),
    "dropout": ("alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d", "gaussian_noise"),
    "embedding": ("embedding",),
    "merge": ("add", "concat", "multiply", "split"),
    "norm": (
        "batch_norm1d", "batch_norm2d", "batch_norm3d", "group_norm", "instance_norm1d", "instance_norm2d",
        "instance_norm3d", "layer_norm", "local_response_norm"
    ),
    "pool": (
        "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
        "adaptive_max_pool2d", "adaptive_max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
        "global_avg_pool", "global_max_pool", "max_pool1d", "max_pool2d", "max_pool3d"
    ),
    "positional": ("positional_encoding",),
    "recurrent": ("gru", "lstm", "rnn"),
    "reshape": ("flatten", "permute", "reshape"),
    "residual": ("shortcut",),
    "special": ("graph_conv", "rbf", "reparameterize"),
    "tensor": (
        "chunk", "matmul", "max", "mean", "select", "slice", "squeeze", "sum", "transpose", "unflatten",
        "unsqueeze"
    ),
    "transformer": ("transformer_decoder_layer", "transformer_encoder_layer"),
    "upsample": ("pixel_shuffle", "pixel_unshuffle", "upsample"),
}

#: tag -> family module
MODULE_OF: dict[str, str] = {tag: module for module, tags in MODULES.items() for tag in tags}
