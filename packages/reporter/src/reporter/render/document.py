"""A report as a small tree of blocks that every human-facing format can render.

Views (summary, compare, history, merge) are turned into a :class:`Document` once; the
text, Markdown and HTML renderers each know how to draw the handful of block types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

CellValue = str | int | float | None


class Kind(StrEnum):
    """How a column's values are shown (and sorted)."""

    TEXT = "text"
    NUMBER = "number"
    SECONDS = "seconds"
    RATIO = "ratio"
    TONE = "tone"  # an outcome or category name, coloured by its own value
    CODE = "code"


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[CellValue, ...]]
    empty: str = "none"
    limit: int | None = 50
    """Rows shown in text and Markdown (HTML shows every row); None shows all."""
    filterable: bool = False


@dataclass(frozen=True)
class Bars:
    """Counts as horizontal bars, each coloured by its tone (an outcome or category)."""

    title: str
    items: list[tuple[str, int]]


@dataclass(frozen=True)
class Histogram:
    title: str
    bins: list[tuple[str, int]]
    unit: str = "packages"


@dataclass(frozen=True)
class Facts:
    items: list[tuple[str, str]]


@dataclass(frozen=True)
class Note:
    text: str
    warn: bool = False


@dataclass(frozen=True)
class Attachment:
    """A file of the run shown inline where the format allows (stderr, a reproducer)."""

    title: str
    path: str | None
    text: str | None = None
    open: bool = False


@dataclass(frozen=True)
class Card:
    """One item told in full: a crash bucket with its facts and files."""

    title: str
    tone: str
    subtitle: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


Block = Table | Bars | Histogram | Facts | Note | Card


@dataclass(frozen=True)
class Section:
    title: str
    blocks: list[Block]
    anchor: str = ""


@dataclass(frozen=True)
class Document:
    title: str
    sections: list[Section]
    subtitle: str = ""


def seconds(value: float | None) -> str:
    """A duration for people: ``0.42 s``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f} s"
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def cell_text(value: CellValue, kind: Kind) -> str:
    if value is None:
        return "-"
    if kind == Kind.SECONDS and isinstance(value, int | float):
        return seconds(float(value))
    if kind == Kind.RATIO and isinstance(value, int | float):
        return f"x{value:.2f}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
