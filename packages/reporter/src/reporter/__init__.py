"""Reports of apiary runs: summaries, comparisons, flaky detection, shard merges.

Everything is read from a run's events (``events.jsonl``), never from runner internals::

    import reporter

    run = reporter.load_run("apiary-results/2024-05-01T10-00-00Z")
    summary = reporter.summarize(run)
    comparison = reporter.compare_runs(reporter.load_run(old_dir), run)
    print(reporter.render_compare(comparison, reporter.Format.MARKDOWN))
"""

from importlib.metadata import version

from reporter.errors import FormatError, MergeError, ReportError, RunDirError
from reporter.model.compare import (
    Category,
    Comparison,
    Pair,
    Side,
    TimingRule,
    categorize,
    categorize_results,
    compare_conditions,
    compare_runs,
    compare_sides,
)
from reporter.model.history import History, PackageHistory, build_history
from reporter.model.history_load import load_history
from reporter.model.lazy_events import Key
from reporter.model.load import find_runs, last_runs, load_run, resolve_run
from reporter.model.merge import Duplicate, Gap, MergePlan, merge_runs, write_merge
from reporter.model.rundata import RunData
from reporter.model.summary import Summary, summarize
from reporter.output import (
    Format,
    render_compare,
    render_history,
    render_merge,
    render_summary,
    write_report,
)

__version__ = version("reporter")

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
