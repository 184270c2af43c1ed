"""ResNet-50 from specs/resnet50.yaml against a ResNet-50 written here (torchvision's layout and
module names; torchvision itself is not a dependency), on generated 3×224×224 images of 1000
classes (netspec's ``generated`` images source), SGD with momentum 0.9 (lr 0.1, weight decay 5e-5),
with the runner's fast path on both sides: AMP (bf16 autocast on GPUs that have it) and
channels_last. See common.py for the method; bench/gpu/README.md for the GPU runbook.

    python bench/gpu/resnet50.py                     # GPU: full size, results to bench/RESULTS.md
    python bench/gpu/resnet50.py --tiny --device cpu # smoke run: 64×64 images, batch 2

The published anchor is NVIDIA's reference implementation at about 2,470 images/s on one
A100-80GB with AMP; the acceptance measure is the ratio against this reference on the same device.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

PUBLISHED_PARAMS = 25_557_032  # He et al. 2015, table 1 (torchvision's resnet50)
CONFIGS = {"full": dict(size=224, classes=1000, samples=1024), "tiny": dict(size=64, classes=1000, samples=8)}
DEFAULTS = {"full": dict(batch_size=256, curve_steps=300, steps=10, rounds=6),
            "tiny": dict(batch_size=2, curve_steps=3, steps=2, rounds=2)}
LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 5.0e-5


# ---- the reference (torchvision's layout, ResNet v1.5) ----------------------------------------------

class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (carrying the stride), 1×1 expand ×4, each with batch norm; identity or
    projection shortcut."""

    def __init__(self, inplanes: int, width: int, stride: int) -> None:
        super().__init__()
        out = 4 * width
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + identity)


class ResNet50(nn.Module):
    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        inplanes, stages = 64, []
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            layers = [Bottleneck(inplanes, width, stride)] + [Bottleneck(4 * width, width, 1) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*layers))
            inplanes = 4 * width
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H/4, W/4)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (N, 2048, H/32, W/32)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---- the netspec side -----------------------------------------------------------------------------

def overrides(cfg: dict, batch_size: int, device: torch.device, extra: list[str]) -> list[str]:
    s, k = cfg["size"], cfg["classes"]
    return [
        f"inputs.image.shape=[3, {s}, {s}]",
        f"data={{source: {{type: generated, kind: images, shape: [3, {s}, {s}], num_classes: {k}, "
        f"num_samples: {cfg['samples']}}}, split: {{val: 0.0}}, loader: {{on_device: true, max_device_mb: 4096}}}}",
        f"train={{epochs: 1, batch_size: {batch_size}, seed: 0, device: {device}, schedule: constant, "
        f"optimizer: {{type: sgd, lr: {LR}, momentum: {MOMENTUM}, weight_decay: {WEIGHT_DECAY:.1e}}}}}",
    ] + extra


def build_session(cfg: dict, args, device: torch.device):
    from netspec.check import check
    from netspec.train.session import build_session as build

    return build(check(common.SPECS / "resnet50.yaml", overrides(cfg, args.batch_size, device, args.overrides)))


def reference(session, cfg: dict) -> tuple[ResNet50, common.Reference]:
    settings = common.reference_settings(session)
    model = ResNet50(cfg["classes"]).to(session.device)
    model.load_state_dict(session.models["model"].state_dict())  # the same module names
    channels_last = session.fast.channels_last
    if channels_last:
        model.to(memory_format=torch.channels_last)

    def loss_fn(batch: dict) -> torch.Tensor:
        x = batch["image"]
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return F.cross_entropy(model(x), batch["target"])

    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY,
                          **settings["optimizer_kwargs"])
    loader = session.data.loaders["train"]
    fields = {k: loader.tensors[k] for k in ("image", "target")}
    ref = common.Reference(model, common.compile_like(session, loss_fn), opt, settings["dtype"], session.device,
                           scaler=settings["scaler"], attention=settings["attention"],
                           batches=common.random_batches(fields, session.train.batch_size, seed=1))
    return model, ref


def settings_text(session, cfg: dict) -> str:
    f = session.fast
    return (f"batch {session.train.batch_size} × 3×{cfg['size']}×{cfg['size']}, {f.precision}, compile {f.compile}"
            f"{' (' + f.compile_mode + ', static shapes)' if f.compile and f.static_shapes else ''}, channels_last "
            f"{f.channels_last}, optimizer {common.reference_settings(session)['optimizer_kwargs'] or 'torch default'}, "
            f"tf32 {f.tf32}")


def main() -> dict:
    args = common.arguments(__doc__.splitlines()[0], DEFAULTS)
    device = common.pick(args.device)
    cfg = CONFIGS["tiny" if args.tiny else "full"]
    session = build_session(cfg, args, device)
    ours = common.NetspecSide(session)
    model, ref = reference(session, cfg)
    graph = session.checked.graph
    params = {"netspec": graph.params, "reference": count_params(model), "published": PUBLISHED_PARAMS}
    if len({params["netspec"], params["reference"], PUBLISHED_PARAMS}) != 1:
        raise SystemExit(f"parameter counts differ: {params}")
    ours_curve, ref_curve = common.loss_curves(ours, ref, args.curve_steps)
    curves = common.compare_curves(ours_curve, ref_curve)
    timing = common.interleave({"netspec": ours.step, "reference": ref.step}, args.steps, args.rounds, device)
    resident = {"netspec": common.resident_bytes(session.models["model"], session.updater.slots["model"].optimizer),
                "reference": common.resident_bytes(model, ref.optimizer)}
    peak = args.peak_tflops or common.peak_tflops(common.device_name(device))
    throughput = common.summarize("resnet50", timing, args.batch_size, 1, "images", graph.flops, peak, resident)
    title = "ResNet-50" if not args.tiny else "ResNet-50 at 64×64 (smoke size)"
    result = {"workload": "resnet50", "title": title, "variant": args.variant, "config": cfg,
              "batch_size": args.batch_size, "params": params, "fast_path": session.fast.describe(),
              "settings_text": settings_text(session, cfg), "forward_flops_per_sample": graph.flops,
              "peak_tflops": peak, "throughput": throughput,
              "curves": {**curves, "netspec": ours_curve, "reference": ref_curve},
              "environment": common.environment(device), "command": common.command_line()}
    common.finish(result, args)
    return result


if __name__ == "__main__":
    main()
