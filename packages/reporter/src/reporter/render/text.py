"""Text: rich tables and colours on a terminal, plain aligned columns everywhere else."""

from __future__ import annotations

import io
from collections.abc import Iterable

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text

from reporter.render.document import (
    Bars,
    Block,
    Card,
    Document,
    Facts,
    Histogram,
    Kind,
    Note,
    Table,
    cell_text,
)
from reporter.render.tones import rich_style

BAR_WIDTH = 30
MAX_CELL = 90


def _bar(value: int, largest: int, width: int = BAR_WIDTH) -> str:
    if value <= 0 or largest <= 0:
        return ""
    return "#" * max(1, round(width * value / largest))


def _clip(text: str, limit: int = MAX_CELL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- plain -------------------------------------------------------------------------------


def _plain_table(table: Table) -> list[str]:
    lines = [table.title, "-" * len(table.title)]
    if not table.rows:
        return [*lines, f"  ({table.empty})"]
    shown = table.rows if table.limit is None else table.rows[: table.limit]
    cells = [
        [_clip(cell_text(v, c.kind)) for v, c in zip(row, table.columns, strict=True)]
        for row in shown
    ]
    headers = [c.title for c in table.columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    right = [c.kind in (Kind.NUMBER, Kind.SECONDS, Kind.RATIO) for c in table.columns]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)
        ]
        return ("  " + "  ".join(parts)).rstrip()

    lines.append(line(headers))
    lines.append(line(["-" * w for w in widths]))
    lines.extend(line(row) for row in cells)
    if len(shown) < len(table.rows):
        lines.append(f"  ... and {len(table.rows) - len(shown)} more")
    return lines


def _plain_block(block: Block) -> list[str]:
    if isinstance(block, Table):
        return _plain_table(block)
    if isinstance(block, Bars | Histogram):
        items = block.items if isinstance(block, Bars) else block.bins
        largest = max((v for _, v in items), default=0)
        width = max((len(label) for label, _ in items), default=0)
        digits = max((len(str(v)) for _, v in items), default=1)
        lines = [block.title, "-" * len(block.title)]
        for label, value in items:
            lines.append(
                f"  {label.ljust(width)}  {str(value).rjust(digits)}  {_bar(value, largest)}"
            )
        return [line.rstrip() for line in lines]
    if isinstance(block, Facts):
        width = max((len(k) for k, _ in block.items), default=0)
        return [f"{k.ljust(width)}  {v}" for k, v in block.items]
    if isinstance(block, Note):
        return [("warning: " if block.warn else "") + block.text]
    lines = [f"[{block.tone}] {block.title}"]
    if block.subtitle:
        lines.append(f"  {_clip(block.subtitle, 200)}")
    width = max((len(k) for k, _ in block.facts), default=0)
    lines.extend(f"  {k.ljust(width)}  {v}" for k, v in block.facts)
    for attachment in block.attachments:
        if attachment.path:
            lines.append(f"  {attachment.title}: {attachment.path}")
    return lines


def render_plain(document: Document) -> str:
    out = [document.title, "=" * len(document.title)]
    if document.subtitle:
        out.append(document.subtitle)
    for section in document.sections:
        out.append("")
        out.append(f"## {section.title}")
        for block in section.blocks:
            out.append("")
            out.extend(_plain_block(block))
    return "\n".join(out) + "\n"


# -- rich --------------------------------------------------------------------------------


def _rich_cell(value: object, kind: Kind) -> Text:
    text = cell_text(value, kind)  # type: ignore[arg-type]
    if kind == Kind.TONE:
        return Text(text, style=rich_style(text))
    if kind == Kind.CODE:
        return Text(_clip(text, 120), style="cyan")
    return Text(text)


def _rich_block(block: Block) -> RenderableType:
    if isinstance(block, Table):
        return _rich_table(block)
    if isinstance(block, Bars | Histogram):
        return _rich_bars(block)
    if isinstance(block, Facts):
        return _rich_facts(block.items)
    if isinstance(block, Note):
        return Text(block.text, style="yellow" if block.warn else "dim")
    assert isinstance(block, Card)
    return _rich_card(block)


def _rich_table(block: Table) -> RenderableType:
    table = RichTable(title=block.title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in block.columns:
        numeric = column.kind in (Kind.NUMBER, Kind.SECONDS, Kind.RATIO)
        table.add_column(column.title, justify="right" if numeric else "left")
    shown = block.rows if block.limit is None else block.rows[: block.limit]
    for row in shown:
        table.add_row(*(_rich_cell(v, c.kind) for v, c in zip(row, block.columns, strict=True)))
    if not block.rows:
        return Group(Text(block.title, style="italic"), Text(f"  ({block.empty})", style="dim"))
    if len(shown) < len(block.rows):
        return Group(table, Text(f"  ... and {len(block.rows) - len(shown)} more", style="dim"))
    return table


def _rich_bars(block: Bars | Histogram) -> RenderableType:
    items = block.items if isinstance(block, Bars) else block.bins
    largest = max((v for _, v in items), default=0)
    table = RichTable(title=block.title, title_justify="left", box=None, show_header=False)
    table.add_column()
    table.add_column(justify="right")
    table.add_column()
    for label, value in items:
        style = rich_style(label) if isinstance(block, Bars) else "cyan"
        bar = "█" * len(_bar(value, largest))
        table.add_row(Text(label, style=style), str(value), Text(bar, style=style))
    return table


def _rich_facts(items: Iterable[tuple[str, str]]) -> RichTable:
    table = RichTable(box=None, show_header=False, padding=(0, 1))
    table.add_column(style="bold")
    table.add_column()
    for key, text in items:
        table.add_row(key, text)
    return table


def _rich_card(block: Card) -> RenderableType:
    attached = [(a.title, a.path) for a in block.attachments if a.path]
    body = _rich_facts([*block.facts, *attached])
    title = Text(block.title, style=rich_style(block.tone))
    parts: list[RenderableType] = []
    if block.subtitle:
        parts.append(Text(_clip(block.subtitle, 300)))
    parts.append(body)
    return Panel(
        Group(*parts), title=title, title_align="left", border_style=rich_style(block.tone)
    )


def render_rich(document: Document, *, width: int = 120, color: bool = True) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
    )
    console.print(Text(document.title, style="bold"))
    if document.subtitle:
        console.print(Text(document.subtitle, style="dim"))
    for section in document.sections:
        console.print()
        console.rule(Text(section.title, style="bold"), align="left")
        for block in section.blocks:
            console.print(_rich_block(block))
    return buffer.getvalue()
