"""Programs: what one training step does with the spec's model(s), loss(es) and optimizer(s).

The Program interface (small on purpose; the loop, data, precision, clipping, schedules,
checkpoints and early stopping are shared and live elsewhere)::

    class Program:
        name: str                                  # the spec's train.program.type
        models: dict[str, nn.Module]               # every trainable model, by spec model name
        def train_step(self, batch, updater) -> Tensor   # one batch; calls updater.update(name, loss)
                                                          # per model; returns the detached loss
        def eval_step(self, batch) -> Tensor       # loss of one batch (no grad); updates eval metrics
        def outputs(self, batch) -> dict[str, Tensor]    # model outputs by name (predict)
        metrics: dict[str, MetricSet]              # "train" / "eval" metric accumulators

A multi-model program (autoencoder with separate optimizers, GAN, contrastive, seq2seq) holds
several models and calls ``updater.update`` once per model it steps. A program that changes its
weights by a rule of its own instead of gradients (perceptron) never calls the updater and defines
``rule_optimizer(train) -> optimizer spec``: the session gives its models that optimizer (never
stepped) so the logged ``lr`` is the rule's step size. Add a new program as a module
of this package and register it in ``PROGRAMS``; ``train.program: {type: NAME}`` selects it.
"""

from .language_model import LanguageModel
from .segmentation import Segmentation
from .seq2seq import Seq2Seq
from .autoencoder import Autoencoder
from .contrastive import Contrastive
from .gan import Gan
from .perceptron import Perceptron
from .supervised import Batch, Supervised
from .vae import Vae

#: train.program.type -> program class (one module per program in this package)
PROGRAMS: dict[str, type] = {"supervised": Supervised}
PROGRAMS.update({"autoencoder": Autoencoder, "vae": Vae, "gan": Gan, "contrastive": Contrastive})
PROGRAMS.update({"language_model": LanguageModel, "seq2seq": Seq2Seq, "segmentation": Segmentation})
PROGRAMS.update({"perceptron": Perceptron})

__all__ = ["PROGRAMS", "Batch", "Supervised"]
