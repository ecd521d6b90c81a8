"""How a config field is offered to users: one declaration beside its type and default.

A :class:`~policybench.service.config.RunConfig` field *is* a ``bench run`` option: its
type, default and ``description`` give the option's type, default and help, the
``POLICYBENCH_<OPTION>`` environment variable, the service's submission key and its
OpenAPI schema.  :class:`Option` in the field's ``Annotated`` metadata says only what
those cannot: a different flag name, a metavar, a comma-separated tuple, a field that
is not an option at all, or one that changes how a run goes rather than what it
measures (:attr:`Option.operational`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel
from pydantic.fields import FieldInfo


@dataclass(frozen=True, slots=True)
class Option:
    """Front-end facts about one config field (put it in ``Annotated[type, Option(...)]``)."""

    #: A generated ``bench run`` option (False: declared by hand, or set by the front end).
    cli: bool = True
    #: A key of a service submission (False: set by the service itself).
    api: bool = True
    #: The option's name when it is not ``--field-name``.
    flag: str | None = None
    metavar: str | None = None
    #: A tuple field given as one value split on this separator (``a,b,c``).
    separator: str | None = None
    #: Changes how a run goes, not what it measures: ``--resume`` may change it, and a
    #: matrix cell with another value still counts as done.
    operational: bool = False


_PLAIN = Option()


def option_of(field: FieldInfo) -> Option:
    """The field's :class:`Option` (the plain one when it declares none)."""
    return next((m for m in field.metadata if isinstance(m, Option)), _PLAIN)


def operational_fields(model: type[BaseModel]) -> frozenset[str]:
    """Names of the fields that change how a run goes, not what it measures."""
    return frozenset(
        name for name, field in model.model_fields.items() if option_of(field).operational
    )
