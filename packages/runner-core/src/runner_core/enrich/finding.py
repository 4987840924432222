"""One proposed field value of a scan, with the evidence for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Finding:
    """One proposed field value and why."""

    value: Any
    evidence: list[str] = field(default_factory=list)
