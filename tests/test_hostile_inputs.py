"""1,000 hostile requests (bench/hostile.py, every kind in turn) against a real 2-worker server.

Every answer is a 4xx in the error shape with a message that says what to fix, or a 200 of the
documented shape where the input was usable; never a 5xx or a dropped connection. Memory comes
back within 10% of the warm-up's (the full 10,000 cases: python -m bench.hostile).
"""

import time

from app.settings import Settings
from bench import hostile
from tests.helpers import running_server

SETTINGS = Settings()
CASES = 1_000


def test_the_generator_has_at_least_twenty_kinds() -> None:
    kinds = {case.kind for case in hostile.cases(len(hostile.KINDS))}
    assert len(kinds) == len(hostile.KINDS) >= 20


def test_hostile_inputs_get_helpful_4xx_answers_and_leave_memory_as_it_was() -> None:
    with running_server(SETTINGS.model_dir, "--workers", "2", "--log-level", "error") as (
        base_url,
        process,
    ):
        pids = hostile.server_pids(process.pid)
        _, before = hostile.warm_up(base_url, pids, seed=7)
        report = hostile.run_cases(base_url, list(hostile.cases(CASES, seed=7)))
        time.sleep(0.5)
        after = hostile.rss_bytes(pids)
    assert report.total == CASES
    assert not report.problems, "\n".join(report.problems[:20])
    answered = {label.split()[0] for label in report.statuses if label.endswith(" 200")}
    assert "valid_drawing" in answered  # the valid inputs among them were read
    assert after <= before * (1 + hostile.RSS_TOLERANCE), (before, after)
