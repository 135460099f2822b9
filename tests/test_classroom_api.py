"""The classroom API against a real ``python -m app``: auth, limits, labels, events, export.

Durability (kill -9, restart) and two worker processes are in test_classroom_durability.py.
"""

import csv
import io
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from app.settings import Settings
from tests.classroom_helpers import (
    SseReader,
    image_payload,
    join,
    kinds,
    send,
    start_class,
)
from tests.helpers import TEACHER, assert_error, running_server

PER_MINUTE = 4
MAX_STUDENTS = 6
SERVER_ENV = {
    "DIGITDRAW_CLASSROOM_DRAWINGS_PER_MINUTE": str(PER_MINUTE),
    "DIGITDRAW_CLASSROOM_MAX_STUDENTS": str(MAX_STUDENTS),
    "DIGITDRAW_CLASSROOM_HEARTBEAT_S": "1",
}
WRONG_KEY = {"Authorization": "Bearer not-the-teacher-key"}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server(Settings().model_dir, "--log-level", "warning", env=SERVER_ENV) as (
        base_url,
        _,
    ):
        yield base_url


@pytest.fixture(scope="module")
def digits(mnist_test: tuple[np.ndarray, np.ndarray]) -> list[tuple[np.ndarray, int]]:
    images, labels = mnist_test
    return [(images[i], int(labels[i])) for i in range(20)]


def teacher_requests(code: str) -> list[tuple[str, str, dict | None]]:
    """Every teacher endpoint of one class (and the class list), with a valid body."""
    base = f"/api/classes/{code}"
    return [
        ("POST", "/api/classes", None),
        ("GET", "/api/classes", None),
        ("GET", base, None),
        ("GET", f"{base}/drawings", None),
        ("GET", f"{base}/events", None),
        ("GET", f"{base}/export?format=csv", None),
        ("GET", f"{base}/export?format=npz", None),
        ("POST", f"{base}/prompt", {"digit": 7}),
        ("POST", f"{base}/pause", {"value": True}),
        ("POST", f"{base}/veil", {"value": True}),
        ("POST", f"{base}/clear", None),
        ("POST", f"{base}/drawings/1/hide", {"value": True}),
        ("POST", f"{base}/end", None),
        ("DELETE", base, None),
    ]


def test_every_teacher_endpoint_refuses_no_key_a_wrong_key_and_a_student_token(
    server: str,
) -> None:
    code = start_class(server)["code"]
    student = join(server, code, "Ada")
    for method, path, body in teacher_requests(code):
        for headers, status, error_code in (
            ({}, 401, "unauthorized"),
            (WRONG_KEY, 403, "forbidden"),
            (student.auth, 403, "forbidden"),
        ):
            response = httpx.request(method, server + path, json=body, headers=headers)
            assert_error(response, status, error_code)
    # Nothing above changed the class.
    state = httpx.get(f"{server}/api/classes/{code}", headers=TEACHER).json()
    assert (state["ended"], state["paused"], state["prompt"]) == (False, False, None)


def test_a_class_starts_with_a_short_code_a_join_url_and_an_svg_qr_code(server: str) -> None:
    started = start_class(server)
    code = started["code"]
    assert len(code) == 5 and code.isalnum() and code.isupper()
    assert started["join_url"].endswith(f"/join/{code}")
    assert started["join_url"].startswith("http://127.0.0.1:")
    assert started["qr_svg"].startswith("<svg") and 'id="join-qr"' in started["qr_svg"]
    assert started["reachable_from_lan"] is False  # this test server listens on loopback only
    # The code is read whatever its case, as a student types it.
    joined = httpx.post(f"{server}/api/classes/{code.lower()}/join", json={})
    assert joined.status_code == 201, joined.text


