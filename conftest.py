"""Hooks for every test of the monorepo (packages/*/tests and tests/)."""

from __future__ import annotations

import signal

import pytest

# The signals tests send to stop what they started.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def pytest_configure(config: pytest.Config) -> None:
    """Stop signals that arrive ignored get their usual action back.

    Under `nohup` SIGHUP arrives ignored, in a background job of a script SIGINT does; an
    ignored signal stays ignored in every process started from here, so a test stopping
    apiary with it would wait for nothing. Tests of how an ignored signal is kept set it
    themselves.
    """
    for signum in _STOP_SIGNALS:
        if signal.getsignal(signum) is signal.SIG_IGN:
            usual = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
            signal.signal(signum, usual)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make `--dist loadgroup` group by `xdist_group` again on pytest >= 9.2.

    pytest-xdist marks a test's group by assigning `item._nodeid`, which pytest 9.2 no
    longer reads (the node id lives in `item._id`), so grouped tests were spread over the
    workers and module-scoped flows ran twice, half each. This sets the same `@group`
    suffix where pytest now reads it; with an older pytest the suffix is already there.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import coerce_node_id
    except ImportError:
        return
    for item in items:
        groups = sorted(
            {
                str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                for mark in item.iter_markers("xdist_group")
            }
        )
        suffix = "@" + "_".join(groups)
        if groups and not item.nodeid.endswith(suffix):
            item._id = coerce_node_id(item.nodeid + suffix)
