"""A reader for the YAML that PyYAML's emitter writes, and nothing else.

Registry files are written by ``yaml.dump``: block mappings and indentless sequences,
plain or quoted one-line scalars, long plain scalars folded over indented lines. This
reader understands exactly that, several times faster than composing a node tree, and
*declines* (raises ``Declined``) on anything it is not sure about: comments, blank
lines, tabs, CR line breaks, anchors, tags, block scalars, flow collections other than
``[]``/``{}``, multi-line quoted scalars, escapes, duplicate keys, non-printable
characters. Declined text goes to libyaml. Scalars are resolved with YAML's own
implicit resolver, so an accepted document gives what ``yaml.safe_load`` gives; the
tests hold it to that on generated and mutated documents.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import ScalarNode

from registry_core.limits import MAX_YAML_VALUES
from registry_core.yamlread import (
    _BOOL,
    _FLOAT,
    _INT,
    _NULL,
    _STR,
    Position,
    plain_scalar_tag,
)


class Declined(Exception):
    """The text is outside the subset: read it with the full YAML parser instead."""


# What PyYAML's reader accepts (minus tab and CR, which are declined up front).
# NEL, LS and PS (line breaks to YAML) and the BOM are declined too.
_UNUSUAL = re.compile(
    "[^\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_BLANK_OR_COMMENT = re.compile(r"^ *(?:#|$)", re.MULTILINE)
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


@dataclass
class QuickDocument:
    data: Any
    positions: dict[str, Position] = field(default_factory=dict)
    item_lines: dict[str, list[int]] = field(default_factory=dict)


def _plain(text: str) -> Any:
    """A plain scalar's value, resolved as the safe schema does."""
    tag = plain_scalar_tag(text)
    if tag == _STR:
        return text
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return _CONSTRUCTOR.bool_values[text.lower()]
    if tag == _INT:
        if text.isascii() and text.isdigit() and (text[0] != "0" or text == "0"):
            return int(text)
        return _CONSTRUCTOR.construct_yaml_int(ScalarNode(tag, text))
    if tag == _FLOAT:
        return _CONSTRUCTOR.construct_yaml_float(ScalarNode(tag, text))
    raise Declined  # timestamps and other tags


def _check_plain_part(text: str) -> None:
    if ": " in text or " #" in text or text.endswith(":") or text.startswith("#"):
        raise Declined


@functools.lru_cache(maxsize=1024)
def _plain_key(text: str) -> Any:
    """A plain mapping key's value (keys repeat across files: memoised)."""
    if not text or text[0] in _INDICATORS or text != text.strip(" "):
        raise Declined
    _check_plain_part(text)
    key = _plain(text)
    if isinstance(key, float) and math.isnan(key):  # NaN keys never compare equal
        raise Declined
    return key


def _quoted_end(text: str) -> int:
    """Index just past the quoted scalar that opens ``text`` (one line, no escapes)."""
    quote = text[0]
    index = 1
    while True:
        found = text.find(quote, index)
        if found < 0:
            raise Declined
        if quote == "'" and text[found + 1 : found + 2] == "'":
            index = found + 2
            continue
        if quote == '"' and "\\" in text[1:found]:
            raise Declined
        return found + 1


def _unquote(token: str) -> str:
    inner = token[1:-1]
    return inner.replace("''", "'") if token[0] == "'" else inner


def _split_key(body: str) -> tuple[Any, str]:
    """``key: rest`` to (key, rest after the colon)."""
    if body[0] in "'\"":
        end = _quoted_end(body)
        if body[end : end + 1] != ":":
            raise Declined
        return _unquote(body[:end]), body[end + 1 :]
    colon = body.find(": ")
    if colon < 0:
        if not body.endswith(":"):
            raise Declined
        colon = len(body) - 1
    return _plain_key(body[:colon]), body[colon + 1 :]


def _is_entry(body: str) -> bool:
    """Whether a sequence item's text starts a mapping (``- key: value``)."""
    if body[0] in "'\"":
        end = _quoted_end(body)
        return body[end : end + 1] == ":"
    return ": " in body or body.endswith(":")


