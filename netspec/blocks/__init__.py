"""Shipped blocks: reusable sub-graphs available to every spec, written in netspec's own YAML.

Each ``netspec/blocks/*.yaml`` file is a block library (``netspec: 1`` and ``blocks:``). A spec's
own block of the same name wins. Libraries load lazily, only when a spec names a type that is
neither a layer nor one of its own blocks, so validating a spec without them costs nothing.
"""

from functools import lru_cache
from pathlib import Path
from typing import Iterator, Literal, Mapping, Optional

from pydantic import Field, ValidationError

from ..diagnostics import pydantic_errors
from ..errors import SpecErrors, SpecPath
from ..source import SourceMap, load_file
from ..spec.base import StrictModel
from ..spec.model import BlockDef

LIBRARY_DIR = Path(__file__).resolve().parent


class BlockLibrary(StrictModel):
    """A file of shipped blocks."""

    netspec: Literal[1]
    description: Optional[str] = None
    blocks: dict[str, BlockDef] = Field(default={})


@lru_cache(maxsize=1)
def library() -> dict[str, tuple[BlockDef, dict, SourceMap]]:
    """Block name -> (definition, raw data, locations) for every shipped block."""
    out: dict[str, tuple[BlockDef, dict, SourceMap]] = {}
    for path in sorted(LIBRARY_DIR.glob("*.yaml")):
        data, smap = load_file(path)
        try:
            lib = BlockLibrary.model_validate(data)
        except ValidationError as exc:
            err = SpecErrors(pydantic_errors(exc, data, BlockLibrary))
            err.source = smap
            raise err from None
        for name, block in lib.blocks.items():
            if name in out:
                raise ValueError(f"shipped block {name!r} is defined twice ({path.name})")
            out[name] = (block, data["blocks"][name], smap)
    return out


class BlockTable(Mapping[str, tuple[BlockDef, SpecPath]]):
    """The blocks a spec can use: its own, then the shipped library (loaded on first miss)."""

    def __init__(self, own: dict[str, tuple[BlockDef, SpecPath]]) -> None:
        self.own = own
        self.used: set[str] = set()

    def __getitem__(self, name: str) -> tuple[BlockDef, SpecPath]:
        if name in self.own:
            return self.own[name]
        block = library()[name][0]
        self.used.add(name)
        return block, ("blocks", name)

    def __contains__(self, name: object) -> bool:
        return name in self.own or (isinstance(name, str) and name in library())

    def __iter__(self) -> Iterator[str]:
        yield from self.own
        yield from (n for n in library() if n not in self.own)

    def __len__(self) -> int:
        return len(set(self.own) | set(library()))

    def locate_into(self, smap: SourceMap) -> None:
        """Add the locations of the shipped blocks this spec used (for diagnostics)."""
        for name in self.used:
            _, _, lib_smap = library()[name]
            prefix = ("blocks", name)
            for p, loc in lib_smap.values.items():
                if p[:2] == prefix:
                    smap.add(p, loc, lib_smap.keys.get(p))
