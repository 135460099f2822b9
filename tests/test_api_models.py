"""GET /models, /models/{name}, /health, /ready, the OpenAPI docs and the security headers."""

import re
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.main import PAGE_POLICY, SecurityHeaders
from app.routers.models import real_drawings_accuracy
from app.settings import Settings
from tests.helpers import TestClient, assert_error, served_app
from training.card_file import read_card

SETTINGS = Settings()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with served_app() as test_client:
        yield test_client


def card_on_disk(name: str) -> dict:
    return read_card(SETTINGS.model_dir / name)


def test_models_lists_every_model_and_flags_only_the_default(client: TestClient) -> None:
    models = client.get("/models").json()["models"]
    names = [model["name"] for model in models]
    assert names == client.get("/ready").json()["models"]
    assert SETTINGS.default_model in names and len(names) >= 2
    assert [model["name"] for model in models if model["default"]] == [SETTINGS.default_model]


def test_models_summarise_each_card(client: TestClient) -> None:
    for model in client.get("/models").json()["models"]:
        card = card_on_disk(model["name"])
        assert model["description"] == card["description"]
        assert model["params"] == card["params"]
        assert model["mnist_test_accuracy"] == card["evaluation"]["mnist_test"]["accuracy"]
        assert 0.9 <= model["mnist_test_accuracy"] <= 1
        assert model["real_drawings_accuracy"] == real_drawings_accuracy(card)
        assert set(model) == {
            "name",
            "description",
            "architecture",
            "params",
            "mnist_test_accuracy",
            "real_drawings_accuracy",
            "default",
            "version",
            "versions",
            "report",
        }
        assert model["report"] == f"/report/{model['name']}"


def test_real_drawings_accuracy_is_the_heldout_strokes_figure_when_measured() -> None:
    measured = {"evaluation": {"real_drawings": {"heldout": {"strokes": 0.9712, "image": 0.95}}}}
    assert real_drawings_accuracy(measured) == 0.9712
    assert real_drawings_accuracy({"evaluation": {"mnist_test": {"accuracy": 0.99}}}) is None
    assert real_drawings_accuracy({}) is None


def test_model_returns_its_card(client: TestClient) -> None:
    response = client.get(f"/models/{SETTINGS.default_model}")
    assert response.status_code == 200
    assert response.json() == card_on_disk(SETTINGS.default_model)


def test_unknown_model_card_is_404_listing_the_models(client: TestClient) -> None:
    message = assert_error(client.get("/models/lenet-1998"), 404, "unknown_model", "'lenet-1998'")
    assert SETTINGS.default_model in message


def test_health_and_ready_report_the_served_models(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready"
    assert ready["default_model"] == SETTINGS.default_model
    assert SETTINGS.default_model in ready["models"]


@pytest.mark.parametrize("probe", ["/health", "/ready"])
def test_probes_answer_head_without_a_body(client: TestClient, probe: str) -> None:
    response = client.head(probe)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"] == "application/json"


def test_static_files_are_kept_but_revalidated(client: TestClient) -> None:
    first = client.get("/static/js/main.js")
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
    again = client.get("/static/js/main.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_openapi_names_schemas_by_direction_with_an_example_per_input_kind(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name in (
        "PredictRequest",
        "Prediction",
        "BatchRequest",
        "BatchResponse",
        "ModelSummary",
        "ErrorResponse",
    ):
        assert schemas[name]["description"], name
    assert set(schemas["PredictRequest"]["properties"]) == {"image", "strokes", "pixels", "model"}
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/PredictRequest"}
    kinds = {
        next(iter(example["value"])) for example in body["application/json"]["examples"].values()
    }
    assert kinds == {"image", "strokes", "pixels"}
    assert body["multipart/form-data"]["schema"]["required"] == ["file"]
    batch = document["paths"]["/predict/batch"]["post"]["requestBody"]["content"]
    assert batch["application/json"]["schema"] == {"$ref": "#/components/schemas/BatchRequest"}
    error = document["paths"]["/predict"]["post"]["responses"]["422"]["content"]
    assert error["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_this_server(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200 and "openapi.json" in response.text
    assert "https://" not in response.text and "http://" not in response.text
    policy = response.headers["content-security-policy"]
    assert "https:" not in policy
    assert "object-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assets = re.findall(r'(?:src|href)="(/static-docs/[^"]+)"', response.text)
    assert assets, "the page names no local script or style"
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200 and len(served.content) > 1000, asset


def test_html_responses_get_the_page_policy_and_json_ones_only_nosniff(
    client: TestClient,
) -> None:
    async def page(request: object) -> HTMLResponse:
        return HTMLResponse("<!doctype html><p>hi</p>")

    with TestClient(SecurityHeaders(Starlette(routes=[Route("/", page)]))) as bare:
        response = bare.get("/")
    assert response.headers["content-security-policy"] == (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
    )
    assert response.headers["content-security-policy"] == PAGE_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    page = client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == PAGE_POLICY
    json_response = client.get("/models")
    assert "content-security-policy" not in json_response.headers
    assert json_response.headers["x-content-type-options"] == "nosniff"
