"""Corrections: stored exactly as sent, read back, exported, limited like /predict, and durable."""

import base64
import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from app.inference import load_registry
from app.routers.corrections import prepare_correction
from app.settings import Settings
from app.store.corrections import CorrectionStore, Example, labelled_examples
from app.store.db import StoreUnavailable, connect, db_path, migrate, schema_version
from tests.helpers import (
    TEACHER,
    assert_error,
    data_url,
    digit_canvas,
    encode,
    running_server,
)

SETTINGS = Settings()
STROKES = [[[10, 10], [90, 10], [40, 110]], [[25, 60.5], [60, 60]]]  # a 7 with a bar, ints kept
SEVEN = {"strokes": STROKES}


def png_pixels(url: str) -> np.ndarray:
    """The 28x28 uint8 of a PNG data URL."""
    data = base64.b64decode(url.partition(",")[2])
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"))


def a_drawn_digit(seed: int = 0) -> bytes:
    """A PNG of a blocky 4 on a white canvas, different per seed."""
    rng = np.random.default_rng(seed)
    digit = np.zeros((28, 28), np.uint8)
    digit[4:16, 8:11] = 255
    digit[14:17, 8:22] = 255
    digit[4:25, 17 + int(rng.integers(0, 3)) : 20 + int(rng.integers(0, 3))] = 255
    return encode(digit_canvas(digit))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("data")
    with running_server(SETTINGS.model_dir, data_dir=data_dir) as (base_url, _):
        yield base_url, data_dir


def all_corrections(base_url: str) -> list[dict]:
    """Every stored correction, page by page (3 a page, to cross page boundaries)."""
    found, after = [], 0
    while True:
        page = httpx.get(
            f"{base_url}/corrections", params={"after": after, "limit": 3}, headers=TEACHER
        ).json()
        found += page["corrections"]
        if page["next_after"] is None:
            assert page["total"] == len(found)
            return found
        after = page["next_after"]


def test_strokes_correction_is_stored_as_sent_with_what_the_model_saw(
    server: tuple[str, Path],
) -> None:
    base_url, _ = server
    seen = httpx.post(f"{base_url}/predict", json=SEVEN).json()
    body = {**SEVEN, "label": 1, "answer": seen["digit"], "source": "page", "writer": "ada"}
    response = httpx.post(f"{base_url}/corrections", json=body)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"id"}
    stored = {c["id"]: c for c in all_corrections(base_url)}[response.json()["id"]]
    assert stored["data"] == STROKES  # ints stay ints, 60.5 stays 60.5
    assert isinstance(stored["data"][0][0][0], int)
    assert stored["preprocessed"] == seen["preprocessed"]
    assert (stored["model"], stored["model_version"]) == (SETTINGS.default_model, 1)
    assert stored["digit"] == stored["shown_digit"] == seen["digit"]
    assert np.allclose(stored["probabilities"], seen["probabilities"], atol=1e-12)
    assert (stored["label"], stored["source"], stored["writer"], stored["input"]) == (
        1,
        "page",
        "ada",
        "strokes",
    )


def test_image_corrections_keep_the_file_bytes_from_json_and_multipart(
    server: tuple[str, Path],
) -> None:
    base_url, _ = server
    png = a_drawn_digit(1)
    as_json = httpx.post(
        f"{base_url}/corrections", json={"image": data_url(png), "label": 4, "model": "mlp512"}
    )
    other = a_drawn_digit(2)
    as_form = httpx.post(
        f"{base_url}/corrections",
        files={"file": ("four.png", other, "image/png")},
        data={"label": "4", "source": "class", "answer": "9"},
    )
    assert as_json.status_code == as_form.status_code == 201, (as_json.text, as_form.text)
    stored = {c["id"]: c for c in all_corrections(base_url)}
    from_json, from_form = stored[as_json.json()["id"]], stored[as_form.json()["id"]]
    assert base64.b64decode(from_json["data"]) == png
    assert base64.b64decode(from_form["data"]) == other
    assert (from_json["model"], from_json["source"], from_json["shown_digit"]) == (
        "mlp512",
        "api",
        None,
    )
    assert (from_form["source"], from_form["shown_digit"], from_form["label"]) == ("class", 9, 4)
    seen = httpx.post(f"{base_url}/predict", json={"image": data_url(png)}).json()
    assert from_json["preprocessed"] == seen["preprocessed"]


def test_pixels_correction_keeps_the_pixels(server: tuple[str, Path]) -> None:
    base_url, _ = server
    pixels = np.zeros((28, 28), int)
    pixels[4:24, 13:16] = 255
    response = httpx.post(
        f"{base_url}/corrections", json={"pixels": pixels.tolist(), "label": 1, "model": "mlp512@1"}
    )
    assert response.status_code == 201, response.text
    stored = {c["id"]: c for c in all_corrections(base_url)}[response.json()["id"]]
    assert stored["data"] == pixels.tolist()
    assert np.array_equal(png_pixels(stored["preprocessed"]), pixels)


