"""The contrastive program: partners drawn on the device from the right classes, seeded; the pair
and triplet losses against direct torch constructions on the same draws; bit-exact resume of the
pair generator; the Siamese example's nearest-neighbour accuracy against raw pixels; the tower's
ONNX export and `netspec predict` embeddings; located validation errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import EXAMPLES
from generative_helpers import Interrupt, StopAfter, digits_arrays, problems, session_for
from netspec.checkpoint import load_checkpoint
from netspec.train.api import train_spec
from netspec.train.pairs import PartnerSampler

SIAMESE = EXAMPLES / "digits_siamese.yaml"

TRIPLET = """
netspec: 1
inputs:
  anchor: {shape: [6]}
  positive: {shape: [6]}
  negative: {shape: [6]}
model:
  layers:
    - {name: a, linear: {out_features: 3}, inputs: [anchor]}
    - {name: p, share: a, inputs: [positive]}
    - {name: n, share: a, inputs: [negative]}
  outputs: [a, p, n]
data:
  source: {type: generated, kind: blobs, num_samples: 120, num_features: 6, num_classes: 4}
  split: {val: 0.25, seed: 0}
train:
  program: contrastive
  loss: {type: triplet, margin: 0.5}
  epochs: 2
  batch_size: 16
  seed: 0
