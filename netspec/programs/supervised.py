"""The ``supervised`` program (the default): one model, its losses against targets, one step."""

from typing import ClassVar, Literal

from .base import PROGRAMS, ProgramSpec


@PROGRAMS.register
class Supervised(ProgramSpec):
    """One model, one optimizer: forward, loss(es) against targets, backward, step."""
    type: Literal["supervised"]

    EXAMPLE: ClassVar[str] = "{type: supervised}"
    runtime: ClassVar[str] = "netspec.train.programs.supervised:Supervised"
    distributed: ClassVar[bool] = True
