"""Colours of outcomes and categories, shared by the terminal and HTML renderers."""

from __future__ import annotations

# name -> (HTML colour, rich style). Outcomes and compare categories share one table:
# the few names they have in common (skipped) mean the same thing.
TONES: dict[str, tuple[str, str]] = {
    "pass": ("#1a7f37", "green"),
    "fail": ("#bc4c00", "dark_orange"),
    "crash": ("#cf222e", "bold red"),
    "timeout": ("#8250df", "magenta"),
    "hang": ("#8250df", "magenta"),
    "oom": ("#6639ba", "magenta"),
    "install_error": ("#0969da", "blue"),
    "import_error": ("#0550ae", "blue"),
    "source_error": ("#033d8b", "blue"),
    "config_error": ("#218bff", "cyan"),
    "skipped": ("#8c959f", "bright_black"),
    "error": ("#82071e", "red"),
    "regressed": ("#cf222e", "bold red"),
    "new-crash-bucket": ("#a40e26", "red"),
    "fixed": ("#1a7f37", "green"),
    "spurious": ("#8250df", "magenta"),
    "broken": ("#bc4c00", "dark_orange"),
    "now-tested": ("#9a6700", "yellow"),
    "still-broken": ("#953800", "yellow"),
    "missing": ("#6e7781", "bright_black"),
    "same": ("#4ac26b", "green"),
    "reproducible": ("#cf222e", "red"),
    "flaky": ("#9a6700", "yellow"),
    "mixed": ("#bc4c00", "dark_orange"),
    "unknown": ("#6e7781", "bright_black"),
}
DEFAULT_TONE = ("#57606a", "default")


def html_colour(name: str) -> str:
    return TONES.get(name, DEFAULT_TONE)[0]


def rich_style(name: str) -> str:
    return TONES.get(name, DEFAULT_TONE)[1]