def test_export_holds_exactly_what_is_stored_as_npz_and_csv(server: tuple[str, Path]) -> None:
    base_url, _ = server
    httpx.post(f"{base_url}/corrections", json={**SEVEN, "label": 7, "writer": "bo"})
    stored = all_corrections(base_url)
    npz = httpx.get(f"{base_url}/corrections/export", params={"format": "npz"}, headers=TEACHER)
    assert npz.status_code == 200
    assert 'filename="corrections.npz"' in npz.headers["content-disposition"]
    with np.load(io.BytesIO(npz.content)) as exported:
        x, y, ids = exported["x"], exported["y"], exported["id"]
        assert x.dtype == np.uint8 and x.shape == (len(stored), 28, 28)
        assert y.dtype == np.uint8 and y.tolist() == [c["label"] for c in stored]
        assert ids.tolist() == [f"correction:{c['id']}" for c in stored]
        assert exported["group"].tolist()[-1] == "writer:bo"
        for image, correction in zip(x, stored, strict=True):
            assert np.array_equal(image, png_pixels(correction["preprocessed"]))
            assert image.max() > 200 and image[0, 0] == 0  # white ink on black, as MNIST
    text = httpx.get(f"{base_url}/corrections/export?format=csv", headers=TEACHER)
    assert text.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.text)))
    assert [int(row["label"]) for row in rows] == [c["label"] for c in stored]
    last = np.array([int(rows[-1][f"pixel{i}"]) for i in range(784)], np.uint8).reshape(28, 28)
    assert np.array_equal(last, png_pixels(stored[-1]["preprocessed"]))


def test_reading_corrections_needs_the_teacher_key(server: tuple[str, Path]) -> None:
    base_url, _ = server
    wrong = {"Authorization": "Bearer wrong-key-123"}
    for path in ("/corrections", "/corrections/export"):
        assert_error(httpx.get(base_url + path), 401, "unauthorized")
        assert_error(httpx.get(base_url + path, headers=wrong), 403, "forbidden")
    bad_page = httpx.get(f"{base_url}/corrections?limit=100000", headers=TEACHER)
    assert_error(bad_page, 422, "invalid_request", "limit")


@pytest.mark.parametrize(
    ("body", "status", "code", "part"),
    [
        (SEVEN, 422, "invalid_request", "label: Field required"),
        ({**SEVEN, "label": 10}, 422, "invalid_request", "0 to 9"),
        ({**SEVEN, "label": "7"}, 422, "invalid_request", "label"),
        ({**SEVEN, "label": 7, "answer": -1}, 422, "invalid_request", "answer"),
        ({**SEVEN, "label": 7, "source": "email"}, 422, "invalid_request", "source"),
        ({**SEVEN, "label": 7, "writer": "x" * 65}, 422, "invalid_request", "writer"),
        ({"label": 7}, 422, "invalid_input_kind", "exactly one"),
        ({"strokes": [], "label": 7}, 422, "empty_input", ""),
        ({"strokes": [[[1, 2]]] * 101, "label": 7}, 413, "too_many_points", "limit is 100"),
        ({"strokes": [[["a", 1]]], "label": 7}, 422, "invalid_strokes", ""),
        ({"image": "not base64!", "label": 7}, 400, "invalid_image", ""),
        ({**SEVEN, "label": 7, "model": "nope"}, 404, "unknown_model", ""),
        ({**SEVEN, "label": 7, "model": "robust-cnn@9"}, 404, "unknown_model", "robust-cnn@1"),
    ],
)
def test_corrections_refuse_what_predict_refuses_and_bad_labels(
    server: tuple[str, Path], body: dict, status: int, code: str, part: str
) -> None:
    base_url, _ = server
    before = httpx.get(f"{base_url}/corrections", headers=TEACHER).json()["total"]
    assert_error(httpx.post(f"{base_url}/corrections", json=body), status, code, part)
    assert httpx.get(f"{base_url}/corrections", headers=TEACHER).json()["total"] == before


def test_corrections_refuse_large_bodies_and_other_content_types(
    server: tuple[str, Path],
) -> None:
    base_url, _ = server
    huge = b'{"label": 7, "image": "' + b"A" * (SETTINGS.max_body_bytes + 10) + b'"}'
    headers = {"Content-Type": "application/json"}
    response = httpx.post(f"{base_url}/corrections", content=huge, headers=headers)
    assert_error(response, 413, "body_too_large")
    response = httpx.post(
        f"{base_url}/corrections", content=b"7", headers={"Content-Type": "text/plain"}
    )
    assert_error(response, 415, "unsupported_media_type")
    form = httpx.post(f"{base_url}/corrections", files={"file": ("a.png", a_drawn_digit())})
    assert_error(form, 422, "invalid_request", "label")


