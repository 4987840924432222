"""``run.json``: the one schema of a run's record, for runs and for merged runs.

A run writes it when it starts (status ``running``) and rewrites it when it ends
(``finished``, ``interrupted`` or ``failed`` with ``error``); ``report merge`` writes one
with status ``merged``. Fields a newer apiary adds are kept (``extra="allow"``).
docs/reference/run-json.md describes every field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["running", "finished", "interrupted", "failed", "merged"]


class PackageRecord(BaseModel):
    """A package of the selection: with ``rev`` when run, with ``reason`` when left out."""

    model_config = ConfigDict(extra="allow")

    package: str
    rev: str | None = None
    reason: str | None = None


class RunRecord(BaseModel):
    """What ``run.json`` holds."""

    model_config = ConfigDict(extra="allow")

    run_id: str
    status: RunStatus
    settings: dict[str, Any] | None = Field(
        default=None, description="A run's settings, as `apiary run --resume` reads them."
    )
    selection: list[PackageRecord] = Field(default_factory=list)
    skipped: list[PackageRecord] = Field(default_factory=list)
    invalid: list[PackageRecord] = Field(default_factory=list)
    sandbox: dict[str, Any] | None = None
    wall_s: float | None = None
    error: str | None = Field(default=None, description="Why a failed run stopped.")
    started_at: str | None = None
    finished_at: str | None = None
    interpreter: dict[str, Any] | None = None
    merged_from: list[str] = Field(
        default_factory=list, description="A merged run's shards, by run id."
    )

    def as_json(self) -> dict[str, Any]:
        """The fields that were set, as JSON values (what run.json is written from)."""
        return self.model_dump(mode="json", exclude_unset=True)
