"""``bench run``'s options, generated from :class:`RunConfig`'s fields (one declaration).

Each field with ``Option(cli=True)`` (the default) becomes ``--field-name``: its type
from the annotation (``bool`` a ``--x/--no-x`` flag, a ``Literal`` a choice, a tuple a
repeatable option or one ``a,b,c`` value), its default and help from the field, and its
``POLICYBENCH_FIELD_NAME`` environment variable.  click only converts types; every
constraint is pydantic's, checked once when the values become a :class:`RunConfig`, so a
bad value exits 2 naming the option however it was given.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable
from typing import Any, Literal

import click
from policybench.service.option_meta import Option, option_of
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .options import option

F = Callable[..., Any]


def _args(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation)


def _without_none(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in _args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007
    return annotation


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = _args(annotation)[0]
    return annotation


def flag_of(name: str, field: FieldInfo) -> str:
    """The option's long name: ``--field-name`` unless the field says otherwise."""
    return option_of(field).flag or "--" + name.replace("_", "-")


def _click_kwargs(name: str, field: FieldInfo, meta: Option) -> tuple[list[str], dict[str, Any]]:
    annotation = _strip_annotated(_without_none(_strip_annotated(field.annotation)))
    flag = flag_of(name, field)
    default = None if field.default is PydanticUndefined else field.default
    kwargs: dict[str, Any] = {"default": default, "help": field.description or ""}
    if meta.metavar:
        kwargs["metavar"] = meta.metavar
    if annotation is bool:
        return [f"{flag}/--no-{flag[2:]}", name], kwargs
    origin = typing.get_origin(annotation)
    if origin is Literal:
        kwargs["type"] = click.Choice([str(a) for a in _args(annotation)])
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        kwargs["type"] = click.Choice([str(m.value) for m in annotation])
        kwargs["default"] = None if default is None else str(default.value)
    elif origin is tuple:
        if meta.separator:
            kwargs["default"] = meta.separator.join(default or ())
        else:
            kwargs["multiple"] = True
    elif annotation in (int, float, str):
        kwargs["type"] = annotation
    else:  # anything else (e.g. int | 'auto') is read as text; pydantic converts and checks it
        kwargs["type"] = str
        kwargs["default"] = None if default is None else str(default)
    if default not in (None, "", ()):
        kwargs["show_default"] = True
    return [flag, name], kwargs


def config_options(model: type[BaseModel]) -> Callable[[F], F]:
    """A decorator adding one click option per CLI field of ``model``, in field order."""
    decorators = []
    for name, field in model.model_fields.items():
        meta = option_of(field)
        if not meta.cli:
            continue
        decls, kwargs = _click_kwargs(name, field, meta)
        decorators.append(option(*decls, **kwargs))

    def apply(f: F) -> F:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


def config_values(model: type[BaseModel], opts: dict[str, Any]) -> dict[str, Any]:
    """The values of ``model``'s CLI fields in ``opts``, as its validator expects them."""
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        meta = option_of(field)
        if not meta.cli or name not in opts:
            continue
        value = opts[name]
        if meta.separator and isinstance(value, str):
            value = tuple(v.strip() for v in value.split(meta.separator) if v.strip())
        values[name] = value
    return values


def given_on_command_line(ctx: click.Context, name: str) -> bool:
    """Whether the user set ``name`` (flag or environment variable), not its default."""
    source = ctx.get_parameter_source(name)
    return source not in (None, click.core.ParameterSource.DEFAULT)
