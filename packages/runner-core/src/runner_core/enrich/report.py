"""Text views of scan proposals and verify results."""

from __future__ import annotations

from runner_core.enrich.scan import ScanResult
from runner_core.enrich.verdicts import Verification


def proposal_text(result: ScanResult) -> str:
    """Each proposed field, its value, then its evidence indented below it."""
    proposal = result.proposal
    target = result.target
    version = f" {target.version}" if target.version else ""
    kind = "sdist" if target.from_sdist else "folder"
    lines = [f"{proposal.package or '?'}{version} ({kind} {target.root})"]
    if not proposal.has_tests:
        lines.append("warning: no test files found in this tree")
    for name in (*proposal.FIELDS, "extension_type"):
        finding = getattr(proposal, name)
        lines.append(f"{name}: {finding.value if finding.value is not None else 'null'}")
        lines += [f"    - {why}" for why in finding.evidence]
    if proposal.optional:
        shown = ", ".join(f"{d.requirement} ({d.why})" for d in proposal.optional[:8])
        lines.append(f"optional (tests skip without them): {shown}")
    lines += [f"note: {note}" for note in proposal.notes]
    return "\n".join(lines)


def verification_table(results: list[Verification]) -> str:
    """One line per package: verified or not, the outcomes, and the fixes tried."""
    width = max((len(item.name) for item in results), default=7)
    lines = []
    for item in results:
        mark = "ok  " if item.verified else "FAIL"
        tried = f"  [tried: {'; '.join(item.tried)}]" if item.tried else ""
        fallback = next((r.source_fallback for r in item.last.values() if r.source_fallback), "")
        tried += f"  [{fallback}]" if fallback else ""
        lines.append(f"{mark} {item.name.ljust(width)}  {item.summary()}{tried}")
    verified = sum(item.verified for item in results)
    lines.append(f"{verified} of {len(results)} verified")
    return "\n".join(lines)
