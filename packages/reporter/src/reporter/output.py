"""Every view in every format, and writing a report where the user asked."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from normalized_events.files import write_atomic

from reporter.errors import FormatError, ReportError
from reporter.formats import Format
from reporter.model.compare import Comparison
from reporter.model.history import History
from reporter.model.merge import MergePlan
from reporter.model.summary import Summary
from reporter.present.compare import compare_document, compare_json
from reporter.present.history import history_document, history_json
from reporter.present.merge import merge_document, merge_json
from reporter.present.summary import summary_document, summary_json
from reporter.render.document import Document
from reporter.render.html import render_html
from reporter.render.junit import compare_junit, summary_junit
from reporter.render.markdown import render_markdown
from reporter.render.text import render_plain, render_rich


def _people(document: Document, fmt: Format, *, terminal: bool, width: int) -> str:
    if fmt == Format.MARKDOWN:
        return render_markdown(document)
    if fmt == Format.HTML:
        return render_html(document)
    if terminal:
        return render_rich(document, width=width)
    return render_plain(document)


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_summary(
    summary: Summary, fmt: Format = Format.TEXT, *, terminal: bool = False, width: int = 120
) -> str:
    if fmt == Format.JSON:
        return _json(summary_json(summary))
    if fmt == Format.JUNIT:
        return summary_junit(summary)
    rich_media = fmt in (Format.HTML, Format.MARKDOWN)
    document = summary_document(summary, inline_files=rich_media, all_results=fmt == Format.HTML)
    return _people(document, fmt, terminal=terminal, width=width)


def render_compare(
    comparison: Comparison, fmt: Format = Format.TEXT, *, terminal: bool = False, width: int = 120
) -> str:
    if fmt == Format.JSON:
        return _json(compare_json(comparison))
    if fmt == Format.JUNIT:
        return compare_junit(comparison)
    document = compare_document(comparison, all_results=fmt == Format.HTML)
    return _people(document, fmt, terminal=terminal, width=width)


def render_history(
    history: History, fmt: Format = Format.TEXT, *, terminal: bool = False, width: int = 120
) -> str:
    if fmt == Format.JSON:
        return _json(history_json(history))
    if fmt == Format.JUNIT:
        raise FormatError("junit is available for summary and compare, not for history")
    document = history_document(history, all_results=fmt == Format.HTML)
    return _people(document, fmt, terminal=terminal, width=width)


def render_merge(
    plan: MergePlan,
    out: Path | None,
    fmt: Format = Format.TEXT,
    *,
    terminal: bool = False,
    width: int = 120,
) -> str:
    if fmt == Format.JSON:
        return _json(merge_json(plan, out))
    if fmt == Format.JUNIT:
        raise FormatError(
            "junit is available for summary and compare; run `report summary --format junit` "
            "on the merged run"
        )
    return _people(merge_document(plan, out), fmt, terminal=terminal, width=width)


def write_report(text: str, path: str | os.PathLike[str]) -> Path:
    """Write a report atomically (a reader never sees half a file)."""
    target = Path(path)
    try:
        write_atomic(target, text)
    except OSError as exc:
        raise ReportError(f"{target}: cannot write the report: {exc.strerror}") from exc
    return target
