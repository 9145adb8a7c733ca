"""tests/deploy/conftest.py turns a skipped unit test into a failure (make deploy-check
skips nothing)."""

from __future__ import annotations

from typing import Literal

import pytest

from tests.deploy.conftest import skip_is_failure

pytestmark = pytest.mark.unit


Outcome = Literal["passed", "failed", "skipped"]


def report(outcome: Outcome, wasxfail: str | None = None) -> pytest.TestReport:
    made = pytest.TestReport(
        "tests/deploy/test_x.py::test_x", ("x", 1, "x"), {}, outcome, "why", "call"
    )
    if wasxfail is not None:
        made.wasxfail = wasxfail  # what pytest's skipping plugin sets on an xfailed test
    return made


def test_a_skipped_unit_test_fails_and_says_what_to_install(request: pytest.FixtureRequest) -> None:
    skipped = report("skipped")
    skip_is_failure(request.node, skipped)
    assert skipped.outcome == "failed"
    assert "never skip" in str(skipped.longrepr) and "system-deps.sh --deploy" in str(
        skipped.longrepr
    )


def test_passes_failures_and_expected_failures_are_left_alone(
    request: pytest.FixtureRequest,
) -> None:
    outcomes: tuple[Outcome, ...] = ("passed", "failed")
    for outcome in outcomes:
        left = report(outcome)
        skip_is_failure(request.node, left)
        assert left.outcome == outcome
    xfailed = report("skipped", wasxfail="known")
    skip_is_failure(request.node, xfailed)
    assert xfailed.outcome == "skipped"