# procfs takes no new files from anyone: the last resort where root cannot make a folder immutable.
NO_WRITES_ANYWHERE = Path("/proc/digitdraw-read-only-data")


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """`folder` made read-only for the server, root included; yields the data folder to use.

    chmod stops ordinary users; root needs chattr +i (CAP_LINUX_IMMUTABLE). Without it, root is
    given a folder on procfs, where nothing can be written either.
    """
    folder.chmod(0o555)
    immutable = os.geteuid() == 0
    try:
        if immutable:
            try:
                subprocess.run(["chattr", "+i", str(folder)], check=True, capture_output=True)
            except (OSError, subprocess.CalledProcessError):
                immutable = False
                folder = NO_WRITES_ANYWHERE
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        if folder != NO_WRITES_ANYWHERE:
            folder.chmod(0o755)


@pytest.mark.slow
def test_read_only_data_folder_refuses_corrections_with_503_but_predicts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with (
        read_only(data_dir) as unwritable,
        running_server(SETTINGS.model_dir, data_dir=unwritable) as (url, _),
    ):
        response = httpx.post(f"{url}/corrections", json={**SEVEN, "label": 7})
        message = assert_error(response, 503, "store_unavailable", "could not be saved")
        assert "Predictions still work" in message
        assert httpx.post(f"{url}/predict", json=SEVEN).json()["digit"] == 7
        assert httpx.get(f"{url}/corrections", headers=TEACHER).json()["total"] == 0


def test_store_in_an_unwritable_existing_file_raises_store_unavailable(tmp_path: Path) -> None:
    registry = load_registry(SETTINGS.model_dir, SETTINGS.default_model)
    correction = prepare_correction(
        b'{"strokes": [[[0, 0], [9, 9]]], "label": 1}', registry, SETTINGS
    )
    store = CorrectionStore(tmp_path)
    store.add(correction)
    for path in tmp_path.iterdir():
        path.chmod(0o444)
    with read_only(tmp_path) as unwritable, pytest.raises(StoreUnavailable):
        CorrectionStore(unwritable).add(correction)
    for path in tmp_path.iterdir():
        path.chmod(0o644)
    assert store.count() == 1


def test_schema_from_an_empty_file_reaches_the_corrections_step(tmp_path: Path) -> None:
    connection = connect(db_path(tmp_path))
    assert migrate(connection) >= 2 and schema_version(connection) >= 2
    columns = {row[1] for row in connection.execute("PRAGMA table_info(corrections)")}
    assert {"input_data", "mnist", "model", "model_version", "label", "source"} <= columns
    with pytest.raises(sqlite3.IntegrityError):  # the schema itself refuses a wrong label
        connection.execute(
            "INSERT INTO corrections (created_at, source, input_kind, input_data, mnist, model, "
            "model_version, digit, probabilities, label) VALUES (0, 'api', 'pixels', x'', "
            "zeroblob(784), 'm', 1, 1, '[]', 11)"
        )


def test_labelled_class_drawings_join_the_export_through_the_classroom_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The classroom's ClassStore.labelled_drawings() rows become examples with source class."""
    image = np.zeros((28, 28), np.uint8)
    image[5:20, 10:14] = 200

    class FakeClassStore:
        def __init__(self, data_dir: Path) -> None:
            assert data_dir == tmp_path

        def labelled_drawings(self) -> Iterator[types.SimpleNamespace]:
            yield types.SimpleNamespace(
                drawing_id=5,
                class_code="K7Q",
                image=image,
                label=1,
                labelled_by="student",
                digit=7,
                model="robust-cnn",
                created_at=12.5,
            )

    fake = types.ModuleType("app.store.classes")
    fake.ClassStore = FakeClassStore  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "app.store.classes", fake)
    examples: list[Example] = list(labelled_examples(tmp_path))
    assert [(e.id, e.source, e.group, e.label, e.digit) for e in examples] == [
        ("drawing:5", "class", "class:K7Q", 1, 7)
    ]
    assert np.array_equal(examples[0].image, image)


@pytest.mark.slow
def test_kill_9_while_posting_1000_corrections_loses_none_that_got_201(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    acknowledged: dict[int, int] = {}  # id -> label
    lock = threading.Lock()
    with running_server(SETTINGS.model_dir, data_dir=data_dir) as (base_url, process):

        def post(start: int) -> None:
            with httpx.Client(base_url=base_url, timeout=30) as client:
                for index in range(start, 1000, 4):
                    label = index % 10
                    try:
                        response = client.post("/corrections", json={**SEVEN, "label": label})
                    except httpx.HTTPError:
                        return  # the server is gone
                    if response.status_code == 201:
                        with lock:
                            acknowledged[response.json()["id"]] = label

        posters = [threading.Thread(target=post, args=(start,)) for start in range(4)]
        for poster in posters:
            poster.start()
        while len(acknowledged) < 300 and any(poster.is_alive() for poster in posters):
            threading.Event().wait(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        for poster in posters:
            poster.join(timeout=60)
    assert 300 <= len(acknowledged) < 1000, len(acknowledged)
    stored = {c.id: c.label for c in CorrectionStore(data_dir).rows()}
    assert {key: stored.get(key) for key in acknowledged} == acknowledged
