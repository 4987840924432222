"""Parse one YAML document into plain data plus the position of every top-level field.

libyaml (``yaml.CSafeLoader``) composes the node tree when PyYAML was built with it; plain
scalars, lists and maps are then turned into Python values here, which is several times
cheaper than PyYAML's generic constructor and gives the same values. Anything else
(timestamps, merge keys, binary, sets...) goes through PyYAML's safe constructor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from registry_core.limits import MAX_YAML_DEPTH, MAX_YAML_VALUES

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml: the same results, slower
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"


_SAFE_RESOLVER = yaml.resolver.Resolver()
_safe_resolve: Callable[[type[Node], str, tuple[bool, bool]], str] = _SAFE_RESOLVER.resolve


@functools.lru_cache(maxsize=4096)
def plain_scalar_tag(value: str) -> str:
    """The tag YAML's safe schema gives an untagged plain scalar (memoised: values repeat)."""
    return _safe_resolve(ScalarNode, value, (True, False))


class Loader(_BaseLoader):
    """The safe loader (libyaml when present) with a cheaper, equivalent tag resolution.

    The safe schema has no path resolvers, so a scalar's tag depends on its text only
    (plain) or is str (quoted), and collections get the default tags.
    """

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            return plain_scalar_tag(value) if implicit[0] else _STR
        return _SEQ if kind is SequenceNode else _MAP


class YamlProblem(Exception):
    """The text is not a usable YAML document; ``line``/``column`` are 1-based."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


class Position(NamedTuple):
    """Where a field sits: 1-based line and column of its key and of its value."""

    key_line: int
    key_column: int
    value_line: int
    value_column: int


@dataclass
class ParsedDocument:
    """A document's value; for a top-level mapping, positions of its keys and values."""

    data: Any
    positions: dict[str, Position] = field(default_factory=dict)
    value_nodes: dict[str, Node] = field(default_factory=dict)
    duplicates: list[tuple[str, Position, int]] = field(default_factory=list)
    bad_keys: list[tuple[str, Position]] = field(default_factory=list)


class _Fallback(Exception):
    """A node the quick constructor leaves to PyYAML's safe constructor."""


