"""Markdown that fits a merge request comment or a CI job summary (GitLab and GitHub)."""

from __future__ import annotations

from reporter.render.document import (
    Attachment,
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

ATTACHMENT_LINES = 40


def escape(text: str) -> str:
    """Text safe inside a table cell: pipes escaped, lines joined."""
    text = " ".join(text.split())
    for char in "\\|*`<[]":
        text = text.replace(char, "\\" + char)
    return text


def _cell(value: object, kind: Kind) -> str:
    text = cell_text(value, kind)  # type: ignore[arg-type]
    if kind in (Kind.CODE, Kind.TONE) and text != "-":
        return "`" + " ".join(text.split()).replace("`", "'").replace("|", "\\|") + "`"
    return escape(text)


def _table(table: Table) -> list[str]:
    lines = [f"**{escape(table.title)}**", ""]
    if not table.rows:
        return [*lines, f"_{escape(table.empty)}_"]
    right = {Kind.NUMBER, Kind.SECONDS, Kind.RATIO}
    lines.append("| " + " | ".join(escape(c.title) for c in table.columns) + " |")
    lines.append("|" + "|".join("---:" if c.kind in right else "---" for c in table.columns) + "|")
    shown = table.rows if table.limit is None else table.rows[: table.limit]
    for row in shown:
        cells = (_cell(v, c.kind) for v, c in zip(row, table.columns, strict=True))
        lines.append("| " + " | ".join(cells) + " |")
    if len(shown) < len(table.rows):
        lines.extend(["", f"_... and {len(table.rows) - len(shown)} more_"])
    return lines


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return fence


def _attachment(attachment: Attachment) -> list[str]:
    where = f" (`{attachment.path}`)" if attachment.path else ""
    if attachment.text is None:
        return [f"- {escape(attachment.title)}{where}"]
    lines = attachment.text.rstrip("\n").splitlines()
    tail = lines[-ATTACHMENT_LINES:]
    if len(tail) < len(lines):
        tail = [f"[... {len(lines) - len(tail)} earlier lines ...]", *tail]
    body = "\n".join(tail)
    fence = _fence(body)
    return [
        "<details>",
        f"<summary>{escape(attachment.title)}{where}</summary>",
        "",
        f"{fence}text",
        body,
        fence,
        "",
        "</details>",
    ]


def _block(block: Block) -> list[str]:
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Bars | Histogram):
        items = block.items if isinstance(block, Bars) else block.bins
        total = sum(v for _, v in items) or 1
        lines = [f"**{escape(block.title)}**", "", "| | n | % |", "|---|---:|---:|"]
        for label, value in items:
            lines.append(f"| {escape(label)} | {value} | {100 * value / total:.0f}% |")
        return lines
    if isinstance(block, Facts):
        return [f"- **{escape(k)}**: {escape(v)}" for k, v in block.items]
    if isinstance(block, Note):
        return [("> **Warning:** " if block.warn else "> ") + escape(block.text)]
    assert isinstance(block, Card)
    lines = [f"#### `{block.tone}` {escape(block.title)}", ""]
    if block.subtitle:
        lines += [f"`{' '.join(block.subtitle.split()).replace('`', chr(39))}`", ""]
    lines += [f"- **{escape(k)}**: {escape(v)}" for k, v in block.facts]
    for attachment in block.attachments:
        lines += ["", *_attachment(attachment)]
    return lines


def render_markdown(document: Document) -> str:
    out = [f"## {escape(document.title)}"]
    if document.subtitle:
        out += ["", escape(document.subtitle)]
    for section in document.sections:
        out += ["", f"### {escape(section.title)}"]
        for block in section.blocks:
            out += ["", *_block(block)]
    return "\n".join(out) + "\n"
