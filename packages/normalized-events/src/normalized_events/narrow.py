"""Reading an event log narrowly: the lines of chosen types, told apart without decoding
them, and models that validate only the fields a reader needs.

A run of 5,000 packages writes some 35,000 lines; a report may need one type of them, and
of that type a handful of fields. Nothing here relies on the order in which a writer puts
an event's keys, nor on its spacing: a line's type is read at its ``"type"`` key wherever
that key is, and a line this cannot tell without decoding is decoded.
"""

from __future__ import annotations

import contextlib
import copy
import re
import typing
from collections.abc import Collection, Iterable
from types import UnionType
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from normalized_events.models import EVENT_TYPES

_Model = TypeVar("_Model", bound=BaseModel)
_KEY = b'"type"'
# The type names as bytes, to skip decoding the usual ones.
_NAMES = {name.encode(): name for name in EVENT_TYPES}
_VALUE = re.compile(rb'\s*:\s*"([^"\\]*)"')


class _TypeOnly(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str


def line_type(raw: bytes) -> str | None:
    """The type of the event on one line; None when it has none (not a JSON object, no
    string ``"type"`` at its top level).

    Inside a JSON string a quote is escaped, so a line's only ``"type"`` token is a key;
    every event has one at its top level, so a line with exactly one is read there
    without decoding. Any other line (a nested object with a "type" key, a string that
    ends in ``"type``, an escaped value) is decoded to be sure.
    """
    at = raw.find(_KEY)
    if at < 0:
        return None
    after = at + len(_KEY)
    if raw.find(_KEY, after) < 0:
        if raw.startswith(b':"', after):  # how writers put it: no spaces, no escapes
            name = _NAMES.get(raw[after + 2 : raw.find(b'"', after + 2)])
            if name is not None:
                return name
        found = _VALUE.match(raw, after)
        if found is not None:
            with contextlib.suppress(UnicodeDecodeError):
                return found.group(1).decode()
    try:
        return _TypeOnly.model_validate_json(raw).type
    except ValidationError:
        return None


class LogLines(NamedTuple):
    """A log's lines (line n is ``lines[n - 1]``) and its torn last line, if any."""

    lines: list[bytes]
    torn: bytes | None


def log_lines(data: bytes) -> LogLines:
    """Split a log's bytes into lines. A last line without its newline is torn (its writer
    was stopped mid-write): it is set apart, never one of the lines, even when it parses."""
    lines = data.split(b"\n")
    lines.pop()  # what follows the last newline: the torn line, or nothing
    return LogLines(lines, torn_line(data))


def torn_line(data: bytes) -> bytes | None:
    """A log's torn last line (the bytes after its last newline), or None."""
    return data[data.rfind(b"\n") + 1 :] or None


def lines_of(
    data: bytes, types: Collection[str], *, numbered: bool = True
) -> list[tuple[int, bytes]]:
    """The complete lines of a log whose events are of one of ``types``, with their line
    numbers (0 without ``numbered``: counting them reads the whole log once more), in
    order. Only the lines that mention a type's name are looked at (found by searching
    the bytes, not by walking every line): fast for the few types of a log."""
    found: dict[int, bytes] = {}
    for kind in types:
        word = b'"' + kind.encode() + b'"'
        at = data.find(word)
        while at >= 0:
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            if end < 0:
                break  # a torn last line is not an event
            if start not in found and _is_of(data, start, at, end, kind):
                found[start] = data[start:end]
            at = data.find(word, end)
    if not numbered:
        return [(0, found[start]) for start in sorted(found)]
    return _numbered(data, found)


def _is_of(data: bytes, start: int, at: int, end: int, kind: str) -> bool:
    """Whether the line from ``start`` to ``end`` is an event of ``kind``, whose name is
    at ``at``: read in place when that name is the value of the line's only "type" key
    (as writers put it), else by ``line_type``."""
    key = at - len(_KEY) - 1
    if (
        data.startswith(b'"type":', key)
        and data.find(_KEY, start, key) < 0
        and data.find(_KEY, at, end) < 0
    ):
        return True
    return line_type(data[start:end]) == kind


def _numbered(data: bytes, found: dict[int, bytes]) -> list[tuple[int, bytes]]:
    """Lines by their start offset, as (line number, line) in order."""
    numbered = []
    line, counted = 1, 0
    for start in sorted(found):
        line += data.count(b"\n", counted, start)
        counted = start
        numbered.append((line, found[start]))
    return numbered


def narrow_model(model: type[BaseModel], fields: Iterable[str]) -> type[BaseModel]:
    """A model that validates only ``fields`` of ``model`` and ignores the rest of an
    event: a dotted name keeps some fields of a nested model (``crash.bucket``).

    The fields keep the contract's types, defaults and constraints (a field required
    there is required here), so a narrow model never accepts what the full one refuses
    in those fields; it skips field validators, which only normalise values.
    """
    wanted: dict[str, list[str]] = {}
    for name in fields:
        head, _, rest = name.partition(".")
        wanted.setdefault(head, [])
        if rest:
            wanted[head].append(rest)
    definitions: dict[str, Any] = {}
    for name, inner in wanted.items():
        info = model.model_fields.get(name)
        if info is None:
            raise ValueError(f"{model.__name__} has no field {name!r}")
        annotation = info.annotation
        if inner:
            nested = _model_in(annotation, model, name)
            annotation = _swapped(annotation, nested, narrow_model(nested, inner))
        definitions[name] = (annotation, copy.copy(info))
    return create_model(
        f"Narrow{model.__name__}",
        __config__=ConfigDict(extra="ignore", frozen=True),
        **definitions,
    )


def _model_in(annotation: Any, owner: type[BaseModel], name: str) -> type[BaseModel]:
    """The one model class an annotation holds (``CrashInfo | None``, ``list[RaceInfo]``)."""
    models = _models(annotation)
    if len(models) != 1:
        raise ValueError(f"{owner.__name__}.{name} does not hold exactly one model")
    return models.pop()


def _models(annotation: Any) -> set[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {annotation}
    return {m for arg in typing.get_args(annotation) for m in _models(arg)}


def _swapped(annotation: Any, old: type[BaseModel], new: type[BaseModel]) -> Any:
    """The annotation with ``new`` wherever it had ``old``."""
    if annotation is old:
        return new
    args = typing.get_args(annotation)
    if not args:
        return annotation
    swapped = tuple(_swapped(arg, old, new) for arg in args)
    origin = typing.get_origin(annotation)
    if origin is UnionType or origin is typing.Union:
        return typing.Union[swapped]  # noqa: UP007 (a union built from a tuple)
    return origin[swapped]


def validated(model: type[_Model], lines: Iterable[tuple[int, bytes]]) -> list[_Model]:
    """The lines that validate as ``model``; the others are left out (a reader that must
    name a line's problem reads it with ``read_line``)."""
    kept = []
    for _, raw in lines:
        try:
            kept.append(model.model_validate_json(raw))
        except ValidationError:
            continue
    return kept


__all__ = [
    "LogLines",
    "line_type",
    "lines_of",
    "log_lines",
    "narrow_model",
    "torn_line",
    "validated",
]
