"""The ``segmentation`` program: per-pixel classification.

The supervised step with a fixed task: (C, H, W) class logits per pixel against an (H, W) ``mask``
of class indices; IoU, Dice and pixel accuracy are logged. Geometric augmentations (which would
move an image but not its mask) are refused, and so is an ignored label.
"""

from typing import Any, ClassVar, Literal, Optional

from ..errors import SpecError
from .base import PROGRAMS, Planner, ProgramSpec
from .plan import TrainPlan
from .rules import fmt_shape, output_path, own_task_plan


@PROGRAMS.register
class SegmentationProgram(ProgramSpec):
    """Per-pixel classification: (C, H, W) logits against an (H, W) mask of class indices (target: `mask`)."""
    type: Literal["segmentation"]

    EXAMPLE: ClassVar[str] = "{type: segmentation}"
    runtime: ClassVar[str] = "netspec.train.programs.segmentation:Segmentation"
    mode: ClassVar[Optional[str]] = "segmentation"
    distributed: ClassVar[bool] = True

    def plan(self, planner: Planner) -> Optional[TrainPlan]:
        plan, found = own_task_plan(planner)
        if found is None:
            return plan
        errors = planner.errors
        self._check(planner.spec, *found, errors)
        for i, loss in enumerate(planner.spec.train.loss or []):
            if getattr(loss, "ignore_index", -100) >= 0:
                errors.append(SpecError("the segmentation metrics count every pixel: masks cannot carry an ignored label",
                                        path=("train", "loss", i, "ignore_index"), hint="drop ignore_index"))
        return plan

    @staticmethod
    def _check(spec: Any, graph: Any, out_name: str, out: Any, errors: list[SpecError]) -> None:
        shape = out.shape
        if len(shape) != 3 or not isinstance(shape[0], int) or shape[0] < 2:
            errors.append(SpecError(f"output {out_name!r} is {fmt_shape(shape)}, but segmentation returns (C, H, W) logits "
                                    "for C ≥ 2 classes", path=output_path(graph, out_name),
                                    hint="end in a 1×1 conv2d with out_channels = number of classes (background included)"))
            return
        for name, t in graph.inputs.items():
            if len(t.shape) == 3 and tuple(t.shape[1:]) != tuple(shape[1:]):
                errors.append(SpecError(f"output {out_name!r} is {fmt_shape(shape)}, but the masks have the size of input "
                                        f"{name!r} {fmt_shape(tuple(t.shape[1:]))}", path=output_path(graph, out_name),
                                        hint="upsample the logits back to the input's height and width"))
        for i, aug in enumerate(spec.data.augment if spec.data is not None else []):
            if aug.geometric:  # the augmentation's own planning rule (netspec.augmentations)
                errors.append(SpecError(f"augmentation {aug.type!r} would move the image but not its mask",
                                        path=("data", "augment", i), hint="use photometric augmentations (color_jitter, noise)"))