class _Reader:
    def __init__(self, text: str) -> None:
        if (
            not text.endswith("\n")
            or text.count("\n") > MAX_YAML_VALUES
            or _UNUSUAL.search(text)
            or _BLANK_OR_COMMENT.search(text, 0, len(text) - 1)
        ):
            raise Declined
        self.lines = text.split("\n")
        self.lines.pop()
        self.indents = [len(line) - len(line.lstrip(" ")) for line in self.lines]
        self.i = 0
        self.n = len(self.lines)
        self.positions: dict[str, Position] = {}
        self.item_lines: dict[str, list[int]] = {}

    def inline(self, text: str, parent: int) -> Any:
        """A value that starts on the current line (already consumed) at ``text``."""
        if not text:
            raise Declined
        first = text[0]
        if first in {"'", '"'}:
            if _quoted_end(text) != len(text):
                raise Declined
            value: Any = _unquote(text)
        elif text == "[]":
            value = []
        elif text == "{}":
            value = {}
        elif first in _INDICATORS and not (first == "-" and text[1:2] not in ("", " ")):
            raise Declined  # but a plain scalar may start with "-" and a non-space: -1, -p
        elif first == " ":
            raise Declined
        else:
            text = text.rstrip(" ")
            _check_plain_part(text)
            if self.i < self.n and self.indents[self.i] > parent:
                text = self.folded(text, parent)
            return _plain(text)
        if self.i < self.n and self.indents[self.i] > parent:
            raise Declined  # more lines belong to a quoted or flow value
        return value

    def folded(self, text: str, parent: int) -> str:
        """A plain scalar's text with the lines indented below its parent joined on."""
        parts = [text]
        while self.i < self.n and self.indents[self.i] > parent:
            part = self.lines[self.i].strip(" ")
            _check_plain_part(part)
            if part[0] in "-?:":
                raise Declined
            parts.append(part)
            self.i += 1
        return " ".join(parts)

    def below(self, indent: int, key: str | None) -> Any:
        """The value after ``key:`` and nothing: a block below, or null."""
        if self.i < self.n:
            found = self.indents[self.i]
            if found == indent and self.lines[self.i].startswith("- ", found):
                return self.sequence(indent, key)
            if found > indent:
                return self.node(found)
        return None

    def node(self, indent: int) -> Any:
        if self.lines[self.i].startswith("- ", indent):
            return self.sequence(indent, None)
        return self.mapping(indent)

    def sequence(self, indent: int, key: str | None) -> list[Any]:
        items: list[Any] = []
        lines = self.item_lines.setdefault(key, []) if key is not None and indent == 0 else None
        while self.i < self.n:
            found = self.indents[self.i]
            line = self.lines[self.i]
            if found != indent or not line.startswith("- ", indent):
                if found > indent:
                    raise Declined
                break
            body = line[indent + 2 :]
            if lines is not None:
                lines.append(self.i + 1)
            self.i += 1
            if not body or body[0] == " ":
                raise Declined
            if _is_entry(body):
                items.append(self.mapping(indent + 2, first=body))
            else:
                items.append(self.inline(body, indent))
        return items

    def mapping(self, indent: int, first: str | None = None) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        top = indent == 0
        if first is not None:  # a sequence item's first key, on the dash's line
            self.entry(result, first, indent, self.i - 1, indent + len(first), top)
        while self.i < self.n:
            found = self.indents[self.i]
            if found < indent:
                break
            line = self.lines[self.i]
            if found > indent or line[found] == "-":
                raise Declined
            self.i += 1
            self.entry(result, line[indent:], indent, self.i - 1, len(line), top)
        return result

    def entry(
        self, result: dict[Any, Any], body: str, indent: int, row: int, width: int, top: bool
    ) -> None:
        """One ``key: value`` of a mapping, with its value read and, at the top level, the
        key's and value's positions recorded."""
        key, rest = _split_key(body)
        if key in result or (top and not isinstance(key, str)):
            raise Declined  # duplicates and odd field names: libyaml locates them
        after_colon = width - len(rest)  # 0-based column just past the colon
        if rest[:1] == " " and rest[1:2] != " " and len(rest) > 1:
            result[key] = self.inline(rest[1:], indent)
            if top:
                self.positions[key] = Position(row + 1, 1, row + 1, after_colon + 2)
            return
        if rest.strip(" "):
            raise Declined
        value_line, value_column = row + 1, after_colon + 1  # a null sits there
        if self.i < self.n and self.indents[self.i] >= indent:
            value_line, value_column = self.i + 1, self.indents[self.i] + 1
        value = result[key] = self.below(indent, key if top else None)
        if value is None:
            value_line, value_column = row + 1, after_colon + 1
        if top:
            self.positions[key] = Position(row + 1, 1, value_line, value_column)


def quick_load(text: str) -> QuickDocument:
    """The document in ``text`` if it is a block mapping in the emitter's subset."""
    try:
        return _quick_load(text)
    except (RecursionError, ValueError, OverflowError):
        # absurd nesting, or an int too long to convert: the full parser says what is wrong
        raise Declined from None


def _quick_load(text: str) -> QuickDocument:
    reader = _Reader(text)
    if not reader.lines or reader.indents[0] != 0 or reader.lines[0].startswith("- "):
        raise Declined
    data = reader.mapping(0)
    if reader.i != reader.n:
        raise Declined
    return QuickDocument(data, reader.positions, reader.item_lines)
