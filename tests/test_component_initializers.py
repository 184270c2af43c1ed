"""Registry-wide: every registered initializer, built from its EXAMPLE, fills a tensor exactly as
the direct torch construction does from the same seed. A new initializer without a reference case
here fails ``test_every_initializer_has_a_reference``."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.init as I
from pydantic import TypeAdapter, ValidationError

from netspec.init import apply
from netspec.initializers import INITIALIZERS
from netspec.registry import UnknownComponent
from netspec.source import load_text
from netspec.spec.initializers import Initializer

SHAPE = (16, 8, 3, 3)  # fan_in 72, fan_out 144
FAN_IN = 8 * 3 * 3

#: tag -> the direct torch construction of its EXAMPLE (fills the tensor in place)
REFERENCE = {
    "zeros": lambda t: I.zeros_(t),
    "ones": lambda t: I.ones_(t),
    "constant": lambda t: I.constant_(t, 0.1),
    "normal": lambda t: I.normal_(t, 0.0, 0.02),
    "uniform": lambda t: I.uniform_(t, -0.1, 0.1),
    "truncated_normal": lambda t: I.trunc_normal_(t, 0.0, 0.02, -0.04, 0.04),
    "xavier_uniform": lambda t: I.xavier_uniform_(t, I.calculate_gain("tanh")),
    "xavier_normal": lambda t: I.xavier_normal_(t, I.calculate_gain("tanh")),
    "kaiming_uniform": lambda t: I.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
    "kaiming_normal": lambda t: I.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
    "lecun_normal": lambda t: I.normal_(t, 0.0, 1 / math.sqrt(FAN_IN)),
    "lecun_uniform": lambda t: I.uniform_(t, -math.sqrt(3 / FAN_IN), math.sqrt(3 / FAN_IN)),
    "orthogonal": lambda t: I.orthogonal_(t, 1.0),
    "sparse": lambda t: I.sparse_(t, 0.9, 0.01),
}
#: tag -> the tensor shape its case fills, where SHAPE does not suit it
SHAPES = {"sparse": (16, 72)}  # sparse_ fills 2-D weights only
TAGS = INITIALIZERS.tags()
ADAPTER = TypeAdapter(Initializer)


def from_example(tag: str):
    data, _ = load_text(INITIALIZERS.get(tag).EXAMPLE)
    return ADAPTER.validate_python(data)


def test_every_initializer_has_a_reference():
    assert set(REFERENCE) == set(TAGS)


@pytest.mark.parametrize("tag", TAGS)
def test_example_matches_torch(tag):
    init = from_example(tag)
    assert init.type == tag and type(init) is INITIALIZERS.get(tag)
    shape = SHAPES.get(tag, SHAPE)
    got, want = torch.full(shape, 7.0), torch.full(shape, 7.0)
    torch.manual_seed(1234)
    apply(init, got)
    torch.manual_seed(1234)
    with torch.no_grad():
        REFERENCE[tag](want)
    assert torch.equal(got, want)
    assert not torch.equal(got, torch.full(shape, 7.0))  # something was written


@pytest.mark.parametrize("tag", TAGS)
def test_bare_name_is_the_defaults(tag):
    cls = INITIALIZERS.get(tag)
    required = [n for n, f in cls.model_fields.items() if f.is_required() and n != "type"]
    if required:
        with pytest.raises(ValidationError):
            ADAPTER.validate_python(tag)
    else:
        assert ADAPTER.validate_python(tag) == cls(type=tag)


def test_apply_needs_no_grad_and_keeps_the_parameter_a_leaf():
    p = torch.nn.Parameter(torch.empty(4, 3))
    apply(from_example("kaiming_normal"), p)
    assert p.is_leaf and p.grad_fn is None


def test_sparse_zeroes_its_share_of_each_column():
    w = torch.empty(20, 6)
    apply(from_example("sparse"), w)
    assert ((w == 0).sum(0) == math.ceil(0.9 * 20)).all()


def test_unknown_tag_raises():
    with pytest.raises(UnknownComponent, match="did you mean 'kaiming_normal'"):
        INITIALIZERS.get("kaiming_normall")
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"type": "no_such_init"})
