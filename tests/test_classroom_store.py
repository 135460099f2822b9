"""The classroom's pieces without a server: the store, join codes and names, LAN addresses."""

import socket
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import segno

from app.classroom import join as joining
from app.classroom import network
from app.errors import ClassEnded, NameTooLong, RateLimited
from app.store.classes import ClassStore, NewDrawing
from app.store.db import MIGRATIONS, connect, db_path, schema_version


def prediction(digit: int) -> dict:
    probabilities = [0.01] * 10
    probabilities[digit] = 0.91
    return {
        "digit": digit,
        "confidence": 0.91,
        "probabilities": probabilities,
        "model": "robust-cnn",
        "input": "strokes",
        "preprocessed": "data:image/png;base64,AAAA",
        "timing_ms": {"preprocess": 1.0, "inference": 0.1},
        "is_digit": True,  # a field added by another feature flows through untouched
    }


def drawing(digit: int) -> NewDrawing:
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 13:15] = 255
    return NewDrawing("strokes", b'{"strokes": [[[1, 2], [3, 4]]]}', image, prediction(digit))


def test_the_classroom_migration_is_version_1_and_applies_once(tmp_path: Path) -> None:
    assert [(m.version, m.name) for m in MIGRATIONS][:1] == [(1, "classroom")]
    ClassStore(tmp_path)
    ClassStore(tmp_path)  # a second worker opening the same file changes nothing
    connection = connect(db_path(tmp_path))
    assert schema_version(connection) >= 1
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"classes", "students", "drawings", "class_events"} <= tables


def test_drawings_keep_the_input_the_28x28_and_extra_prediction_fields(tmp_path: Path) -> None:
    store = ClassStore(tmp_path)
    klass = store.create_class("ABCDE", max_classes=5)
    ada = store.join(klass, "Ada", joining.token_hash("t1"), max_students=5)
    stored = store.drawings(klass)
    assert stored == []
    tile = store.add_drawing(klass, ada, drawing(1), per_minute=10)
    assert tile["is_digit"] is True and tile["student"] == "Ada" and tile["prompt"] is None
    assert store.input_as_sent(tile["id"]) == ("strokes", b'{"strokes": [[[1, 2], [3, 4]]]}')
    store.set_label(klass, tile["id"], 7, "student")
    labelled = list(store.labelled_drawings())
    assert [(d.drawing_id, d.label, d.labelled_by, d.digit, d.class_code) for d in labelled] == [
        (tile["id"], 7, "student", 1, "ABCDE")
    ]
    assert labelled[0].image.shape == (28, 28) and labelled[0].image.max() == 255
    assert list(store.labelled_drawings(since_id=tile["id"])) == []


def test_limits_are_checked_inside_the_write(tmp_path: Path) -> None:
    store = ClassStore(tmp_path)
    klass = store.create_class("ABCDE", max_classes=5)
    ada = store.join(klass, "Ada", joining.token_hash("t1"), max_students=5)
    for _ in range(3):
        store.add_drawing(klass, ada, drawing(2), per_minute=3)
    with pytest.raises(RateLimited) as limited:
        store.add_drawing(klass, ada, drawing(2), per_minute=3)
    assert 1 <= limited.value.retry_after <= 60
    store.end_class(klass)
    with pytest.raises(ClassEnded):
        store.add_drawing(klass, ada, drawing(2), per_minute=100)


def test_every_change_is_one_event_in_order(tmp_path: Path) -> None:
    store = ClassStore(tmp_path)
    klass = store.create_class("ABCDE", max_classes=5)
    ada = store.join(klass, "Ada", joining.token_hash("t1"), max_students=5)
    tile = store.add_drawing(klass, ada, drawing(3), per_minute=10)
    store.set_prompt(klass, 3)
    store.set_hidden(klass, tile["id"], True)
    store.set_veiled(klass, True)
    store.clear_wall(klass)
    store.end_class(klass)
    events = store.events_after(klass.id, 0)
    kinds = [event.kind for event in events]
    assert kinds == ["start", "join", "drawing", "prompt", "hide", "veil", "clear", "end"]
    assert [e.kind for e in store.events_after(klass.id, 0, {"prompt", "end"})] == ["prompt", "end"]
    assert store.events_after(klass.id, events[-1].id) == []


