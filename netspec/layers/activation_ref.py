"""The ``activation:`` option of linear and convolution layers: an activation layer by name
(``relu``) or with parameters (``{leaky_relu: {negative_slope: 0.2}}``)."""

from difflib import get_close_matches
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationError
from pydantic_core import PydanticCustomError, core_schema

from .base import Layer
from .registry import activation_tags, get_layer


def parse_activation(value: Any) -> Layer:
    if isinstance(value, Layer):
        return value
    if isinstance(value, str):
        tag: Any = value
        params: Any = {}
    elif isinstance(value, dict) and len(value) == 1:
        tag, params = next(iter(value.items()))
        params = {} if params is None else params
    else:
        raise PydanticCustomError(
            "activation_form", "expected an activation name such as relu, or {{leaky_relu: {{negative_slope: 0.2}}}}"
        )
    cls = get_layer(tag) if isinstance(tag, str) else None
    if cls is None or cls.family != "activation":
        close = get_close_matches(str(tag), activation_tags(), n=1)
        suggest = f"; did you mean {close[0]!r}?" if close else ""
        raise PydanticCustomError("unknown_activation", "unknown activation {tag}{suggest}",
                                  {"tag": repr(tag), "suggest": suggest})
    if not isinstance(params, dict):
        raise PydanticCustomError("activation_params", "parameters of {tag} must be a mapping", {"tag": tag})
    try:
        return cls.model_validate(params)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise PydanticCustomError("activation_params", "{tag}.{where}: {msg}",
                                  {"tag": tag, "where": where, "msg": err["msg"]}) from None


def dump_activation(layer: Layer) -> Any:
    params = layer.model_dump(mode="json", exclude_defaults=True)
    return {layer.tag: params} if params else layer.tag


class _ActivationSchema:
    """How pydantic validates, serializes and documents the ``activation:`` option."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            parse_activation, serialization=core_schema.plain_serializer_function_ser_schema(dump_activation)
        )

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        tags = activation_tags()
        return {
            "description": "An activation applied to the layer's output: a name, or {name: {params}}.",
            "anyOf": [
                {"type": "string", "enum": tags},
                {"type": "object", "minProperties": 1, "maxProperties": 1,
                 "propertyNames": {"enum": tags}},
            ],
        }


#: The type of the ``activation:`` option: an activation Layer, given by name or with parameters.
ActivationRef = Annotated[Layer, _ActivationSchema()]
