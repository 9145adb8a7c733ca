"""`make deploy-check` skips nothing: a unit test of tests/deploy that skips is a failure.

A missing tool (kubectl, promtool) or package must fail the check and say how to install it,
never turn it quietly into a pass with an `s` in pytest's summary. The contract tests here
(test_up_down.py, which need PostgreSQL and Redis binaries) are not part of the check.
"""

from __future__ import annotations

from collections.abc import Generator

import pluggy
import pytest


def skip_is_failure(item: pytest.Item, report: pytest.TestReport) -> None:
    if report.skipped and item.get_closest_marker("unit") and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} skipped ({report.longrepr}): the deploy checks never skip; "
            "install what is missing (bash scripts/system-deps.sh --deploy, "
            "bash scripts/deploy-tools.sh)"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    outcome = yield
    skip_is_failure(item, outcome.get_result())
