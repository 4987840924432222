"""Edit one YAML mapping file line by line, leaving every untouched byte as it was.

The node marks of the composed document tell which lines hold each top-level field
(its key line through the end of its value). An edit replaces, inserts or deletes exactly
those lines; new values are written the way PyYAML's emitter writes them (the style of
the registry files), with the file's own line endings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from registry_core.errors import EditError
from registry_core.model import FIELD_ORDER
from registry_core.yamlread import YamlProblem, compose

# The line breaks YAML (and so the node marks) count.
_LINE_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, each with its own line break (the last may have none)."""
    lines = []
    start = 0
    for match in _LINE_BREAK.finditer(text):
        lines.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


def render_field(name: str, value: Any, newline: str = "\n") -> list[str]:
    """``name: value`` as PyYAML's emitter writes it (block style, long text folded)."""
    text = yaml.safe_dump(
        {name: value}, default_flow_style=False, sort_keys=False, allow_unicode=True
    )
    return [line.replace("\n", newline) for line in split_lines(text)]


def check_field_name(name: str) -> str:
    if not FIELD_NAME.match(name):
        raise EditError(f"{name!r} is not a field name (letters, digits and _ only)")
    return name


@dataclass(frozen=True)
class FieldSpan:
    """Lines ``first``..``last`` (0-based, inclusive) hold the field; the key's columns."""

    first: int
    last: int
    key_start: int
    key_end: int


def _end_mark_line(node: Node) -> int:
    """The last line holding ``node``'s text (not the comments or blanks that follow)."""
    if isinstance(node, SequenceNode | MappingNode) and not node.flow_style and node.value:
        last = node.value[-1]
        return _end_mark_line(last[1] if isinstance(node, MappingNode) else last)
    mark = node.end_mark
    return mark.line if mark.column > 0 else mark.line - 1


class Document:
    """The lines of one file whose top level is a block mapping with keys at column 1."""

    def __init__(self, text: str, name: str = "<text>") -> None:
        self.name = name
        self.lines = split_lines(text)
        first = self.lines[0] if self.lines else "\n"
        self.newline = first[len(first.rstrip("\r\n\x85\u2028\u2029")) :] or "\n"
        self.spans = self._spans(text)

    def text(self) -> str:
        return "".join(self.lines)

    def _fail(self, line: int, message: str) -> EditError:
        return EditError(f"{self.name}:{line}: cannot edit: {message}")

    def _spans(self, text: str) -> dict[str, FieldSpan]:
        try:
            loader, root = compose(text)
        except YamlProblem as exc:
            raise self._fail(exc.line, exc.message) from None
        loader.dispose()
        try:
            return self._field_spans(root)
        except RecursionError:
            raise self._fail(1, "a value is nested too deeply") from None

    def _field_spans(self, root: Node | None) -> dict[str, FieldSpan]:
        if root is None:
            return {}
        if not isinstance(root, MappingNode) or root.flow_style:
            raise self._fail(1, "the file is not a block mapping of fields")
        spans: dict[str, FieldSpan] = {}
        for key_node, value_node in root.value:
            start, end = key_node.start_mark, key_node.end_mark
            if not isinstance(key_node, ScalarNode) or start.column != 0 or start.line != end.line:
                raise self._fail(start.line + 1, "every field must start a line at column 1")
            name = str(key_node.value)
            if name in spans:
                raise self._fail(start.line + 1, f"duplicate field {name!r}")
            last = max(_end_mark_line(value_node), start.line)
            if isinstance(value_node, ScalarNode) and value_node.style in ("|", ">"):
                header = self.lines[value_node.start_mark.line]
                if "+" not in header[value_node.start_mark.column :]:
                    # Blank lines after a clipped or stripped block scalar are not its text.
                    while last > start.line and not self.lines[last].strip():
                        last -= 1
            spans[name] = FieldSpan(start.line, last, start.column, end.column)
        return spans

    def _replace(self, first: int, last: int, new: list[str]) -> None:
        if new and last + 1 >= len(self.lines) and not self.lines[-1].endswith(("\n", "\r")):
            # The field ended the file without a final line break: keep it that way.
            new = [*new[:-1], new[-1].rstrip("\r\n")]
        self.lines[first : last + 1] = new
        self.spans = self._spans(self.text())

    def _insert_at(self, name: str) -> int:
        """The line before which a new field goes: its place in the format's field order."""
        if not self.spans:
            return len(self.lines)
        if name in FIELD_ORDER:
            position = FIELD_ORDER.index(name)
            before = [self.spans[f].last for f in FIELD_ORDER[:position] if f in self.spans]
            if before:
                return max(before) + 1
            after = [self.spans[f].first for f in FIELD_ORDER[position + 1 :] if f in self.spans]
            if after:
                return min(after)
        return max(span.last for span in self.spans.values()) + 1

    def set(self, name: str, value: Any) -> None:
        """Give ``name`` the ``value``: its lines are replaced, or new lines are inserted."""
        check_field_name(name)
        new = render_field(name, value, self.newline)
        span = self.spans.get(name)
        if span is not None:
            self._replace(span.first, span.last, new)
            return
        at = self._insert_at(name)
        if at > 0 and not self.lines[at - 1].endswith(("\n", "\r", "\x85", "\u2028", "\u2029")):
            self.lines[at - 1] += self.newline
        self.lines[at:at] = new
        self.spans = self._spans(self.text())

    def remove(self, name: str) -> None:
        span = self.spans.get(name)
        if span is None:
            return
        del self.lines[span.first : span.last + 1]
        self.spans = self._spans(self.text())

    def rename(self, old: str, new: str) -> None:
        """Change the key ``old`` to ``new`` on its line; the value's lines stay as they are."""
        check_field_name(new)
        span = self.spans.get(old)
        if span is None:
            return
        if new in self.spans:
            raise self._fail(self.spans[new].first + 1, f"field {new!r} already exists")
        line = self.lines[span.first]
        self.lines[span.first] = line[: span.key_start] + new + line[span.key_end :]
        self.spans = self._spans(self.text())
        if new not in self.spans:  # pragma: no cover - the key text was not the plain name
            raise self._fail(span.first + 1, f"could not rename {old!r}")