def test_joining_gives_a_friendly_name_keeps_unsafe_text_as_text_and_checks_limits(
    server: str,
) -> None:
    code = start_class(server)["code"]
    generated = join(server, code)
    assert len(generated.name.split()) == 2 and generated.name.istitle()
    unsafe = "<img src=x onerror=alert(1)>"
    assert join(server, code, unsafe).name == unsafe
    assert join(server, code, "  Ada \n  Lovelace ").name == "Ada Lovelace"
    assert join(server, code, "Ada Lovelace").name == "Ada Lovelace 2"
    too_long = httpx.post(f"{server}/api/classes/{code}/join", json={"name": "x" * 33})
    assert_error(too_long, 422, "name_too_long")
    for _ in range(MAX_STUDENTS - 4):
        join(server, code)
    full = httpx.post(f"{server}/api/classes/{code}/join", json={})
    assert_error(full, 409, "class_full")
    unknown = httpx.post(f"{server}/api/classes/ZZZZZ/join", json={})
    assert_error(unknown, 404, "unknown_class")
    assert httpx.post(f"{server}/api/classes/{code}/end", headers=TEACHER).status_code == 200
    ended = httpx.post(f"{server}/api/classes/{code}/join", json={})
    assert_error(ended, 410, "class_ended")


def test_a_sent_drawing_is_answered_like_predict_and_stored_in_order(
    server: str, digits: list[tuple[np.ndarray, int]]
) -> None:
    code = start_class(server)["code"]
    ada, bob = join(server, code, "Ada"), join(server, code, "Bob")
    sent = []
    for i, (image, label) in enumerate(digits[:4]):
        student = ada if i % 2 == 0 else bob
        response = send(server, code, student, image_payload(image))
        assert response.status_code == 201, response.text
        answer = response.json()
        assert {"digit", "confidence", "probabilities", "model", "preprocessed"} <= set(answer)
        assert answer["digit"] == label
        sent.append((answer["drawing_id"], student.name, label))
    listed = httpx.get(f"{server}/api/classes/{code}/drawings", headers=TEACHER).json()
    rows = listed["drawings"]
    assert [(row["id"], row["student"], row["digit"]) for row in rows] == sent
    for row in rows:
        assert {"confidence", "label", "prompt", "created_at", "hidden"} <= set(row)
        assert row["label"] is None and row["prompt"] is None
    assert rows == sorted(rows, key=lambda row: row["created_at"])


def test_labels_come_from_the_sender_or_the_teacher_only(
    server: str, digits: list[tuple[np.ndarray, int]]
) -> None:
    code = start_class(server)["code"]
    ada, bob = join(server, code, "Ada"), join(server, code, "Bob")
    drawing_id = send(server, code, ada, image_payload(digits[0][0])).json()["drawing_id"]
    label_url = f"{server}/api/classes/{code}/drawings/{drawing_id}/label"
    assert_error(httpx.post(label_url, json={"label": 3}), 401, "unauthorized")
    assert_error(httpx.post(label_url, json={"label": 3}, headers=bob.auth), 403, "forbidden")
    assert_error(httpx.post(label_url, json={"label": 12}, headers=ada.auth), 422, None)
    mine = httpx.post(label_url, json={"label": 3}, headers=ada.auth)
    assert mine.status_code == 200 and mine.json()["labelled_by"] == "student"
    by_teacher = httpx.post(label_url, json={"label": 4}, headers=TEACHER)
    assert by_teacher.status_code == 200 and by_teacher.json()["labelled_by"] == "teacher"
    missing = f"{server}/api/classes/{code}/drawings/999999/label"
    assert_error(httpx.post(missing, json={"label": 1}, headers=TEACHER), 404, "unknown_drawing")
    # A student of another class cannot send to, or label in, this one.
    other = join(server, start_class(server)["code"], "Eve")
    assert_error(send(server, code, other, image_payload(digits[1][0])), 403, "forbidden")
    assert_error(httpx.post(label_url, json={"label": 1}, headers=other.auth), 403, "forbidden")
    # Nor can the teacher key send a drawing as if it were a student.
    teacher_send = httpx.post(
        f"{server}/api/classes/{code}/drawings", json=image_payload(digits[1][0]), headers=TEACHER
    )
    assert_error(teacher_send, 403, "forbidden")
    row = httpx.get(f"{server}/api/classes/{code}/drawings", headers=TEACHER).json()["drawings"]
    assert [(r["label"], r["labelled_by"]) for r in row] == [(4, "teacher")]


