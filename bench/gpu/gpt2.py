"""GPT-2 small (124M) from specs/gpt2_small.yaml against a nanoGPT-style model written here: 12
layers, 12 heads, 768 wide, context 1024, tied embeddings, trained on generated tokens (netspec's
``generated`` sequence source) with AdamW (lr 6e-4, betas 0.9/0.95, weight decay 0.1 on matrices
and embeddings, none on biases and norms), gradient clipping at 1.0 and no dropout (as nanoGPT and
llm.c pretrain). See common.py for the method; bench/gpu/README.md for the GPU runbook.

    python bench/gpu/gpt2.py                     # GPU: full size, results to bench/RESULTS.md
    python bench/gpu/gpt2.py --tiny --device cpu # smoke run: 2 layers, 64 wide, context 64, batch 2

The reference has nanoGPT's module layout (c_attn, c_proj, c_fc, ln_1, ln_2) and computes what
netspec's pre-norm ``transformer_encoder_layer`` computes, including a dropout on the feed-forward
hidden layer (where torch's layer has one; inactive at p = 0), so weights copy across one to one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

PUBLISHED_PARAMS = 124_439_808  # GPT-2 small with tied embeddings and a 1024-token context
CONFIGS = {
    "full": dict(n_layer=12, n_head=12, n_embd=768, vocab=50257, block=1024, samples=1024),
    "tiny": dict(n_layer=2, n_head=2, n_embd=64, vocab=500, block=64, samples=64),
}
DEFAULTS = {"full": dict(batch_size=16, curve_steps=300, steps=20, rounds=6),
            "tiny": dict(batch_size=2, curve_steps=4, steps=2, rounds=2)}
LR, BETAS, WEIGHT_DECAY, CLIP = 6.0e-4, (0.9, 0.95), 0.1, 1.0


# ---- the reference (nanoGPT's layout) -------------------------------------------------------------

class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int, dropout: float) -> None:
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.n_head, self.dropout = n_head, dropout
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(b, t, c)))


class MLP(nn.Module):
    def __init__(self, n_embd: int, dropout: float) -> None:
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.c_proj = nn.Linear(4 * n_embd, n_embd)
        self.hidden_dropout, self.dropout = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.hidden_dropout(F.gelu(self.c_fc(x), approximate="tanh"))))


class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int, dropout: float) -> None:
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.attn, self.mlp = CausalSelfAttention(n_embd, n_head, dropout), MLP(n_embd, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Token + learned position embeddings, pre-norm blocks, final norm, head tied to wte.
    ``pad_multiple`` > 0 computes the head with the vocabulary padded and slices the logits back."""

    def __init__(self, n_layer: int, n_head: int, n_embd: int, vocab: int, block: int, dropout: float = 0.0,
                 pad_multiple: int = 0) -> None:
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, n_embd), wpe=nn.Embedding(block, n_embd), drop=nn.Dropout(dropout),
            h=nn.ModuleList(Block(n_embd, n_head, dropout) for _ in range(n_layer)), ln_f=nn.LayerNorm(n_embd)))
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied
        self.vocab, self.pad = vocab, (-(-vocab // pad_multiple) * pad_multiple - vocab) if pad_multiple else 0

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        tr = self.transformer
        x = tr.drop(tr.wte(idx) + tr.wpe.weight[:t])
        for block in tr.h:
            x = block(x)
        x = tr.ln_f(x)
        if not self.pad:
            return self.lm_head(x)
        return F.linear(x, F.pad(self.lm_head.weight, (0, 0, 0, self.pad)))[..., : self.vocab]

    def optimizer(self, **kwargs) -> torch.optim.Optimizer:
        """AdamW with weight decay on matrices and embeddings (dim ≥ 2), none on biases and norms."""
        params = list(self.parameters())
        groups = [{"params": [p for p in params if p.dim() >= 2]},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=LR, betas=BETAS, weight_decay=WEIGHT_DECAY, eps=1e-8, **kwargs)


def copy_from_netspec(ref: GPT, state: dict[str, torch.Tensor], n_layer: int) -> None:
    """netspec's state dict (torch TransformerEncoderLayer names) into nanoGPT's names."""
    names = {"wte.weight": "transformer.wte.weight", "wpe.weight": "transformer.wpe.weight",
             "ln_f.weight": "transformer.ln_f.weight", "ln_f.bias": "transformer.ln_f.bias"}
    per_layer = {"self_attn.in_proj_weight": "attn.c_attn.weight", "self_attn.in_proj_bias": "attn.c_attn.bias",
                 "self_attn.out_proj.weight": "attn.c_proj.weight", "self_attn.out_proj.bias": "attn.c_proj.bias",
                 "linear1.weight": "mlp.c_fc.weight", "linear1.bias": "mlp.c_fc.bias",
                 "linear2.weight": "mlp.c_proj.weight", "linear2.bias": "mlp.c_proj.bias",
                 "norm1.weight": "ln_1.weight", "norm1.bias": "ln_1.bias", "norm2.weight": "ln_2.weight",
                 "norm2.bias": "ln_2.bias"}
    for i in range(n_layer):
        names.update({f"h.layers.{i}.{a}": f"transformer.h.{i}.{b}" for a, b in per_layer.items()})
    target = dict(ref.named_parameters())
    with torch.no_grad():
        for src, dst in names.items():
            target[dst].copy_(state[src])


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # parameters() yields a tied tensor once


# ---- the netspec side -----------------------------------------------------------------------------

def overrides(cfg: dict, batch_size: int, device: torch.device, extra: list[str]) -> list[str]:
    d, v, t = cfg["n_embd"], cfg["vocab"], cfg["block"]
    return [
        f"dims.seq={t}",
        f"model.layers.0.embedding={{num_embeddings: {v}, embedding_dim: {d}}}",
        f"model.layers.1.positional_encoding.max_len={t}",
        "model.layers.2.dropout.p=0.0",
        f"model.layers.3.transformer_encoder.num_layers={cfg['n_layer']}",
        f"model.layers.3.transformer_encoder.nhead={cfg['n_head']}",
        f"model.layers.3.transformer_encoder.dim_feedforward={4 * d}",
        "model.layers.3.transformer_encoder.dropout=0.0",
        f"model.layers.5.linear.out_features={v}",
        f"constraints.output_shapes.lm_head=[seq, {v}]",
        f"data={{source: {{type: generated, kind: sequence, vocab_size: {v}, shape: [{t}], num_samples: {cfg['samples']}}}, "
        "split: {val: 0.0}, loader: {on_device: true}}",
        f"train={{program: language_model, epochs: 1, batch_size: {batch_size}, seed: 0, device: {device}, "
        f"optimizer: {{type: adamw, lr: {LR:.1e}, betas: [{BETAS[0]}, {BETAS[1]}], weight_decay: {WEIGHT_DECAY}, "
        "eps: 1.0e-8, no_decay: [bias, norm]}, schedule: constant, "
        f"grad_clip: {{type: norm, max_norm: {CLIP}}}}}",
    ] + extra


def build_session(cfg: dict, args, device: torch.device):
    from netspec.check import check
    from netspec.train.session import build_session as build

    return build(check(common.SPECS / "gpt2_small.yaml", overrides(cfg, args.batch_size, device, args.overrides)))


def reference(session, cfg: dict) -> tuple[GPT, common.Reference]:
    settings = common.reference_settings(session)
    model = GPT(cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["vocab"], cfg["block"],
                pad_multiple=session.fast.pad_vocab).to(session.device)
    copy_from_netspec(model, session.models["model"].state_dict(), cfg["n_layer"])

    def loss_fn(batch: dict) -> torch.Tensor:
        logits = model(batch["tokens"])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch["next"].reshape(-1))

    loader = session.data.loaders["train"]
    fields = {k: loader.tensors[k] for k in ("tokens", "next")}
    ref = common.Reference(model, common.compile_like(session, loss_fn), model.optimizer(**settings["optimizer_kwargs"]),
                           settings["dtype"], session.device, clip=CLIP, scaler=settings["scaler"],
                           attention=settings["attention"],
                           batches=common.random_batches(fields, session.train.batch_size, seed=1))
    return model, ref


def settings_text(session, cfg: dict) -> str:
    f = session.fast
    return (f"batch {session.train.batch_size} × {cfg['block']} tokens, {f.precision}, compile {f.compile}"
            f"{' (' + f.compile_mode + ', static shapes)' if f.compile and f.static_shapes else ''}, optimizer "
            f"{common.reference_settings(session)['optimizer_kwargs'] or 'torch default'}, tf32 {f.tf32}, "
            f"attention {f.attention}, pad_vocab {f.pad_vocab or 'off'}, dropout 0")


def main() -> dict:
    args = common.arguments(__doc__.splitlines()[0], DEFAULTS)
    device = common.pick(args.device)
    cfg = CONFIGS["tiny" if args.tiny else "full"]
    session = build_session(cfg, args, device)
    ours = common.NetspecSide(session)
    model, ref = reference(session, cfg)
    graph = session.checked.graph
    params = {"netspec": graph.params, "reference": count_params(model),
              "published": PUBLISHED_PARAMS if not args.tiny else None}
    if params["netspec"] != params["reference"] or (params["published"] and params["netspec"] != PUBLISHED_PARAMS):
        raise SystemExit(f"parameter counts differ: {params}")
    ours_curve, ref_curve = common.loss_curves(ours, ref, args.curve_steps)
    curves = common.compare_curves(ours_curve, ref_curve)
    timing = common.interleave({"netspec": ours.step, "reference": ref.step}, args.steps, args.rounds, device)
    resident = {"netspec": common.resident_bytes(session.models["model"], session.updater.slots["model"].optimizer),
                "reference": common.resident_bytes(model, ref.optimizer)}
    peak = args.peak_tflops or common.peak_tflops(common.device_name(device))
    throughput = common.summarize("gpt2", timing, args.batch_size, cfg["block"], "tokens", graph.flops, peak, resident)
    result = {"workload": "gpt2", "title": "GPT-2 small (124M)" if not args.tiny else "GPT-2 (tiny smoke size)",
              "variant": args.variant, "config": cfg, "batch_size": args.batch_size, "params": params,
              "fast_path": session.fast.describe(), "settings_text": settings_text(session, cfg),
              "forward_flops_per_sample": graph.flops, "peak_tflops": peak, "throughput": throughput,
              "curves": {**curves, "netspec": ours_curve, "reference": ref_curve},
              "environment": common.environment(device), "command": common.command_line()}
    common.finish(result, args)
    return result


if __name__ == "__main__":
    main()