"""


def test_partner_sampler_draws_same_and_other_classes_uniformly():
    labels = torch.tensor([3, 1, 3, 0, 1, 1, 3, 0, 0, 3, 7])
    sampler = PartnerSampler(labels)
    y = labels.repeat(400)
    gen = torch.Generator().manual_seed(0)
    same, other = sampler.same(y, gen), sampler.other(y, gen)
    assert torch.equal(labels[same], y) and bool((labels[other] != y).all())
    # uniform over the candidates: anchors of class 1 see each of the 8 non-1 samples ≈ 1/8 of the time
    picks = other[y == 1]
    counts = torch.bincount(picks, minlength=len(labels))[labels != 1].float()
    assert float(counts.min()) > 0 and float((counts / counts.sum() - 1 / 8).abs().max()) < 0.04
    again = PartnerSampler(labels).same(y, torch.Generator().manual_seed(0))
    assert torch.equal(again, same)  # seeded
    with pytest.raises(Exception, match="two classes"):
        PartnerSampler(torch.zeros(5, dtype=torch.long))


def test_pair_step_equals_the_contrastive_loss_on_the_same_draws():
    s = session_for(SIAMESE, ("train.program.positive_fraction=0.3",))
    prog = s.program
    batch = next(iter(s.data.loaders["train"].epoch(s.generator)))
    x, y = batch["image"], batch["target"]
    pool_x, pool_y = prog.pools["train"]
    gen = torch.Generator().set_state(prog.gen.get_state())
    model = s.models["model"]
    with torch.no_grad():
        positive = torch.rand(len(x), generator=gen) < 0.3
        partner = torch.where(positive, prog.samplers["train"].same(y, gen), prog.samplers["train"].other(y, gen))
        assert torch.equal(pool_y[partner] == y, positive)  # same class exactly for the positive pairs
        e1, e2 = model(x, pool_x[partner])
        d = F.pairwise_distance(e1, e2)
        t = positive.float()
        ref = (t * d ** 2 + (1 - t) * F.relu(1.0 - d) ** 2).mean()
    loss = prog.train_step(batch, s.updater)
    assert float(loss) == pytest.approx(float(ref), rel=1e-5)
    assert 0.2 < float(positive.float().mean()) < 0.4


def test_triplet_step_equals_torch_triplet_margin_loss(write_spec):
    s = session_for(write_spec(TRIPLET))
    prog = s.program
    batch = next(iter(s.data.loaders["train"].epoch(s.generator)))
    x, y = batch["features"], batch["target"]
    pool_x, pool_y = prog.pools["train"]
    gen = torch.Generator().set_state(prog.gen.get_state())
    pos, neg = prog.samplers["train"].same(y, gen), prog.samplers["train"].other(y, gen)
    assert torch.equal(pool_y[pos], y) and bool((pool_y[neg] != y).all())
    with torch.no_grad():
        ref = torch.nn.TripletMarginLoss(margin=0.5)(*s.models["model"](x, pool_x[pos], pool_x[neg]))
    assert float(prog.train_step(batch, s.updater)) == pytest.approx(float(ref), rel=1e-5)


def test_cosine_embedding_pairs_get_plus_minus_one_targets():
    s = session_for(SIAMESE, ("train.loss={type: cosine_embedding, margin: 0.2}",))
    prog = s.program
    batch = next(iter(s.data.loaders["train"].epoch(s.generator)))
    gen = torch.Generator().set_state(prog.gen.get_state())
    x, y = batch["image"], batch["target"]
    positive = torch.rand(len(x), generator=gen) < 0.5
    partner = torch.where(positive, prog.samplers["train"].same(y, gen), prog.samplers["train"].other(y, gen))
    with torch.no_grad():
        e1, e2 = s.models["model"](x, prog.pools["train"][0][partner])
        ref = torch.nn.CosineEmbeddingLoss(margin=0.2)(e1, e2, positive.float() * 2 - 1)
    assert float(prog.train_step(batch, s.updater)) == pytest.approx(float(ref), rel=1e-5)


def test_resume_repeats_the_same_pairs(tmp_path):
    args = ["train.epochs=3", "train.program.knn_reference=0", "train.deterministic=true"]
    straight = train_spec(SIAMESE, args, out=tmp_path / "a")
    with pytest.raises(Interrupt):
        train_spec(SIAMESE, args, out=tmp_path / "b", reporter=StopAfter(1))
    train_spec(SIAMESE, args, resume=tmp_path / "b")
    a, b = (load_checkpoint(tmp_path / r / "last.pt") for r in "ab")
    for k, v in a["models"]["model"].items():
        assert torch.equal(v, b["models"]["model"][k]), k
    assert torch.equal(a["program"]["generator"], b["program"]["generator"])
    assert [r["val.loss"] for r in straight.history] == [r["val.loss"] for r in train_spec(
        SIAMESE, args, out=tmp_path / "c").history]  # validation pairs are the same every time


def test_siamese_embedding_beats_raw_pixels_for_nearest_neighbours(tmp_path):
    """1-nearest-neighbour accuracy on the validation digits with 50 labelled references (the
    first 50 training digits, about 5 per class), the setting metric learning is for: Euclidean
    distance between learned embeddings against the same between raw (normalized) pixels — the
    same references, the same queries. The example states the full-reference figures too."""
    result = train_spec(SIAMESE, ["train.epochs=8", "train.program.knn_reference=50"], out=tmp_path / "s")
    train, val = digits_arrays(SIAMESE, "train"), digits_arrays(SIAMESE, "val")
    ref, ref_y = torch.as_tensor(train["image"][:50]).flatten(1), torch.as_tensor(train["target"][:50])
    q, q_y = torch.as_tensor(val["image"]).flatten(1), torch.as_tensor(val["target"])
    raw = float((ref_y[torch.cdist(q, ref).argmin(1)] == q_y).float().mean())
    learned = result.history[-1]["val.knn_accuracy"]
    assert learned >= raw + 0.08, (learned, raw)
    # the same figure from the exported embeddings: netspec predict, then 1-NN by hand
    image = load_checkpoint(tmp_path / "s")["preprocess"]["image"]  # predict reads raw images: undo the normalization
    raw_of = lambda x: (x * image["std"][0] + image["mean"][0]).astype(np.float32)  # noqa: E731
    np.savez(tmp_path / "ref.npz", image=raw_of(train["image"][:50]))
    np.savez(tmp_path / "q.npz", image=raw_of(val["image"]))
    from netspec.train.predict import predict_file

    for name in ("ref", "q"):
        predict_file(SIAMESE, tmp_path / "s", tmp_path / f"{name}.npz", tmp_path / f"{name}_emb.npz")
    emb = {n: np.stack([v for _, v in sorted(np.load(tmp_path / f"{n}_emb.npz").items(), key=lambda kv: int(kv[0].split("_")[1]))], 1)
           for n in ("ref", "q")}
    nearest = torch.cdist(torch.as_tensor(emb["q"]), torch.as_tensor(emb["ref"])).argmin(1)
    assert float((ref_y[nearest] == q_y).float().mean()) == pytest.approx(learned, abs=1e-6)
    # and the tower alone exports to ONNX, verified against PyTorch
    from netspec.export.tower import export_tower

    info = export_tower(SIAMESE, tmp_path / "s", tmp_path / "tower.onnx")
    assert info["verified"] and info["input"] == "left" and info["output"] == "left_embedding"
    import onnxruntime as ort

    out = ort.InferenceSession(str(tmp_path / "tower.onnx")).run(None, {"left": val["image"][:7]})[0]
    assert np.allclose(out, emb["q"][:7], atol=1e-4)


def test_tower_graph_keeps_one_branch():
    from netspec.check import check
    from netspec.export.tower import tower_graph

    g = check(SIAMESE).graph
    t = tower_graph(g)
    assert list(t.inputs) == ["left"] and [n for n, _ in t.outputs] == ["left_embedding"]
    assert all(n.name.startswith("left_embedding.") for n in t.nodes) and len(t.nodes) == 6
    with pytest.raises(Exception, match="one tower"):
        tower_graph(g, "right_embedding")  # it runs the left tower's weights: export the owner


@pytest.mark.parametrize("old, new, path, fragment", [
    ("loss: {type: contrastive, margin: 1.0}", "loss: {type: triplet, margin: 1.0}", ("train", "loss", 0, "type"),
     "compares 3 embeddings, but the model has 2 inputs"),
    ("loss: {type: contrastive, margin: 1.0}", "loss: mse", ("train", "loss", 0, "type"), "does not compare embeddings"),
    ("  right: {shape: [1, 8, 8]}\n", "  right: {shape: [1, 6, 6]}\n", ("inputs", "right"), "shape and dtype"),
    ("program: {type: contrastive,", "program: {type: contrastive, labels: label,", ("train", "loss", 0, "target"), None),
])
def test_contrastive_settings_are_checked(write_spec, old, new, path, fragment):
    text = SIAMESE.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new)
    if "[1, 6, 6]" in new:  # two towers of their own (not shared) can read inputs of different shapes
        text = text.replace("{name: right_embedding, share: left_embedding, inputs: [right]}",
                            "{name: right_embedding, tower: {}, inputs: [right]}")
    spec = write_spec(text)
    if fragment is None:  # a labels field the data lacks: a located DataError when training starts
        from netspec.errors import DataError

        with pytest.raises(DataError) as info:
            session_for(spec)
        assert info.value.path == path and "'label'" in info.value.message
        return
    found = problems(spec)
    assert any(p == path and fragment in m for p, m in found), found