def test_sending_is_rate_limited_per_student_with_retry_after(
    server: str, digits: list[tuple[np.ndarray, int]]
) -> None:
    code = start_class(server)["code"]
    ada, bob = join(server, code, "Ada"), join(server, code, "Bob")
    payload = image_payload(digits[0][0])
    for _ in range(PER_MINUTE):
        assert send(server, code, ada, payload).status_code == 201
    limited = send(server, code, ada, payload)
    assert_error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert send(server, code, bob, payload).status_code == 201  # the limit is per student


def test_pause_prompt_end_and_empty_drawings_are_enforced(
    server: str, digits: list[tuple[np.ndarray, int]]
) -> None:
    code = start_class(server)["code"]
    ada = join(server, code, "Ada")
    base = f"{server}/api/classes/{code}"
    empty = send(server, code, ada, {"strokes": []})
    assert_error(empty, 422, None)
    assert httpx.post(f"{base}/prompt", json={"digit": 7}, headers=TEACHER).json()["prompt"] == 7
    assert_error(httpx.post(f"{base}/prompt", json={"digit": 10}, headers=TEACHER), 422, None)
    prompted = send(server, code, ada, image_payload(digits[0][0]))
    assert prompted.status_code == 201 and prompted.json()["prompt"] == 7
    assert httpx.post(f"{base}/pause", json={"value": True}, headers=TEACHER).json()["paused"]
    assert_error(send(server, code, ada, image_payload(digits[0][0])), 409, "class_paused")
    httpx.post(f"{base}/pause", json={"value": False}, headers=TEACHER)
    me = httpx.get(f"{base}/me", headers=ada.auth).json()
    assert me["name"] == "Ada" and me["class"]["prompt"] == 7 and not me["class"]["paused"]
    assert httpx.post(f"{base}/end", headers=TEACHER).json()["ended"] is True
    assert_error(send(server, code, ada, image_payload(digits[0][0])), 410, "class_ended")


