"""Build variants: their configure flags, and whether a source can build them."""

from __future__ import annotations

from pathlib import Path

from runner_core.pythons.errors import BuildError

VARIANTS: dict[str, tuple[str, ...]] = {
    "plain": (),  # no feature flags: the quickest build, for bisecting a crash of any build
    "jit": ("--enable-experimental-jit",),
    "debug": ("--with-pydebug",),
    "asan": ("--with-address-sanitizer", "--without-pymalloc"),
    "ubsan": ("--with-undefined-behavior-sanitizer",),
    "ft": ("--disable-gil",),
    "tsan": ("--with-thread-sanitizer",),
}
# Pairs that cannot share one build (the sanitizers' runtimes exclude each other).
_EXCLUSIVE = ({"asan", "tsan"}, {"asan", "ubsan"}, {"ubsan", "tsan"})


def parse_variant(variant: str) -> tuple[str, ...]:
    """`jit+debug` -> ("jit", "debug"), checked; the canonical order is VARIANTS'."""
    parts = [p.strip() for p in variant.split("+") if p.strip()]
    unknown = [p for p in parts if p not in VARIANTS]
    if unknown or not parts:
        known = ", ".join(VARIANTS)
        shown = "+".join(unknown) or variant
        raise BuildError(f"--variant {shown!r}: unknown (known: {known}, joined with +)")
    chosen = set(parts)
    for pair in _EXCLUSIVE:
        if pair <= chosen:
            raise BuildError(
                f"--variant {variant!r}: {' and '.join(sorted(pair))} cannot share a build"
            )
    return tuple(v for v in VARIANTS if v in chosen)


def variant_name(parts: tuple[str, ...]) -> str:
    return "-".join(parts)


def configure_flags(variant: str) -> tuple[str, ...]:
    """The union of the variant's parts' flags, in a stable order."""
    flags: list[str] = []
    for part in parse_variant(variant):
        flags += [f for f in VARIANTS[part] if f not in flags]
    return tuple(flags)


def _spellings(flag: str) -> tuple[str, ...]:
    """configure's help names an option by one of its forms (--with-pymalloc documents
    --without-pymalloc)."""
    for negative, positive in (("--without-", "--with-"), ("--disable-", "--enable-")):
        if flag.startswith(negative):
            return flag, positive + flag.removeprefix(negative)
    return (flag,)


def check_supported(source_tree: Path, version: str, flags: tuple[str, ...]) -> None:
    """Refuse flags the source's own `configure` does not offer (`ft` before 3.13, ...)."""
    try:
        configure = (source_tree / "configure").read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BuildError(f"{source_tree}: no readable configure script ({exc.strerror})") from exc
    missing = [flag for flag in flags if not any(f in configure for f in _spellings(flag))]
    if missing:
        raise BuildError(
            f"CPython {version} cannot build {' '.join(missing)}: its configure does not offer it"
        )