def test_names_are_cleaned_limited_and_generated() -> None:
    assert joining.clean_name("  Ada\u200b\tLovelace \n", 32) == "Ada Lovelace"
    assert joining.clean_name("<b>x</b>", 32) == "<b>x</b>"  # kept as text, escaped by pages
    generated = joining.clean_name("   ", 32)
    adjective, animal = generated.split()
    assert adjective in joining.ADJECTIVES and animal in joining.ANIMALS
    with pytest.raises(NameTooLong):
        joining.clean_name("x" * 33, 32)


def test_codes_avoid_misread_characters_and_are_read_in_any_case() -> None:
    codes = {joining.new_code() for _ in range(200)}
    assert all(len(code) == joining.CODE_LENGTH for code in codes)
    assert not set("".join(codes)) & set("0O1IL")
    assert joining.normalise_code(" ab-cd e") == "ABCDE"


def test_the_qr_code_encodes_the_join_url() -> None:
    url = "http://192.168.1.20:8000/join/ABCDE"
    svg = joining.qr_svg(url, "QR")
    assert svg.startswith("<svg") and 'id="join-qr"' in svg
    assert svg == segno.make(url, error="m").svg_inline(
        scale=8, border=2, dark="#000", light="#fff", svgid="join-qr", svgclass="join-qr",
        title="QR", omitsize=True,
    )  # fmt: skip


def test_lan_addresses_put_real_interfaces_first(monkeypatch: pytest.MonkeyPatch) -> None:
    def address(ip: str) -> SimpleNamespace:
        return SimpleNamespace(family=socket.AF_INET, address=ip)

    interfaces = {
        "lo": [address("127.0.0.1")],
        "docker0": [address("172.17.0.1")],
        "wlan0": [address("192.168.1.20"), SimpleNamespace(family=socket.AF_INET6, address="::1")],
        "eth1": [address("169.254.3.4")],
    }
    monkeypatch.setattr(network.psutil, "net_if_addrs", lambda: interfaces)
    assert network.lan_addresses() == ["192.168.1.20", "172.17.0.1", "169.254.3.4"]
    assert network.join_addresses("0.0.0.0", "127.0.0.1")[0] == "192.168.1.20"
    assert network.join_addresses("127.0.0.1", "127.0.0.1") == ["127.0.0.1"]
    assert network.reachable_from_lan("0.0.0.0") and not network.reachable_from_lan("127.0.0.1")


def test_start_up_prints_the_teacher_link_and_the_students_lan_address(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.__main__ import print_teacher_url
    from app.settings import Settings

    monkeypatch.setattr(network, "lan_addresses", lambda: ["192.168.1.20", "10.0.0.5"])
    print_teacher_url(Settings(host="0.0.0.0", port=8000, teacher_key="k" * 12))
    printed = capsys.readouterr().out
    assert "http://127.0.0.1:8000/teach?key=kkkkkkkkkkkk" in printed
    assert "Students join at: http://192.168.1.20:8000/join" in printed
    assert "Students join at: http://10.0.0.5:8000/join" in printed
    print_teacher_url(Settings(host="127.0.0.1", port=8000, teacher_key="k" * 12))
    assert "--host 0.0.0.0" in capsys.readouterr().out


def test_a_write_lock_held_too_long_is_store_busy_and_leaves_the_store_usable(
    tmp_path: Path,
) -> None:
    from app.errors import StoreBusy

    store = ClassStore(tmp_path)
    klass = store.create_class("ABCDE", max_classes=5)
    ada = store.join(klass, "Ada", joining.token_hash("t1"), max_students=5)
    store._db().execute("PRAGMA busy_timeout = 50")  # this test's patience, not the server's
    other = connect(db_path(tmp_path))
    other.execute("BEGIN IMMEDIATE")  # another worker stuck in a slow fsync
    with pytest.raises(StoreBusy) as busy:
        store.add_drawing(klass, ada, drawing(4), per_minute=10)
    assert busy.value.status == 503 and busy.value.headers["Retry-After"] == "1"
    other.execute("ROLLBACK")
    assert store.add_drawing(klass, ada, drawing(4), per_minute=10)["digit"] == 4
    assert len(store.drawings(klass)) == 1
