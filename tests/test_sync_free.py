"""No host syncs inside a training step: the CPU never waits for the device between batches.

On the CPU a sync cannot be observed, so the test makes every way of reading a tensor's value on
the host (``item``, ``bool``, ``float``, ``int``, ``tolist``, ``numpy``, ``cpu``) raise while the
real loop (``fit``) runs its train batches; torch.optim's own reads of its CPU-side step counters
are allowed (they stay on the host on a GPU too). Reads at the end of an epoch (the logged loss,
metrics, validation) happen after the batches and are allowed. On a GPU the same property is
checked with ``torch.cuda.set_sync_debug_mode("error")``.

``train.nonfinite`` checks the loss and gradients with one host read per optimizer step by default
(``every: 1``, netspec.train.guard); these tests set ``every`` beyond the run's length, the
setting a fast GPU run uses. Documented exceptions, not tested here: the seq2seq program with
``teacher_forcing_ratio < 1`` (scheduled sampling decides per position) and packed recurrent
layers with a ``lengths`` input (pack_padded_sequence takes lengths on the host).
"""

from __future__ import annotations

import contextlib
import sys

import pytest
import torch

from conftest import EXAMPLES
from netspec.check import check
from netspec.train.loop import fit
from netspec.train.session import build_session

READS = ("item", "__bool__", "__float__", "__int__", "__index__", "tolist", "numpy", "cpu")
ALLOWED = ("/torch/optim/",)  # an optimizer's CPU step counter: a host value on every device
NO_GUARD = "train.nonfinite={type: stop, every: 1000000}"

LM = """
netspec: 1
dims: {seq: 12}
inputs:
  tokens: {shape: [seq], dtype: int64}
model:
  layers:
    - {name: wte, embedding: {num_embeddings: 40, embedding_dim: 16}}
    - {name: wpe, positional_encoding: {encoding: learned, max_len: 12}}
    - {name: drop, dropout: {p: 0.1}}
    - name: h
      transformer_encoder: {num_layers: 1, nhead: 2, dim_feedforward: 32, norm_first: true, causal: true}
    - {name: ln_f, layer_norm: {}}
    - {name: lm_head, linear: {out_features: 40, bias: false}, tie: {weight: wte}}
  outputs: [lm_head]
data:
  source: {type: generated, kind: sequence, vocab_size: 40, shape: [12], num_samples: 96}
train:
  program: language_model
  epochs: 1
  batch_size: 16
  optimizer: {type: adamw, lr: 0.003}
  schedule: {type: cosine, warmup_steps: 2}
  grad_clip: {type: norm, max_norm: 1.0}
  train_metrics: true
"""


class HostRead(AssertionError):
    pass


class Watch:
    """While ``active``, a host read of a tensor's value from outside ``ALLOWED`` raises."""

    def __init__(self) -> None:
        self.active = False
        self.steps = 0

    @contextlib.contextmanager
    def installed(self):
        originals = {name: getattr(torch.Tensor, name) for name in READS}

        def guarded(name, fn):
            def read(t, *args, **kwargs):
                if self.active:
                    caller = sys._getframe(1).f_code.co_filename
                    if not any(a in caller for a in ALLOWED):
                        raise HostRead(f"Tensor.{name} read on the host inside a training step ({caller})")
                return fn(t, *args, **kwargs)
            return read

        for name, fn in originals.items():
            setattr(torch.Tensor, name, guarded(name, fn))
        try:
            yield self
        finally:
            for name, fn in originals.items():
                setattr(torch.Tensor, name, fn)

    def around_batches(self, loader) -> None:
        """Watch while the loop iterates the train batches (batch making, augmentation, the step,
        the loop's own per-batch work); stop once the epoch's batches are done."""
        epoch = loader.epoch

        def watched(gen=None):
            self.active = True
            try:
                for batch in epoch(gen):
                    self.steps += 1
                    yield batch
            finally:
                self.active = False

        loader.epoch = watched


def _fit_watched(path, overrides):
    session = build_session(check(path, [*overrides, NO_GUARD]))
    watch = Watch()
    watch.around_batches(session.data.loaders["train"])
    with watch.installed():
        result = fit(session)
    return watch, result


CASES = {
    "supervised cnn, train metrics, augmentation": (EXAMPLES / "digits_cnn.yaml", [
        "train.epochs=1", "train.train_metrics=true",
        "data.augment=[hflip, vflip, rotation, crop, {type: affine, degrees: 8, translate: [0.05, 0.05], scale: [0.9, 1.1], "
        "shear: 5}, {type: color_jitter, brightness: 0.2, contrast: 0.2}, noise, random_erasing]"]),
    "gan": (EXAMPLES / "digits_gan.yaml", ["train.epochs=1"]),
    "vae": (EXAMPLES / "digits_vae.yaml", ["train.epochs=1"]),
    "autoencoder": (EXAMPLES / "digits_autoencoder.yaml", ["train.epochs=1"]),
    "contrastive": (EXAMPLES / "digits_siamese.yaml", ["train.epochs=1"]),
    "segmentation": (EXAMPLES / "unet_shapes.yaml", ["train.epochs=1", "train.train_metrics=true",
                                                     "data.source.num_samples=64"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_steps_read_nothing_on_the_host(case):
    path, overrides = CASES[case]
    watch, result = _fit_watched(path, overrides)
    assert watch.steps > 1 and result.epochs == 1


def test_language_model_step_with_clipping_schedule_and_metrics(write_spec):
    watch, result = _fit_watched(write_spec(LM), [])
    assert watch.steps == 5 and "train.perplexity" in result.metrics


def test_the_watch_catches_a_host_read(write_spec):
    """The check can fail: a step that reads its loss on the host (as `.item()` logging would) is caught."""
    session = build_session(check(write_spec(LM), [NO_GUARD]))
    step = session.program.train_step
    session.program.train_step = lambda batch, updater: torch.tensor(step(batch, updater).item())
    watch = Watch()
    watch.around_batches(session.data.loaders["train"])
    with watch.installed(), pytest.raises(HostRead, match="Tensor.item"):
        fit(session)
    assert watch.steps == 1


@pytest.mark.gpu
@pytest.mark.parametrize("spec", ["digits_cnn.yaml", "digits_gan.yaml"])
def test_no_sync_on_cuda(spec):
    """On a GPU: torch's own sync detector over the train batches of a real run."""
    session = build_session(check(EXAMPLES / spec, ["train.epochs=2", "train.device=cuda", NO_GUARD]))
    loader = session.data.loaders["train"]
    epoch = loader.epoch

    def strict(gen=None):
        for i, batch in enumerate(epoch(gen)):
            if i == 1:  # after the first batch: lazy initialization (cuBLAS handles, optimizer state) is done
                torch.cuda.set_sync_debug_mode("error")
            yield batch
        torch.cuda.set_sync_debug_mode("default")

    loader.epoch = strict
    try:
        fit(session)
    finally:
        torch.cuda.set_sync_debug_mode("default")
