"""Export: ONNX files proven to compute what the PyTorch model computes, and safetensors weights.

For a spec (what ``netspec export`` runs)::

    from netspec.export import export_spec
    done = export_spec("specs/lenet5.yaml", checkpoint="runs/lenet5-.../best.pt", out="lenet5.onnx")
    done[0].report.ok, done[0].report.worst()

For any torch module (a GAN generator, a VAE decoder, one decoding step of a language model)::

    from netspec.export import export_module, verify

    result = export_module(
        decoder,                                   # nn.Module; exported from an eval-mode copy
        [torch.randn(2, 20)],                      # example inputs, one tensor per input
        input_names=["z"], output_names=["image"],
        dynamic_axes={"z": {0: "batch"}},          # {input: {axis: name}}; a shared name = one size
        path="decoder.onnx", opset=18,
        metadata={"netspec.model": "decoder"},     # strings, stored in the file's metadata_props
        dynamic_outputs={"image": {0: "batch"}},   # output axes that must stay dynamic (checked)
    )
    report = verify("decoder.onnx", decoder, [[torch.randn(1, 20)], [torch.randn(5, 20)]], atol=1e-4)
    assert report.ok, report.worst()

``export_module`` raises ExportError (UnsupportedOpError with ``.op`` for an operator without an
ONNX mapping) and checks that the axes named dynamic stayed dynamic; ``verify`` runs
``onnx.checker`` (full check) and compares onnxruntime with the module on each input set
(verify at shapes that differ from the example). ``netspec.export.metadata.build_metadata``
makes the standard metadata for a spec graph; ``netspec.export.weights`` saves and loads
safetensors files.
"""

from .api import ModelExport, VerificationError, export_spec
from .onnx import OnnxExport, UnsupportedOpError, export_module
from .verify import OutputCheck, RunCheck, VerifyReport, check_model, verify

__all__ = ["ModelExport", "OnnxExport", "OutputCheck", "RunCheck", "UnsupportedOpError", "VerificationError",
           "VerifyReport", "check_model", "export_module", "export_spec", "verify"]
