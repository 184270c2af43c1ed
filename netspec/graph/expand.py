"""Layer items -> flat nodes: layer validation, names, wiring by name, blocks, repeat, sharing.

Every layer list (the model's, or one use of a block) is a *scope*: names in it are local, a node
takes the previous item's output unless it names ``inputs``, and references may point forward
(the order is fixed later by a topological sort). A block use expands under its qualified name
(``layer1.0.conv1``), so the compiled module hierarchy mirrors the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from pydantic import ValidationError

from ..diagnostics import did_you_mean, pydantic_errors, show
from ..errors import NetspecError, SpecError, SpecErrors, SpecPath
from ..layers import get_layer, layer_tags
from ..layers.base import Layer
from ..limits import MAX_BLOCK_DEPTH, MAX_NODES
from ..spec.model import NODE_KEYS, BlockDef
from .blocks import Bound, bind, relocate, substitute
from .ir import Node, ValueId
from .reserved import RESERVED
from .wiring import POISON, Entry, resolve

Note = tuple[SpecPath, str]


@dataclass
class Ctx:
    """Where a scope's items come from: substitution origins and the chain of block uses."""

    origins: dict[SpecPath, SpecPath] = field(default_factory=dict)
    notes: tuple[Note, ...] = ()
    stack: tuple[str, ...] = ()


@dataclass
class Item:
    """One layer item of a scope, parsed."""

    index: int
    path: SpecPath
    local: str
    name_given: bool = False
    kind: str = "layer"  # layer | block | share | broken
    tag: Optional[str] = None
    layer: Optional[Layer] = None
    params: Any = None
    inputs: Optional[list[Any]] = None
    repeat: int = 1
    first: Optional[dict[str, Any]] = None
    init: dict[str, Any] = field(default_factory=dict)
    share: Optional[str] = None
    tie: dict[str, str] = field(default_factory=dict)  # as written: parameter -> local name
    tie_targets: dict[str, str] = field(default_factory=dict)  # resolved: parameter -> qualified node name
    entry: Optional[Entry] = None


