"""POST /predict/number against a real server: numbers written from held-out pen digits read
right, digit by digit, left to right, whatever order the strokes came in."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.settings import Settings
from tests.helpers import assert_error, data_url, running_server
from training.numbers import WrittenNumber, draw_number, write_number
from training.pendigits import PenDigit, read_pendigits, writer_split

SETTINGS = Settings()
SEED = 2026


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server(SETTINGS.model_dir, "--log-level", "warning") as (base_url, _):
        yield base_url


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def readable(pendigits_path: Path, client: httpx.Client) -> dict[int, list[PenDigit]]:
    """Held-out digits per class that /predict itself reads right, by stroke count."""
    heldout = writer_split(read_pendigits(pendigits_path))[1]
    chosen: dict[int, list[PenDigit]] = {}
    for digit in heldout[:600]:
        strokes = [s.tolist() for s in digit.strokes]
        answer = client.post("/predict", json={"strokes": strokes}).json()
        if answer["digit"] == digit.label and answer["confidence"] > 0.9:
            chosen.setdefault(digit.label, []).append(digit)
    return chosen


def first_with(digits: list[PenDigit], strokes: int) -> PenDigit:
    return next(digit for digit in digits if len(digit.strokes) == strokes)


def as_json(strokes: tuple[np.ndarray, ...] | list[np.ndarray]) -> list:
    return [np.round(s, 1).tolist() for s in strokes]


def assert_number(body: dict, text: str, kind: str) -> None:
    """The contract: the number, its digits left to right, each with the fields of a digit."""
    assert set(body) == {"number", "digits", "model", "input", "timing_ms"}, body
    assert body["number"] == text, body["number"]
    assert body["input"] == kind and body["model"] == SETTINGS.default_model
    assert [d["digit"] for d in body["digits"]] == [int(c) for c in text]
    for digit in body["digits"]:
        assert set(digit) == {
            "digit",
            "confidence",
            "probabilities",
            "is_digit",
            "digit_score",
            "box",
        }
        assert len(digit["probabilities"]) == 10
        assert abs(sum(digit["probabilities"]) - 1) < 1e-6
        assert digit["confidence"] == max(digit["probabilities"])
        assert isinstance(digit["is_digit"], bool) and 0 <= digit["digit_score"] <= 1
        left, top, right, bottom = digit["box"]
        assert left <= right and top <= bottom
    lefts = [d["box"][0] for d in body["digits"]]
    assert lefts == sorted(lefts), lefts


def test_strokes_2026_read_as_2026_with_four_boxes_left_to_right(
    client: httpx.Client, readable: dict[int, list[PenDigit]]
) -> None:
    digits = [readable[2][0], readable[0][0], readable[2][1], readable[6][0]]
    number = write_number(digits, "clear", np.random.default_rng(SEED))
    response = client.post("/predict/number", json={"strokes": as_json(number.strokes)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert_number(body, "2026", "strokes")
    points = np.concatenate(number.strokes)
    for box in (d["box"] for d in body["digits"]):
        assert points[:, 0].min() - 0.1 <= box[0] and box[2] <= points[:, 0].max() + 0.1
        assert points[:, 1].min() - 0.1 <= box[1] and box[3] <= points[:, 1].max() + 0.1
    rights = [d["box"][2] for d in body["digits"]]
    lefts = [d["box"][0] for d in body["digits"]]
    assert all(right < left for right, left in zip(rights, lefts[1:], strict=False))


def test_two_stroke_4_and_7_with_crossbar_last_and_late_5_flag_are_grouped(
    client: httpx.Client, readable: dict[int, list[PenDigit]]
) -> None:
    """A 5 whose flag is added after the 4 and 7 are written, the 7's crossbar last of all."""
    five, four, seven = (first_with(readable[label], 2) for label in (5, 4, 7))
    number = write_number([five, four, seven], "clear", np.random.default_rng(SEED))
    # write_number shuffles; put the strokes back in a known, awkward order by their place.
    by_left = sorted(number.strokes, key=lambda s: float(s[:, 0].min()))
    five_strokes = [s for s in by_left if s[:, 0].max() <= by_left[1][:, 0].max() + 1][:2]
    rest = [s for s in by_left if not any(s is f for f in five_strokes)]
    four_strokes, seven_strokes = rest[:2], rest[2:]
    # The 5's body is its taller stroke; its flag is the shorter one.
    five_body, five_flag = sorted(five_strokes, key=lambda s: -np.ptp(s[:, 1]))
    seven_stem, seven_bar = sorted(seven_strokes, key=lambda s: -np.ptp(s[:, 1]))
    ordered = [five_body, *four_strokes, seven_stem, five_flag, seven_bar]
    response = client.post("/predict/number", json={"strokes": as_json(ordered)})
    assert response.status_code == 200, response.text
    assert_number(response.json(), "547", "strokes")