def decode(raw: bytes) -> str:
    """UTF-8 text (a BOM is kept as the document's first character) or a YamlProblem."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        bad = raw[exc.start : exc.start + 1].hex()
        raise YamlProblem(line, column, f"not valid UTF-8 (byte 0x{bad})") from None


def _construct(loader: Loader, node: Node) -> Any:
    tag = node.tag
    if isinstance(node, ScalarNode):
        return _scalar(loader, node, tag)
    if isinstance(node, SequenceNode) and tag == _SEQ:
        return [_construct(loader, item) for item in node.value]
    if isinstance(node, MappingNode) and tag == _MAP:
        return _mapping(loader, node)
    raise _Fallback


def _scalar(loader: Loader, node: ScalarNode, tag: str) -> Any:
    if tag == _STR:
        return node.value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return loader.bool_values[node.value.lower()]
    if tag == _INT:
        text = node.value
        # Plain decimal without a leading zero (YAML 1.1 reads 0755 as octal).
        if text.isascii() and text.isdigit() and (text[0] != "0" or text == "0"):
            return int(text)
        return loader.construct_yaml_int(node)
    if tag == _FLOAT:
        return loader.construct_yaml_float(node)
    raise _Fallback


def _mapping(loader: Loader, node: MappingNode) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            raise _Fallback
        key = _construct(loader, key_node)
        if isinstance(key, list | dict):
            raise _Fallback  # unhashable: let PyYAML report it with its position
        result[key] = _construct(loader, value_node)
    return result


def _problem_from(exc: yaml.YAMLError, text: str = "") -> YamlProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    position = getattr(exc, "position", None)
    if mark is None and isinstance(position, int) and text:  # a reader error
        before = text[:position]
        line = before.count("\n") + 1
        column = position - (before.rfind("\n") + 1) + 1
        message = f"invalid YAML: {str(exc).splitlines()[0]}"
        return YamlProblem(line, column, message)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    message = f"{context}: {problem}" if context and "while" not in context else problem
    if mark is not None:
        return YamlProblem(mark.line + 1, mark.column + 1, f"invalid YAML: {message}")
    return YamlProblem(1, 1, f"invalid YAML: {message}")


def _where(event: yaml.Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


_OPENING_EVENTS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSING_EVENTS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _screen(text: str, max_values: int) -> None:
    """Refuse aliases, over-large and over-nested documents from the event stream, before
    any node is built: an alias bomb (a few lines naming each other) expands to billions
    of values, and the composer would overflow the C stack on deep nesting."""
    loader = Loader(text)
    values = depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                message = f"YAML aliases (*{event.anchor}) are not allowed in registry files"
                raise YamlProblem(*_where(event), message)
            if isinstance(event, _CLOSING_EVENTS):
                depth -= 1
                continue
            if isinstance(event, _OPENING_EVENTS):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    message = f"lists and mappings nested more than {MAX_YAML_DEPTH} levels deep"
                    raise YamlProblem(*_where(event), message)
            elif not isinstance(event, yaml.ScalarEvent):
                continue
            values += 1
            if values > max_values:
                raise YamlProblem(*_where(event), f"more than {max_values} values in one file")
    except yaml.YAMLError as exc:
        raise _problem_from(exc, text) from None
    except (RecursionError, ValueError) as exc:  # absurdly nested or odd input
        raise YamlProblem(1, 1, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def compose(text: str, max_values: int = MAX_YAML_VALUES) -> tuple[Loader, Node | None]:
    """The node tree of the single document in ``text`` (the loader is kept for values).

    YAML aliases are refused, and so is a document of more than ``max_values`` values.
    """
    _screen(text, max_values)
    loader = Loader(text)
    try:
        return loader, loader.get_single_node()
    except yaml.YAMLError as exc:
        loader.dispose()
        raise _problem_from(exc, text) from None
    except (RecursionError, ValueError) as exc:  # absurdly nested or odd input
        loader.dispose()
        raise YamlProblem(1, 1, f"invalid YAML: {exc}") from None


def value_of(loader: Loader, node: Node) -> Any:
    """The Python value of ``node``, as ``yaml.safe_load`` would give it."""
    try:
        return _construct(loader, node)
    except _Fallback:
        pass
    except (ValueError, OverflowError):  # e.g. an int literal too long to convert
        pass
    except RecursionError:
        mark = node.start_mark
        raise YamlProblem(mark.line + 1, mark.column + 1, "value nested too deeply") from None
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _problem_from(exc) from None
    except (RecursionError, ValueError, OverflowError, TypeError) as exc:
        mark = node.start_mark
        raise YamlProblem(mark.line + 1, mark.column + 1, f"invalid YAML value: {exc}") from None


def parse(text: str) -> ParsedDocument:
    """Parse ``text``; for a top-level mapping, record where each string key sits."""
    loader, root = compose(text)
    try:
        if root is None:
            return ParsedDocument(None)
        if not isinstance(root, MappingNode) or root.tag != _MAP:
            return ParsedDocument(value_of(loader, root))
        doc = ParsedDocument({})
        seen: dict[str, int] = {}
        for key_node, value_node in root.value:
            position = Position(
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
                value_node.start_mark.line + 1,
                value_node.start_mark.column + 1,
            )
            key = value_of(loader, key_node)
            if not isinstance(key, str):
                doc.bad_keys.append((repr(key)[:60], position))
                continue
            if key in seen:
                doc.duplicates.append((key, position, seen[key]))
                continue
            seen[key] = position.key_line
            doc.data[key] = value_of(loader, value_node)
            doc.positions[key] = position
            doc.value_nodes[key] = value_node
        return doc
    finally:
        loader.dispose()