class Expander:
    def __init__(self, blocks: Mapping[str, tuple[BlockDef, SpecPath]], type_init: dict[str, Any], errors: list[NetspecError]):
        self.blocks = blocks
        self.type_init = type_init
        self.errors = errors
        self.nodes: list[Node] = []
        self.aliases: dict[ValueId, ValueId] = {}
        self.instances: dict[str, tuple[Item, Ctx]] = {}
        self.over_budget = False  # more than MAX_NODES nodes: expansion stops (reported once)

    # ---- errors ---------------------------------------------------------------------------
    def report(self, exc: NetspecError, ctx: Ctx) -> None:
        for e in exc.errors if isinstance(exc, SpecErrors) else [exc]:
            e.path = relocate(e.path, ctx.origins)
            e.notes = list(e.notes) + list(reversed(ctx.notes))
            self.errors.append(e)

    # ---- scopes ---------------------------------------------------------------------------
    def scope(self, items: list[Any], path: SpecPath, prefix: str, inputs: dict[str, ValueId], ctx: Ctx
              ) -> tuple[dict[str, Entry], Optional[Entry]]:
        parsed = [self.parse(raw, path + (i,), i, ctx) for i, raw in enumerate(items)]
        table: dict[str, Entry] = {name: Entry("input", value=v) for name, v in inputs.items()}
        for item in parsed:
            self.declare(item, prefix, table, ctx)
        for item in parsed:
            if item.kind == "share":
                self.link_share(item, table, ctx)
        previous: Optional[Entry] = table[next(iter(inputs))] if len(inputs) == 1 else None
        for item in parsed:
            values = self.wire(item, table, previous, inputs, ctx)
            if values is not None:
                self.emit(item, prefix, values, table, ctx)
            previous = item.entry
        return table, previous

    def declare(self, item: Item, prefix: str, table: dict[str, Entry], ctx: Ctx) -> None:
        """Give the item its qualified name and an entry in the scope's name table."""
        qn = prefix + item.local
        if item.local in table:
            what = "an input" if table[item.local].kind == "input" else "another layer"
            self.report(SpecError(f"name {item.local!r} is already used by {what} in this scope",
                                  path=item.path + ("name",), hint="names must be unique"), ctx)
            item.kind = "broken"
        clash = [seg for seg in item.local.split(".") if seg in RESERVED]
        if clash:
            self.report(SpecError(f"{clash[0]!r} is reserved (it is an attribute of torch.nn.Module)",
                                  path=item.path + ("name",), hint=f"rename it, e.g. {clash[0]}_"), ctx)
            item.kind = "broken"
        if item.kind == "broken":
            item.entry = Entry("poison", qn=qn)
        elif item.kind == "block":
            block = self.blocks[item.tag][0]  # type: ignore[index]
            outs = tuple(block.outputs or ("out",))
            item.entry = Entry("block", qn=qn, names=outs, count=len(outs))
        elif item.kind == "share":
            item.entry = Entry("share", qn=qn)  # completed when the target is known
        else:
            last = qn if item.repeat == 1 else f"{qn}.{item.repeat - 1}"
            item.entry = Entry("layer", qn=last, names=item.layer.output_names)  # type: ignore[union-attr]
        if item.local not in table:
            table[item.local] = item.entry

    def wire(self, item: Item, table: dict[str, Entry], previous: Optional[Entry], inputs: dict[str, Any], ctx: Ctx
             ) -> Optional[list[ValueId]]:
        """The values an item takes: its ``inputs`` resolved by name, or the previous output.
        A broken item still resolves its ``inputs``, so a dangling reference is reported too."""
        if item.kind == "broken" and item.inputs is None:
            return None
        if item.inputs is None:
            if previous is None:
                self.report(SpecError(f"this scope has several inputs ({', '.join(inputs)}); say which this layer takes",
                                      path=item.path, hint=f"add `inputs: [{next(iter(inputs))}]`"), ctx)
                return None
            return [previous.sole()]
        values = []
        for i, ref in enumerate(item.inputs):
            try:
                values.append(resolve(ref, table, item.path + ("inputs", i)))
            except SpecError as exc:
                self.report(exc, ctx)
                values.append(POISON)
        return None if item.kind == "broken" else values

    # ---- emitting nodes ---------------------------------------------------------------------
    def emit(self, item: Item, prefix: str, values: list[ValueId], table: dict[str, Entry], ctx: Ctx) -> None:
        qn = prefix + item.local
        if item.tie:
            self.resolve_tie(item, table, ctx)
        if item.kind == "layer":
            self.emit_layer(item, qn, values, ctx)
        elif item.kind == "block":
            self.expand_block(item, qn, values, ctx)
        else:
            self.emit_share(item, qn, values, table, ctx)

    def emit_layer(self, item: Item, qn: str, values: list[ValueId], ctx: Ctx, share: Optional[str] = None) -> None:
        layer = item.layer
        lo, hi = layer.arity  # type: ignore[union-attr]
        if len(values) < lo or (hi is not None and len(values) > hi):
            want = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
            self.report(SpecError(f"{item.tag} takes {want} input(s), got {len(values)}",
                                  path=item.path + (("inputs",) if item.inputs is not None else ()),
                                  hint=None if lo > 1 or len(values) <= 1
                                  else "use a merge layer (add, concat, multiply) to join inputs"), ctx)
            return
        notes = tuple(reversed(ctx.notes))
        if self.out_of_budget(item, item.repeat, ctx):
            return
        for r in range(item.repeat):
            name = qn if item.repeat == 1 else f"{qn}.{r}"
            node = Node(name=name, layer=layer, inputs=values, path=relocate(item.path, ctx.origins), notes=notes,  # type: ignore[arg-type]
                        init=item.init, type_init=self.type_init.get(item.tag, {}), share=share)  # type: ignore[arg-type]
            node.inputs_path = relocate(item.path + ("inputs",), ctx.origins) if item.inputs is not None else None  # type: ignore[attr-defined]
            node.tie = dict(item.tie_targets)
            self.nodes.append(node)
            values = [("node", name, None)] + list(values[1:])  # a repeated layer keeps its other inputs

    def out_of_budget(self, item: Item, adding: int, ctx: Ctx) -> bool:
        """True (reported once per model) when the expanded graph would pass MAX_NODES nodes, so a
        `repeat` of nested blocks cannot make validation build millions of nodes."""
        if self.over_budget or len(self.nodes) + adding <= MAX_NODES:
            return self.over_budget
        self.over_budget = True
        self.report(SpecError(f"the model expands to more than {MAX_NODES:,} nodes", path=item.path,
                              hint="check the `repeat` counts of this layer or block and of the blocks it uses"), ctx)
        return True

    def resolve_tie(self, item: Item, table: dict[str, Entry], ctx: Ctx) -> None:
        """``tie: {param: name}``: the name must be another layer of this scope."""
        if item.kind == "block":
            self.report(SpecError("`tie` applies to a layer, not to a block use", path=item.path + ("tie",), at_key=True,
                                  hint="tie the parameter inside the block's layers"), ctx)
            return
        for pname, ref in item.tie.items():
            entry = table.get(ref)
            if entry is None or entry.kind != "layer" or entry is item.entry:
                layers = [k for k, e in table.items() if e.kind == "layer" and e is not item.entry]
                what = "itself" if entry is item.entry else "a block use" if entry and entry.kind == "block" else (
                    "an input" if entry and entry.kind == "input" else None)
                msg = f"cannot tie to {what}" if what else f"tie: {show(ref)} is not a layer in this scope"
                self.report(SpecError(msg, path=item.path + ("tie", pname),
                                      hint=did_you_mean(ref, layers) or "tie to the name of another layer, e.g. {weight: wte}"), ctx)
                continue
            item.tie_targets[pname] = entry.qn

    def expand_block(self, item: Item, qn: str, values: list[ValueId], ctx: Ctx) -> None:
        block, bpath = self.blocks[item.tag]  # type: ignore[index]
        if item.tag in ctx.stack:
            self.report(SpecError(f"block {item.tag!r} uses itself", path=item.path, at_key=True,
                                  hint="blocks cannot be recursive"), ctx)
            return
        if len(ctx.stack) >= MAX_BLOCK_DEPTH:
            chain = [str(tag) for tag in ctx.stack] + [str(item.tag)]
            shown = " -> ".join(chain[:3] + ["..."] + chain[-2:])
            self.report(SpecError(f"blocks nested {len(chain)} deep ({shown})", path=item.path, at_key=True,
                                  hint=f"blocks nest at most {MAX_BLOCK_DEPTH} levels; flatten some of them"), ctx)
            return
        try:
            bound = bind(item.tag, block, bpath, item.params, item.path + (item.tag,))  # type: ignore[arg-type, operator]
            first = self.bind_first(item, block, bpath, bound)
        except NetspecError as exc:
            self.report(exc, ctx)
            return
        self.instances[qn] = (item, ctx)
        note = (relocate(item.path, ctx.origins), f"in block {item.tag!r} used here")
        outs = values
        for r in range(item.repeat):
            if self.out_of_budget(item, 0, ctx):
                return
            if len(outs) != len(block.inputs):
                where = item.path + ("inputs",) if r == 0 and item.inputs is not None else item.path
                msg = (f"block {item.tag!r} takes {len(block.inputs)} input(s) ({', '.join(block.inputs)}), got {len(outs)}"
                       if r == 0 else f"repeat needs a block with as many outputs as inputs ({item.tag!r} has "
                       f"{len(block.inputs)} input(s) and {len(outs)} output(s))")
                self.report(SpecError(msg, path=where), ctx)
                return
            inst = qn if item.repeat == 1 else f"{qn}.{r}"
            origins: dict[SpecPath, SpecPath] = {}
            body = substitute(block.layers, first if r == 0 else bound, bpath + ("layers",), origins)
            inner = Ctx(origins, ctx.notes + (note,), ctx.stack + (item.tag,))  # type: ignore[operator]
            table, last = self.scope(body, bpath + ("layers",), inst + ".", dict(zip(block.inputs, outs)), inner)
            outs = self.block_outputs(block, bpath, table, last, inner)
        for k, v in enumerate(outs):
            self.aliases[("alias", qn, k)] = v

    def bind_first(self, item: Item, block: BlockDef, bpath: SpecPath, bound: Bound) -> Bound:
        if not item.first:
            return bound
        first_path = item.path + ("repeat", "first")
        merged = {k: v for k, (v, _) in bound.items()}
        merged.update(item.first)
        out = bind(item.tag, block, bpath, {k: v for k, v in merged.items() if k in block.args or k in item.first},  # type: ignore[arg-type]
                   first_path)
        return {k: (v, bound[k][1] if k not in item.first else p) for k, (v, p) in out.items()}

    def block_outputs(self, block: BlockDef, bpath: SpecPath, table: dict[str, Entry], last: Optional[Entry], ctx: Ctx
                      ) -> list[ValueId]:
        if block.outputs is None:
            return [last.sole()] if last is not None else [POISON]
        outs = []
        for i, ref in enumerate(block.outputs):
            try:
                outs.append(resolve(ref, table, bpath + ("outputs", i)))
            except SpecError as exc:
                self.report(exc, ctx)
                outs.append(POISON)
        return outs

    def link_share(self, item: Item, table: dict[str, Entry], ctx: Ctx) -> None:
        """Make a sharing item's entry look like its target's (a layer, or a block use)."""
        target = table.get(item.share)  # type: ignore[arg-type]
        if target is None or target.kind not in ("layer", "block") or target is item.entry:
            candidates = [k for k, e in table.items() if e.kind in ("layer", "block") and e is not item.entry]
            self.report(SpecError(f"share: {show(item.share)} is not a layer or block in this scope",
                                  path=item.path + ("share",), hint=did_you_mean(item.share, candidates)), ctx)
            item.kind, item.entry.kind = "broken", "poison"  # type: ignore[union-attr]
            return
        entry = item.entry
        entry.kind, entry.names, entry.count = target.kind, target.names, target.count  # type: ignore[union-attr]
        item.target = target  # type: ignore[attr-defined]

    def emit_share(self, item: Item, qn: str, values: list[ValueId], table: dict[str, Entry], ctx: Ctx) -> None:
        target: Entry = item.target  # type: ignore[attr-defined]
        before = "must come before the layer that shares it"
        if target.kind == "layer":
            source = next((n for n in self.nodes if n.name == target.qn), None)
            if source is None:
                self.report(SpecError(f"share: {item.share!r} {before}", path=item.path + ("share",)), ctx)
                return
            item.layer, item.tag = source.layer, source.layer.tag
            self.emit_layer(item, qn, values, ctx, share=source.name)
            return
        if target.qn not in self.instances:
            self.report(SpecError(f"share: {item.share!r} {before}", path=item.path + ("share",)), ctx)
            return
        source_item, source_ctx = self.instances[target.qn]
        start = len(self.nodes)
        self.expand_block(source_item, qn, values, source_ctx)
        for node in self.nodes[start:]:
            node.share = target.qn + node.name[len(qn):]

    # ---- parsing one item -------------------------------------------------------------------
    def parse(self, raw: Any, path: SpecPath, index: int, ctx: Ctx) -> Item:
        item = Item(index=index, path=path, local=f"layer_{index}", kind="broken")
        if isinstance(raw, str):
            raw = {raw: None}
        if not isinstance(raw, dict) or not raw:
            self.report(SpecError(f"expected a layer (a name, or a mapping like {{linear: {{out_features: 10}}}}), got {show(raw)}",
                                  path=path), ctx)
            return item
        if not self.parse_node_keys(item, raw, ctx):
            return item
        type_keys = [k for k in raw if k not in NODE_KEYS]
        known = [k for k in type_keys if get_layer(k) or k in self.blocks]
        unknown = [k for k in type_keys if k not in known]
        if len(type_keys) == 0:
            if item.share is not None:
                item.kind = "share"
                return item
            self.report(SpecError("this item has no layer type", path=path,
                                  hint="write e.g. `- linear: {out_features: 10}` or `- relu`"), ctx)
            return item
        if len(known) > 1:
            self.report(SpecError(f"one layer per item: found {', '.join(known)}", path=path + (known[1],), at_key=True,
                                  hint="put each layer in its own list item"), ctx)
            return item
        for key in unknown:
            if known:
                hint = did_you_mean(key, NODE_KEYS) or f"besides the layer type, an item may have: {', '.join(NODE_KEYS)}"
                self.report(SpecError(f"unknown key {key!r}", path=path + (key,), at_key=True, hint=hint), ctx)
            else:
                hint = did_you_mean(key, layer_tags() + list(self.blocks)) or "see `netspec layers` for the layer types"
                self.report(SpecError(f"unknown layer type {key!r}", path=path + (key,), at_key=True, hint=hint), ctx)
        if unknown or not known:
            return item
        tag = known[0]
        item.tag = tag
        if not item.name_given:
            item.local = f"{tag}_{index}"
        if item.share is not None:
            self.report(SpecError(f"a node with `share` takes its layer from the shared node; remove {tag!r}",
                                  path=path + (tag,), at_key=True), ctx)
            return item
        item.params = raw[tag]
        if get_layer(tag) is None:  # a block (layers come first; a spec block may not shadow one)
            item.kind = "block"
            return item
        return self.parse_layer(item, tag, raw[tag], path + (tag,), ctx)

    def parse_layer(self, item: Item, tag: str, params: Any, path: SpecPath, ctx: Ctx) -> Item:
        cls = get_layer(tag)
        params = {} if params is None else params
        if not isinstance(params, dict):
            self.report(SpecError(f"parameters of {tag} must be a mapping, got {show(params)}", path=path,
                                  hint=f"write `{tag}: {{...}}`"), ctx)
            return item
        if item.first:
            self.report(SpecError("repeat.first is for blocks; a layer repeats unchanged", path=item.path + ("repeat", "first"),
                                  at_key=True), ctx)
            return item
        try:
            item.layer = cls.model_validate(params)  # type: ignore[union-attr]
        except ValidationError as exc:
            for err in pydantic_errors(exc, params, cls, path):  # type: ignore[arg-type]
                self.report(err, ctx)
            return item
        item.kind = "layer"
        return item

    def parse_node_keys(self, item: Item, raw: dict[str, Any], ctx: Ctx) -> bool:
        """name, inputs, repeat, init, share. False when one of them is unusable."""
        from .node_keys import parse_node_keys

        problems = parse_node_keys(item, raw)
        for exc in problems:
            self.report(exc, ctx)
        return not problems
