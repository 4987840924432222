"""How much an untrusted source may weigh: answers, downloads, unpacked trees."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class SourceLimits:
    """Caps on what fetching one package's source may cost.

    An index answer, a download or an archive beyond them stops that package with one
    line (its other packages go on); none of them is a limit a real project reaches.
    """

    json_bytes: int = 64 << 20
    json_deadline_s: float = 120.0
    download_bytes: int = 1 << 30
    download_deadline_s: float = 1800.0
    unpacked_bytes: int = 4 << 30
    unpacked_files: int = 200_000

    @classmethod
    def within(cls, seconds: float) -> SourceLimits:
        """The default limits with every deadline at most ``seconds`` (a run's --timeout)."""
        base = cls()
        return replace(
            base,
            json_deadline_s=min(base.json_deadline_s, seconds),
            download_deadline_s=min(base.download_deadline_s, seconds),
        )
