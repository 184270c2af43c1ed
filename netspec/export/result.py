"""What exporting one model gives back: the file, how it was exported, and its verification."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..errors import ExportError
from .verify import VerifyReport


@dataclass
class ModelExport:
    model: str
    path: Path
    format: str
    opset: Optional[int] = None
    exporter: Optional[str] = None
    dynamic_axes: dict[str, dict[int, str]] = field(default_factory=dict)
    report: Optional[VerifyReport] = None
    spec_file: Optional[Path] = None
    notes: list[str] = field(default_factory=list)

    @property
    def verified(self) -> Optional[bool]:
        return None if self.report is None else self.report.ok

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model": self.model, "path": str(self.path), "format": self.format}
        if self.format == "onnx":
            out.update(opset=self.opset, exporter=self.exporter, dynamic_axes=self.dynamic_axes, verified=self.verified,
                       verification=self.report.as_dict() if self.report else None)
        if self.spec_file:
            out["spec_file"] = str(self.spec_file)
        if self.notes:
            out["notes"] = self.notes
        return out


class VerificationError(ExportError):
    """Exported, but onnxruntime disagrees with PyTorch beyond the tolerance."""

    def __init__(self, message: str, exports: list[ModelExport], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.exports = exports
