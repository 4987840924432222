"""One problem found in one registry file, located by line and column."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The ``field`` of a problem that concerns the whole file rather than one field.
WHOLE_FILE = "(file)"


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped, as repr does."""
    return text if text.isprintable() else repr(text)[1:-1]


@dataclass(frozen=True, order=True)
class RegistryProblem:
    """A problem with 1-based ``line`` and ``column``; ``strict`` ones only fail ``--strict``."""

    file: Path
    line: int
    column: int
    field: str
    message: str
    strict: bool = False

    def __str__(self) -> str:
        file, field, message = (_one_line(str(x)) for x in (self.file, self.field, self.message))
        return f"{file}:{self.line}:{self.column}: {field}: {message}"

    def to_record(self) -> list[object]:
        """The JSON-safe form kept in the load cache (the file is implied by the record)."""
        return [self.line, self.column, self.field, self.message, self.strict]

    @classmethod
    def from_record(cls, file: Path, record: list[object]) -> RegistryProblem:
        line, column, field, message, strict = record
        if not (
            isinstance(line, int)
            and isinstance(column, int)
            and isinstance(field, str)
            and isinstance(message, str)
            and isinstance(strict, bool)
        ):
            raise ValueError(f"not a problem record: {record!r}")
        return cls(file, line, column, field, message, strict)
