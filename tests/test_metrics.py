"""GET /metrics of a real 2-worker server: Prometheus' text format, one view over both workers."""

import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.inference import model_folders
from app.settings import Settings
from tests.helpers import assert_error, running_server

SETTINGS = Settings()
ONE = {"strokes": [[[50, 10], [50, 110]]]}  # a vertical bar: read as 1
SEVEN = {"strokes": [[[10, 10], [90, 10], [40, 110]]]}
BLANK = {"pixels": [[0] * 28] * 28}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, subprocess.Popen]]:
    with running_server(SETTINGS.model_dir, "--workers", "2", "--log-level", "warning") as served:
        yield served


def scrape(base_url: str) -> Samples:
    """Every sample of one scrape, by (name, labels); on a new connection, so any worker answers."""
    with httpx.Client() as client:
        response = client.get(f"{base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def post(base_url: str, path: str, **options: object) -> httpx.Response:
    with httpx.Client(timeout=30) as client:  # a new connection: the kernel picks the worker
        return client.post(f"{base_url}{path}", **options)  # type: ignore[arg-type]


def wait_for_counts(base_url: str, before: Samples, *wanted: tuple[str, dict, float]) -> None:
    """Until each (name, labels, growth) has grown that much since `before`, or 5 s."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        after = scrape(base_url)
        grown = [value(after, n, **labels) - value(before, n, **labels) for n, labels, _ in wanted]
        if all(g >= total for g, (_, _, total) in zip(grown, wanted, strict=True)):
            return
        time.sleep(0.05)


def test_counts_add_up_over_both_workers(server: tuple[str, subprocess.Popen]) -> None:
    base_url, _ = server
    before = scrape(base_url)
    digits = [post(base_url, "/predict", json=body).json()["digit"] for body in [ONE, SEVEN] * 15]
    assert digits == [1, 7] * 15
    batch = post(base_url, "/predict/batch", json={"inputs": [ONE, BLANK, SEVEN]})
    assert batch.status_code == 200
    for _ in range(4):
        assert_error(post(base_url, "/predict", json=BLANK), 422, "empty_input")
    too_big = post(base_url, "/predict", content=b"0" * (SETTINGS.max_body_bytes + 1))
    assert_error(too_big, 413, "body_too_large")
    assert_error(httpx.get(f"{base_url}/no/such/page/42"), 404, "not_found")
    unknown = post(base_url, "/predict", json={**ONE, "model": "nope"})
    assert_error(unknown, 404, "unknown_model")

    # A worker counts a request once its answer is sent, so the client can be a moment ahead of
    # the count: wait (at most 5 s) until every request of the test is in before comparing.
    latency = "digitdraw_http_request_duration_seconds_count"
    wait_for_counts(
        base_url,
        before,
        (latency, {"method": "POST", "route": "/predict"}, 36),
        (latency, {"method": "POST", "route": "/predict/batch"}, 1),
        (latency, {"method": "GET", "route": "unmatched"}, 1),
    )
    # Whichever worker answers the scrape, it reports both workers' counts.
    for _ in range(4):
        after = scrape(base_url)

        def grew(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)  # noqa: B023

        requests = "digitdraw_http_requests_total"
        assert grew(requests, method="POST", route="/predict", status="200") == 30
        assert grew(requests, method="POST", route="/predict", status="422") == 4
        assert grew(requests, method="POST", route="/predict", status="413") == 1
        assert grew(requests, method="POST", route="/predict", status="404") == 1
        assert grew(requests, method="POST", route="/predict/batch", status="200") == 1
        assert grew(requests, method="GET", route="unmatched", status="404") == 1
        latency = "digitdraw_http_request_duration_seconds_count"
        assert grew(latency, method="POST", route="/predict") == 36
        model = SETTINGS.default_model
        assert grew("digitdraw_predictions_total", model=model, digit="1") == 16
        assert grew("digitdraw_predictions_total", model=model, digit="7") == 16
        assert grew("digitdraw_refusals_total", code="empty_input") == 4
        assert grew("digitdraw_refusals_total", code="body_too_large") == 1
        assert grew("digitdraw_refusals_total", code="unknown_model") == 1
        assert grew("digitdraw_refusals_total", code="not_found") == 1

    per_worker = {
        labels: count
        for (name, labels), count in after.items()
        if name == "digitdraw_worker_requests"
    }
    assert len(per_worker) == 2, per_worker  # two live workers, no series for the supervisor
    assert all(count > 0 for count in per_worker.values()), per_worker


def test_model_load_time_is_reported_for_every_model(server: tuple[str, subprocess.Popen]) -> None:
    samples = scrape(server[0])
    for name in (folder.name for folder in model_folders(SETTINGS.model_dir)):
        assert 0 < value(samples, "digitdraw_model_load_seconds", model=name) < 30, name
