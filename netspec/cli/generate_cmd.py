"""`netspec generate SPEC --checkpoint CKPT --prompt TEXT`: continue a prompt with a trained language model."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..strict import MAX_SEED
from .common import JsonOpt, SetOpt, SpecArg, device_option, user_errors


class Strategy(str, Enum):
    greedy = "greedy"
    beam = "beam"
    sample = "sample"


SAMPLING = ("--temperature", "--top-k", "--top-p")
BEAM = ("--beam-size", "--length-penalty")


def _check_combination(strategy: Optional[Strategy], given: dict[str, object]) -> None:
    """Sampling and beam options need the matching --strategy on the command line (usage error otherwise)."""
    for names, wanted in ((SAMPLING, Strategy.sample), (BEAM, Strategy.beam)):
        for name in names:
            if given.get(name) is not None and strategy is not wanted:
                raise typer.BadParameter(f"{name} applies to --strategy {wanted.value}", param_hint=name)


def generate(
    spec: SpecArg,
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="A checkpoint file or run directory.")],
    prompt: Annotated[str, typer.Option("--prompt", help="The text to continue.")],
    max_tokens: Annotated[Optional[int], typer.Option("--max-tokens", min=1, max=1_000_000,
                                                                  help="Tokens to generate (default 200).")] = None,
    strategy: Annotated[Optional[Strategy], typer.Option("--strategy", help="greedy, beam or sample (default: the spec's).")] = None,
    beam_size: Annotated[Optional[int], typer.Option("--beam-size", min=1, max=4096, help="beam: hypotheses kept.")] = None,
    length_penalty: Annotated[Optional[float], typer.Option("--length-penalty", help="beam: divide log P by length ** A.")] = None,
    temperature: Annotated[Optional[float], typer.Option("--temperature", min=0.0, help="sample: divide logits by T (0: greedy).")] = None,
    top_k: Annotated[Optional[int], typer.Option("--top-k", min=1, help="sample: keep the K most probable tokens.")] = None,
    top_p: Annotated[Optional[float], typer.Option("--top-p", min=0.0, max=1.0,
                                                   help="sample: keep the smallest set of tokens with probability ≥ P.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, max=MAX_SEED, help="sample: seed of the draws.")] = None,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:N or mps.",
                                                        callback=device_option)] = "cpu",
    set_: SetOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Generate text with a trained language model: greedy, beam search or sampling."""
    from ..generate.text import generate_text

    if not prompt:
        raise typer.BadParameter("give at least one character", param_hint="--prompt")
    if top_p == 0:
        raise typer.BadParameter("0 keeps no token; give 0 < P ≤ 1", param_hint="--top-p")
    _check_combination(strategy, {"--temperature": temperature, "--top-k": top_k, "--top-p": top_p,
                                  "--beam-size": beam_size, "--length-penalty": length_penalty})
    options = {"strategy": strategy.value if strategy else None, "max_tokens": max_tokens, "beam_size": beam_size,
               "length_penalty": length_penalty, "temperature": temperature, "top_k": top_k, "top_p": top_p, "seed": seed}
    with user_errors(str(spec)):
        result = generate_text(spec, checkpoint, prompt, set_ or [], device=device, **options)
    if json_:
        typer.echo(json.dumps(result))
    else:
        typer.echo(f"weights from {result['checkpoint']}", err=True)
        if result["unknown_tokens"]:
            shown = ", ".join(map(repr, result["unknown_tokens"][:8]))
            typer.echo(f"note: the prompt's {shown} {'is' if len(result['unknown_tokens']) == 1 else 'are'} not in the "
                       "vocabulary and read as <unk>", err=True)
        typer.echo(result["text"])
