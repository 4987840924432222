"""One self-contained HTML page: inline CSS, JS and SVG, no request to anywhere.

A Content-Security-Policy in the page forbids every fetch as well, so even text copied
from a run (stderr can hold anything) cannot make the browser reach out.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from importlib.resources import files

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
from reporter.render.tones import TONES, html_colour

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
NUMERIC = (Kind.NUMBER, Kind.SECONDS, Kind.RATIO)


def _asset(name: str) -> str:
    return files("reporter.render").joinpath(name).read_text(encoding="utf-8")


def _badge(name: str) -> str:
    return f'<span class="badge" style="background:{html_colour(name)}">{escape(name)}</span>'


def _hbars(title: str, items: list[tuple[str, int]], colour: Callable[[str], str]) -> str:
    """Horizontal bars in a narrow viewBox, so the text stays readable on a phone."""
    total = sum(v for _, v in items)
    largest = max((v for _, v in items), default=0) or 1
    row, label_w, bar_w, text_w = 24, 118, 200, 82
    rows = []
    for index, (label, value) in enumerate(items):
        y = index * row + 2
        width = bar_w * value / largest
        share = f" ({100 * value / total:.0f}%)" if total else ""
        rows.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{max(width, 1 if value else 0):.1f}" height="18" '
            f'rx="3" fill="{colour(label)}"><title>{escape(label)}: {value}</title></rect>'
            f'<text x="{label_w + width + 5:.1f}" y="{y + 14}">{value}'
            f'<tspan class="muted">{share}</tspan></text>'
        )
    return (
        f'<div class="chart"><svg viewBox="0 0 {label_w + bar_w + text_w} {row * len(items) + 4}" '
        f'role="img" aria-label="{escape(title)}">{"".join(rows)}</svg></div>'
    )


def _bars(block: Bars) -> str:
    items = block.items
    total = sum(v for _, v in items)
    parts = [f"<h3>{escape(block.title)}</h3>"]
    if total:
        stack = "".join(
            f'<span title="{escape(label)}: {value}" style="width:{100 * value / total:.3f}%;'
            f'background:{html_colour(label)}"></span>'
            for label, value in items
            if value
        )
        parts.append(f'<div class="stack" role="img" aria-label="share of each">{stack}</div>')
    parts.append(_hbars(block.title, items, html_colour))
    return "".join(parts)


def _histogram(block: Histogram) -> str:
    return f"<h3>{escape(block.title)}</h3>" + _hbars(block.title, block.bins, lambda _: "#0969da")


def _cell(value: object, kind: Kind) -> str:
    text = cell_text(value, kind)  # type: ignore[arg-type]
    if kind in NUMERIC:
        sort = f' data-v="{value}"' if isinstance(value, int | float) else ' data-v=""'
        return f'<td class="num"{sort}>{escape(text)}</td>'
    if kind == Kind.TONE and value is not None:
        return f'<td data-v="{escape(text)}">{_badge(text)}</td>'
    if kind == Kind.CODE and value is not None:
        return f"<td><code>{escape(text)}</code></td>"
    return f"<td>{escape(text)}</td>"


class _Ids:
    def __init__(self) -> None:
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"t{self.count}"


def _table(block: Table, ids: _Ids) -> str:
    table_id = ids.next()
    head = "".join(
        f'<th class="num">{escape(c.title)}</th>'
        if c.kind in NUMERIC
        else f"<th>{escape(c.title)}</th>"
        for c in block.columns
    )
    parts = [f'<h3>{escape(block.title)}<span class="count">{len(block.rows)}</span></h3>']
    if not block.rows:
        return parts[0] + f'<p class="empty">{escape(block.empty)}</p>'
    if block.filterable:
        parts.append(
            f'<input class="filter" type="search" placeholder="Filter" aria-label="Filter '
            f'{escape(block.title)}" data-table="{table_id}">'
            f'<span class="count" id="{table_id}-count"></span>'
        )
    body = "".join(
        "<tr>"
        + "".join(_cell(v, c.kind) for v, c in zip(row, block.columns, strict=True))
        + "</tr>"
        for row in block.rows
    )
    parts.append(
        f'<div class="table-wrap"><table class="sortable" id="{table_id}"><thead><tr>{head}</tr>'
        f"</thead><tbody>{body}</tbody></table></div>"
    )
    return "".join(parts)


def _facts(items: list[tuple[str, str]]) -> str:
    pairs = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items)
    return f'<dl class="facts">{pairs}</dl>'


def _attachment(attachment: Attachment) -> str:
    where = f" <code>{escape(attachment.path)}</code>" if attachment.path else ""
    if attachment.text is None:
        return f"<p>{escape(attachment.title)}:{where} (not available)</p>"
    return (
        f"<details{' open' if attachment.open else ''}><summary>{escape(attachment.title)}{where}"
        "</summary>"
        f"<pre>{escape(attachment.text)}</pre></details>"
    )


def _card(block: Card) -> str:
    parts = [
        f'<article class="card" style="border-left-color:{html_colour(block.tone)}">',
        f"<h3>{_badge(block.tone)} {escape(block.title)}</h3>",
    ]
    if block.subtitle:
        parts.append(f'<p class="sig"><code>{escape(block.subtitle)}</code></p>')
    if block.facts:
        parts.append(_facts(block.facts))
    parts.extend(_attachment(a) for a in block.attachments)
    parts.append("</article>")
    return "".join(parts)


def _block(block: Block, ids: _Ids) -> str:
    if isinstance(block, Table):
        return _table(block, ids)
    if isinstance(block, Bars):
        return _bars(block)
    if isinstance(block, Histogram):
        return _histogram(block)
    if isinstance(block, Facts):
        return _facts(block.items)
    if isinstance(block, Note):
        return f'<p class="note{" warn" if block.warn else ""}">{escape(block.text)}</p>'
    return _card(block)


def render_html(document: Document) -> str:
    ids = _Ids()
    sections = []
    nav = []
    for index, section in enumerate(document.sections, start=1):
        anchor = section.anchor or f"s{index}"
        nav.append(f'<a href="#{escape(anchor)}">{escape(section.title)}</a>')
        blocks = "".join(_block(b, ids) for b in section.blocks)
        sections.append(
            f'<section id="{escape(anchor)}"><h2>{escape(section.title)}</h2>{blocks}</section>'
        )
    subtitle = f"<p>{escape(document.subtitle)}</p>" if document.subtitle else ""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(document.title)}</title>"
        f"<style>{_asset('report.css')}</style></head>"
        f"<body><header><h1>{escape(document.title)}</h1>{subtitle}"
        f"<nav>{''.join(nav)}</nav></header>"
        f"<main>{''.join(sections)}</main>"
        f"<script>{_asset('report.js')}</script>"
        "</body></html>\n"
    )


__all__ = ["CSP", "TONES", "render_html"]