def test_events_carry_ids_and_replay_from_last_event_id(
    server: str, digits: list[tuple[np.ndarray, int]]
) -> None:
    code = start_class(server)["code"]
    base = f"{server}/api/classes/{code}"
    wall = SseReader(f"{base}/events", TEACHER)
    ada = join(server, code, "Ada")
    phone = SseReader(f"{base}/me/events", ada.auth)
    first = send(server, code, ada, image_payload(digits[0][0])).json()
    httpx.post(f"{base}/prompt", json={"digit": 3}, headers=TEACHER)
    httpx.post(f"{base}/drawings/{first['drawing_id']}/hide", json={}, headers=TEACHER)
    httpx.post(f"{base}/drawings/{first['drawing_id']}/label", json={"label": 5}, headers=ada.auth)
    events = wall.wait_for(lambda seen: "label" in kinds(seen))
    assert kinds(events) == ["start", "join", "drawing", "prompt", "hide", "label"]
    ids = [int(event["id"]) for event in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    drawing = events[2]["data"]
    assert drawing["id"] == first["drawing_id"] and drawing["student"] == "Ada"
    assert drawing["digit"] == first["digit"] and drawing["preprocessed"].startswith("data:image")
    # The phone hears the prompt (not the drawings of others).
    assert kinds(phone.wait_for(lambda seen: len(seen) >= 1)) == ["prompt"]
    # A wall that reconnects with Last-Event-ID gets only what came after.
    wall.close()
    second = send(server, code, ada, image_payload(digits[1][0])).json()
    replay = SseReader(f"{base}/events", {**TEACHER, "Last-Event-ID": events[-1]["id"]})
    caught_up = replay.wait_for(lambda seen: len(seen) >= 1)
    assert kinds(caught_up) == ["drawing"] and caught_up[0]["data"]["id"] == second["drawing_id"]
    fallback = SseReader(f"{base}/events?last_event_id={events[3]['id']}", TEACHER)
    assert kinds(fallback.wait_for(lambda seen: len(seen) >= 3))[:3] == ["hide", "label", "drawing"]
    # Heartbeats keep an idle stream open; end reaches both, and closes the phone's stream.
    replay.wait_for(lambda seen: len(replay.comments) >= 2)
    httpx.post(f"{base}/end", headers=TEACHER)
    assert replay.wait_for(lambda seen: "end" in kinds(seen))
    phone.wait_for(lambda seen: "end" in kinds(seen))
    assert phone.done.wait(10)
    for reader in (replay, fallback):
        reader.close()


def test_export_gives_csv_of_every_drawing_and_an_mnist_npz_of_labelled_ones(
    server: str, digits: list[tuple[np.ndarray, int]]
) -> None:
    code = start_class(server)["code"]
    base = f"{server}/api/classes/{code}"
    ada = join(server, code, 'Ada, "the first"')
    free = send(server, code, ada, image_payload(digits[0][0])).json()
    httpx.post(f"{base}/prompt", json={"digit": digits[1][1]}, headers=TEACHER)
    prompted = send(server, code, ada, image_payload(digits[1][0])).json()
    labelled = send(server, code, ada, image_payload(digits[2][0])).json()
    url = f"{base}/drawings/{labelled['drawing_id']}/label"
    httpx.post(url, json={"label": 9}, headers=ada.auth)
    csv_response = httpx.get(f"{base}/export?format=csv", headers=TEACHER)
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert [int(row["drawing_id"]) for row in rows] == [
        free["drawing_id"],
        prompted["drawing_id"],
        labelled["drawing_id"],
    ]
    assert rows[0]["student"] == 'Ada, "the first"' and rows[0]["target"] == ""
    assert rows[1]["target"] == str(digits[1][1]) and rows[2]["target"] == "9"
    npz_response = httpx.get(f"{base}/export?format=npz", headers=TEACHER)
    assert npz_response.status_code == 200
    with np.load(io.BytesIO(npz_response.content), allow_pickle=False) as archive:
        x, y = archive["x_train"], archive["y_train"]
        assert x.shape == (2, 28, 28) and x.dtype == np.uint8
        assert y.tolist() == [digits[1][1], 9]
        assert archive["drawing_ids"].tolist() == [prompted["drawing_id"], labelled["drawing_id"]]
        assert x.max() == 255 and x[:, 0, 0].max() == 0  # white ink on black, as MNIST
    bad = httpx.get(f"{base}/export?format=xls", headers=TEACHER)
    assert_error(bad, 422, "invalid_request")


def test_the_teacher_lists_and_deletes_classes(server: str) -> None:
    code = start_class(server)["code"]
    listed = httpx.get(f"{server}/api/classes", headers=TEACHER).json()["classes"]
    assert code in [entry["code"] for entry in listed]
    assert httpx.delete(f"{server}/api/classes/{code}", headers=TEACHER).status_code == 204
    assert_error(httpx.get(f"{server}/api/classes/{code}", headers=TEACHER), 404, "unknown_class")


def test_teacher_page_takes_the_key_once_and_keeps_it_out_of_the_url(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        assert "teach-key" in client.get("/teach").text
        assert client.get("/teach?key=wrong").status_code == 403
        response = client.get("/teach", params={"key": TEACHER["Authorization"][7:]})
        assert response.status_code == 303 and response.headers["location"] == "/teach"
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        page = client.get("/teach")
        assert page.status_code == 200 and TEACHER["Authorization"][7:] not in page.text
        assert client.post("/api/classes").status_code == 201  # the cookie is a teacher's key