def test_handmade_two_stroke_4_and_crossed_7_read_as_47(client: httpx.Client) -> None:
    """Strokes as a mouse draws them: the 4's bar, then the 7, then the 4's hook, then the
    crossbar; the 4's bar lies right of its hook's end, touching it."""
    four_bar = [[40, 10], [40, 100]]
    seven = [[70, 12], [115, 12], [88, 100]]
    four_hook = [[22, 10], [10, 62], [52, 62]]
    crossbar = [[82, 55], [110, 55]]
    body = client.post(
        "/predict/number", json={"strokes": [four_bar, seven, four_hook, crossbar]}
    ).json()
    assert body["number"] == "47", body


def touching_number(readable: dict[int, list[PenDigit]], text: str, seed: int) -> WrittenNumber:
    digits = [readable[int(c)][i] for i, c in enumerate(text)]
    return write_number(digits, "touching", np.random.default_rng(seed))


def test_image_of_touching_digits_is_split(
    client: httpx.Client, readable: dict[int, list[PenDigit]]
) -> None:
    number = touching_number(readable, "305", SEED)
    png = draw_number(number, SEED, 0)
    response = client.post("/predict/number", json={"image": data_url(png)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert_number(body, "305", "image")
    # Touching digits: neighbouring boxes meet or overlap, and still come apart.
    boxes = [d["box"] for d in body["digits"]]
    assert boxes[0][2] >= boxes[1][0] - 3 or boxes[1][2] >= boxes[2][0] - 3


def test_image_of_a_wide_zero_is_one_digit(
    client: httpx.Client, readable: dict[int, list[PenDigit]]
) -> None:
    """A 0 twice as wide as tall is one blob: it is not cut into a 1 and a 0, or a 5 and a 7."""
    turn = np.linspace(0, 2 * np.pi, 80)
    zero = np.stack([100 + 100 * np.cos(turn), 50 + 50 * np.sin(turn)], axis=1)
    strokes = readable[7][0].strokes
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    seven = [(s - low) * (100 / (high[1] - low[1])) + [260, 0] for s in strokes]
    number = WrittenNumber("07", (zero, *seven), "clear", 8.0, (0,) + (1,) * len(seven))
    response = client.post(
        "/predict/number", json={"image": data_url(draw_number(number, SEED, 2))}
    )
    assert response.status_code == 200, response.text
    assert_number(response.json(), "07", "image")


def test_multipart_image_with_model_field(
    client: httpx.Client, readable: dict[int, list[PenDigit]]
) -> None:
    number = write_number([readable[1][0], readable[9][0]], "clear", np.random.default_rng(SEED))
    png = draw_number(number, SEED, 1)
    response = client.post(
        "/predict/number", files={"file": ("n.png", png, "image/png")}, data={"model": "mlp512"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "mlp512" and body["input"] == "image"
    assert len(body["digits"]) == 2


def test_errors_are_those_of_predict(client: httpx.Client) -> None:
    post = client.post
    assert_error(post("/predict/number", json={"strokes": []}), 422, "empty_input")
    assert_error(post("/predict/number", json={"pixels": [[0] * 28] * 28}), 422, "empty_input")
    assert_error(
        post("/predict/number", json={"strokes": [[[1, 2]]], "model": "nope"}),
        404,
        "unknown_model",
    )
    assert_error(
        post(
            "/predict/number",
            content=b'{"strokes": [',
            headers={"content-type": "application/json"},
        ),
        400,
        "malformed_json",
    )
    assert_error(post("/predict/number", json={}), 422, "invalid_input_kind")
    assert_error(
        post("/predict/number", json={"image": "data:image/png;base64,AAAA"}), 400, "invalid_image"
    )


def test_more_digits_than_a_number_has_is_422_too_many_digits(client: httpx.Client) -> None:
    ones = [[[x * 30.0, 0.0], [x * 30.0, 60.0]] for x in range(13)]
    assert_error(
        client.post("/predict/number", json={"strokes": ones}), 422, "too_many_digits", "12"
    )
    twelve = client.post("/predict/number", json={"strokes": ones[:12]}).json()
    assert len(twelve["digits"]) == 12, twelve


def test_openapi_documents_the_number_endpoint(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/predict/number"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert "strokes" in examples and "image" in examples
    assert "multipart/form-data" in operation["requestBody"]["content"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/NumberPrediction")
    assert "box" in document["components"]["schemas"]["NumberDigit"]["properties"]
