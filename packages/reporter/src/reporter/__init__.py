"""Reports of apiary runs: summaries, comparisons, flaky detection, shard merges.

Everything is read from a run's events (``events.jsonl``), never from runner internals::

    import reporter

    run = reporter.load_run("apiary-results/2024-05-01T10-00-00Z")
    summary = reporter.summarize(run)
    comparison = reporter.compare_runs(reporter.load_run(old_dir), run)
    print(reporter.render_compare(comparison, reporter.Format.MARKDOWN))
"""

from typing import TYPE_CHECKING

from normalized_events.lazyexport import lazy_exports

if TYPE_CHECKING:
    __version__: str
    from reporter.errors import (
        FormatError,
        MergeError,
        ReportError,
        RunDirError,
    )
    from reporter.formats import Format
    from reporter.model.categories import Category, TimingRule
    from reporter.model.compare import (
        Comparison,
        Pair,
        Side,
        categorize,
        categorize_results,
        compare_conditions,
        compare_runs,
        compare_sides,
    )
    from reporter.model.history import (
        History,
        PackageHistory,
        build_history,
    )
    from reporter.model.history_load import (
        load_history,
    )
    from reporter.model.lazy_events import (
        Key,
    )
    from reporter.model.load import (
        find_runs,
        last_runs,
        load_run,
        resolve_run,
    )
    from reporter.model.merge import (
        Duplicate,
        Gap,
        MergePlan,
        merge_runs,
        write_merge,
    )
    from reporter.model.rundata import (
        RunData,
    )
    from reporter.model.summary import (
        Summary,
        summarize,
    )
    from reporter.output import (
        render_compare,
        render_history,
        render_merge,
        render_summary,
        write_report,
    )

# Each name is imported from its module on first use: `apiary report ... --help` imports
# only the command layer.
_EXPORTS = {
    "FormatError": "errors",
    "MergeError": "errors",
    "ReportError": "errors",
    "RunDirError": "errors",
    "Category": "model.categories",
    "Comparison": "model.compare",
    "Pair": "model.compare",
    "Side": "model.compare",
    "TimingRule": "model.categories",
    "categorize": "model.compare",
    "categorize_results": "model.compare",
    "compare_conditions": "model.compare",
    "compare_runs": "model.compare",
    "compare_sides": "model.compare",
    "History": "model.history",
    "PackageHistory": "model.history",
    "build_history": "model.history",
    "load_history": "model.history_load",
    "Key": "model.lazy_events",
    "find_runs": "model.load",
    "last_runs": "model.load",
    "load_run": "model.load",
    "resolve_run": "model.load",
    "Duplicate": "model.merge",
    "Gap": "model.merge",
    "MergePlan": "model.merge",
    "merge_runs": "model.merge",
    "write_merge": "model.merge",
    "RunData": "model.rundata",
    "Summary": "model.summary",
    "summarize": "model.summary",
    "Format": "formats",
    "render_compare": "output",
    "render_history": "output",
    "render_merge": "output",
    "render_summary": "output",
    "write_report": "output",
}

__getattr__ = lazy_exports(__name__, "reporter", _EXPORTS)

__all__ = [
    "Category",
    "Comparison",
    "Duplicate",
    "Format",
    "FormatError",
    "Gap",
    "History",
    "Key",
    "MergeError",
    "MergePlan",
    "PackageHistory",
    "Pair",
    "ReportError",
    "RunData",
    "RunDirError",
    "Side",
    "Summary",
    "TimingRule",
    "__version__",
    "build_history",
    "categorize",
    "categorize_results",
    "compare_conditions",
    "compare_runs",
    "compare_sides",
    "find_runs",
    "last_runs",
    "load_history",
    "load_run",
    "merge_runs",
    "render_compare",
    "render_history",
    "render_merge",
    "render_summary",
    "resolve_run",
    "summarize",
    "write_merge",
    "write_report",
]
