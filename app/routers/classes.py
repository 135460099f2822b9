"""The classroom API under /api/classes: the teacher runs a class, students join and send drawings.

Teacher endpoints take the teacher key (TeacherOnly); student endpoints take the student's own
token (`Authorization: Bearer <student token>`), which only ever acts for that student in that
class. Handlers parse, call the store (app.store.classes) or the hub (app.classroom.events), and
shape the answer; sync handlers run in the thread pool, each thread with its own connection.
"""

import csv
import io
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from PIL import Image
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app import preprocessing
from app.auth import TEACHER_COOKIE, TeacherOnly, bearer_token, is_teacher_key
from app.classroom import join as joining
from app.classroom.events import STUDENT_KINDS, EventHub, last_event_id
from app.classroom.network import join_addresses, reachable_from_lan, url_host
from app.dependencies import Drawing, loaded_registry, parse_predict_json, read_predict_body
from app.errors import ClassEnded, MissingCredentials, WrongCredentials
from app.inference import ModelRegistry
from app.routers.predict import predict_drawing
from app.schemas import ERROR_RESPONSES, PREDICT_BODY, ErrorResponse
from app.settings import Settings
from app.store.classes import ClassRow, ClassStore, NewDrawing, StudentRow, pixels
from app.ui_strings import ui_strings

CODE_ATTEMPTS = 20  # a fresh code collides with a stored one about never; give up loudly after 20


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the store (migrating it) and start this worker's reader of the class event log."""
    settings: Settings = app.state.settings
    store = ClassStore(settings.data_dir)
    hub = EventHub(store, settings.classroom_poll_ms / 1000)
    hub.start()
    app.state.class_store = store
    app.state.class_events = hub
    yield
    await hub.stop()


# Every route of one class: a wrong key or token, an unknown class or drawing, a class that ended.
CLASS_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "A body that is not JSON"},
    401: {"model": ErrorResponse, "description": "No teacher key or student token"},
    403: {"model": ErrorResponse, "description": "Wrong teacher key or student token"},
    404: {"model": ErrorResponse, "description": "Unknown class or drawing"},
    409: {"model": ErrorResponse, "description": "The class ended, is full or is paused"},
}
router = APIRouter(prefix="/api/classes", tags=["classroom"], lifespan=lifespan)


def get_store(request: Request) -> ClassStore:
    return request.app.state.class_store


Store = Annotated[ClassStore, Depends(get_store)]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


AppSettings = Annotated[Settings, Depends(get_settings)]


def find_class(code: str, store: Store) -> ClassRow:
    return store.get_class(joining.normalise_code(code))


Class = Annotated[ClassRow, Depends(find_class)]


def current_student(request: Request, klass: Class, store: Store) -> StudentRow:
    """The student whose token came with the request; 401 without one, 403 for another class's."""
    token = bearer_token(request)
    if token is None:
        raise MissingCredentials(
            "This is a student action: send 'Authorization: Bearer <student token>', the token "
            "that joining the class returned."
        )
    student = store.student_by_token(joining.token_hash(token))
    if student is None or student.class_id != klass.id:
        raise WrongCredentials("This student token does not belong to a student of this class.")
    return student


Student = Annotated[StudentRow, Depends(current_student)]


class JoinRequest(BaseModel):
    """A student joins; without a name they get a friendly generated one."""

    name: str | None = None


class LabelRequest(BaseModel):
    """The digit the drawing really is."""

    label: int = Field(ge=0, le=9)


class PromptRequest(BaseModel):
    """The digit every student is asked to draw, or null for free drawing."""

    digit: int | None = Field(ge=0, le=9)


class FlagRequest(BaseModel):
    value: bool = True


def join_info(request: Request, klass: ClassRow, address: str | None = None) -> dict[str, Any]:
    """The join URL for the chosen address (the first LAN address by default) and its QR code."""
    settings: Settings = request.app.state.settings
    addresses = join_addresses(settings.host, request.url.hostname)
    chosen = address if address in addresses else addresses[0]
    port = request.url.port or settings.port
    root = request.scope.get("root_path", "").rstrip("/")
    url = f"http://{url_host(chosen)}:{port}{root}/join/{klass.code}"
    title = ui_strings()["teach_qr_title"]
    return {
        "join_url": url,
        "address": chosen,
        "addresses": addresses,
        "reachable_from_lan": reachable_from_lan(settings.host),
        "qr_svg": joining.qr_svg(url, title),
    }


def class_body(request: Request, klass: ClassRow, store: ClassStore) -> dict[str, Any]:
    return {
        **klass.state(),
        **join_info(request, klass, request.query_params.get("address")),
        "students": store.student_count(klass),
    }


@router.post("", status_code=201, summary="Start a class", responses=ERROR_RESPONSES)
def start_class(request: Request, _: TeacherOnly, store: Store, settings: AppSettings) -> dict:
    """A new class with a short join code; the answer has the join URL and its QR code (SVG)."""
    for _attempt in range(CODE_ATTEMPTS):
        code = joining.new_code()
        if not store.code_taken(code):
            break
    klass = store.create_class(code, settings.classroom_max_classes)
    return class_body(request, klass, store)


@router.get("", summary="List classes")
def list_classes(_: TeacherOnly, store: Store) -> dict:
    """Every stored class, newest first, with its number of students and drawings."""
    return {"classes": store.list_classes()}


@router.get("/{code}", summary="A class's state", responses=CLASS_ERRORS)
def get_class(request: Request, _: TeacherOnly, klass: Class, store: Store) -> dict:
    """State, join URL and QR (for ?address= one of `addresses`), number of students."""
    return class_body(request, klass, store)


@router.delete(
    "/{code}", status_code=204, summary="Delete a class and all it stored", responses=CLASS_ERRORS
)
def delete_class(_: TeacherOnly, klass: Class, store: Store) -> Response:
    store.delete_class(klass.code)
    return Response(status_code=204)


@router.post(
    "/{code}/join", status_code=201, summary="Join a class (student)", responses=CLASS_ERRORS
)
def join_class(
    klass: Class, store: Store, settings: AppSettings, body: JoinRequest | None = None
) -> dict:
    """A new student of the class; keep the token, it is the only way back in as this student."""
    if klass.ended:
        raise ClassEnded("This class has ended; ask the teacher for the new code.")
    name = joining.clean_name(body.name if body else None, settings.classroom_max_name)
    token = joining.new_student_token()
    student = store.join(klass, name, joining.token_hash(token), settings.classroom_max_students)
    return {
        "student_id": student.id,
        "student_token": token,
        "name": student.name,
        "class": klass.state(),
    }


@router.get("/{code}/me", summary="The student's own view of the class", responses=CLASS_ERRORS)
def student_view(klass: Class, student: Student) -> dict:
    return {"student_id": student.id, "name": student.name, "class": klass.state()}


def predict_for_class(body: bytes | Drawing, registry: ModelRegistry, settings: Settings):
    """Parse, preprocess and classify in a model thread, as /predict does."""
    drawing = body if isinstance(body, Drawing) else parse_predict_json(body)
    prediction = predict_drawing(drawing, registry.get(drawing.model), settings)
    as_sent = body if isinstance(body, bytes) else drawing.data
    if isinstance(as_sent, str):
        as_sent = as_sent.encode()
    return drawing.kind, as_sent, prediction, model_input(prediction["preprocessed"])


def model_input(preprocessed: str) -> np.ndarray:
    """The 28x28 uint8 the model saw, back from the lossless PNG that predict_drawing returns."""
    png = preprocessing.decode_base64_image(preprocessed)
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("L"), dtype=np.uint8)


@router.post(
    "/{code}/drawings",
    status_code=201,
    summary="Send a drawing to the class (student)",
    responses=ERROR_RESPONSES,
    openapi_extra=PREDICT_BODY,
)
async def send_drawing(request: Request, klass: Class, student: Student) -> Response:
    """Takes what /predict takes; answers /predict's fields plus drawing_id, stored first."""
    state = request.app.state
    if klass.ended:
        raise ClassEnded("This class has ended; the drawing was not sent.")
    registry = loaded_registry(request)
    body = await read_predict_body(request)
    kind, as_sent, prediction, digit_image = await state.worker_threads.run(
        predict_for_class, body, registry, state.settings, bulky=False
    )
    record = NewDrawing(kind, as_sent, digit_image, prediction)
    stored = await run_in_threadpool(
        state.class_store.add_drawing,
        klass,
        student,
        record,
        state.settings.classroom_drawings_per_minute,
    )
    state.class_events.wake()
    answer = {**prediction, "drawing_id": stored["id"], "prompt": stored["prompt"]}
    return Response(json.dumps(answer), 201, media_type="application/json")


@router.post(
    "/{code}/drawings/{drawing_id}/label",
    summary="Say what a drawing really is",
    responses=CLASS_ERRORS,
)
def label_drawing(
    request: Request, klass: Class, store: Store, drawing_id: int, body: LabelRequest
) -> dict:
    """The student who sent it, or the teacher, labels a drawing (e.g. the network misread it)."""
    token = bearer_token(request) or request.cookies.get(TEACHER_COOKIE)
    if token is not None and is_teacher_key(token, request.app.state.settings.teacher_key):
        by = "teacher"
    else:
        student = current_student(request, klass, store)
        if store.drawing_owner(klass, drawing_id) != student.id:
            raise WrongCredentials(
                "Only the student who sent a drawing (or the teacher) labels it."
            )
        by = "student"
    return store.set_label(klass, drawing_id, body.label, by)


@router.get("/{code}/drawings", summary="Every drawing of the class", responses=CLASS_ERRORS)
def list_drawings(_: TeacherOnly, klass: Class, store: Store) -> dict:
    """In the order received; hidden drawings included with hidden=true."""
    return {"drawings": store.drawings(klass)}


@router.post(
    "/{code}/drawings/{drawing_id}/hide", summary="Hide or show one drawing", responses=CLASS_ERRORS
)
def hide_drawing(
    _: TeacherOnly, klass: Class, store: Store, drawing_id: int, body: FlagRequest | None = None
) -> dict:
    """Moderation: a hidden drawing leaves the wall at once (value=false brings it back)."""
    return store.set_hidden(klass, drawing_id, True if body is None else body.value)


@router.post("/{code}/prompt", summary="Ask the class to draw a digit", responses=CLASS_ERRORS)
def set_prompt(_: TeacherOnly, klass: Class, store: Store, body: PromptRequest) -> dict:
    return store.set_prompt(klass, body.digit).state()


@router.post("/{code}/pause", summary="Pause or resume sending", responses=CLASS_ERRORS)
def pause(_: TeacherOnly, klass: Class, store: Store, body: FlagRequest | None = None) -> dict:
    return store.set_paused(klass, True if body is None else body.value).state()


@router.post(
    "/{code}/veil", summary="Hide all drawings on the wall, or reveal them", responses=CLASS_ERRORS
)
def veil(_: TeacherOnly, klass: Class, store: Store, body: FlagRequest | None = None) -> dict:
    """value=true hides every tile's drawing and answer until value=false reveals them."""
    return store.set_veiled(klass, True if body is None else body.value).state()


@router.post("/{code}/clear", summary="Clear the wall", responses=CLASS_ERRORS)
def clear(_: TeacherOnly, klass: Class, store: Store) -> dict:
    """The wall empties; the drawings stay stored and in the export."""
    return store.clear_wall(klass).state()


@router.post("/{code}/end", summary="End the class", responses=CLASS_ERRORS)
def end(_: TeacherOnly, klass: Class, store: Store) -> dict:
    """Nobody joins or sends after this; the wall and the export stay."""
    return store.end_class(klass).state()


async def resume_after(
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id_query: Annotated[str | None, Query(alias="last_event_id")] = None,
) -> int:
    """The event id a reconnecting stream resumes after (header, or query for EventSource)."""
    return last_event_id(last_event_id_header, last_event_id_query)


ResumeAfter = Annotated[int, Depends(resume_after)]


def sse_response(stream: AsyncIterator[str]) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


@router.get(
    "/{code}/events", summary="The class's live events (SSE, teacher)", responses=CLASS_ERRORS
)
async def class_events(
    request: Request,
    _: TeacherOnly,
    klass: Class,
    after: ResumeAfter,
) -> StreamingResponse:
    """Every event of the class from the start (or after Last-Event-ID), then live ones."""
    state = request.app.state
    hub: EventHub = state.class_events
    return sse_response(hub.stream(klass.id, after, state.settings.classroom_heartbeat_s))


@router.get(
    "/{code}/me/events",
    summary="The prompt and pause of the class live (SSE, student)",
    responses=CLASS_ERRORS,
)
async def student_events(
    request: Request,
    klass: Class,
    student: Student,
    after: ResumeAfter,
) -> StreamingResponse:
    """prompt, pause and end events; the stream closes after end."""
    state = request.app.state
    hub: EventHub = state.class_events
    stream = hub.stream(
        klass.id,
        after,
        state.settings.classroom_heartbeat_s,
        kinds=STUDENT_KINDS,
        until=lambda event: event.kind == "end",
    )
    return sse_response(stream)


CSV_FIELDS = (
    "drawing_id", "student_id", "student", "created_at", "prompt", "digit", "confidence",
    "label", "labelled_by", "target", "hidden", "model", "input",
    *(f"p{digit}" for digit in range(10)),
)  # fmt: skip


def target(row: Any) -> int | None:
    """The digit a drawing is meant to be: the student's (or teacher's) label, else the prompt."""
    return row["label"] if row["label"] is not None else row["prompt"]


def csv_lines(store: ClassStore, klass: ClassRow) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    for row in store.export_rows(klass):
        probabilities = json.loads(row["probabilities"])
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row["created_at"]))
        writer.writerow(
            [
                row["id"], row["student_id"], row["student"], created, row["prompt"],
                row["digit"], f"{row['confidence']:.4f}", row["label"], row["labelled_by"],
                target(row), int(row["hidden"]), row["model"], row["input_kind"],
                *(f"{p:.4f}" for p in probabilities),
            ]
        )  # fmt: skip
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def npz_bytes(store: ClassStore, klass: ClassRow) -> bytes:
    """Keras's MNIST layout: x_train (N, 28, 28) uint8 and y_train, for drawings with a target."""
    images, labels, ids = [], [], []
    for row in store.export_rows(klass):
        digit = target(row)
        if digit is None:
            continue
        images.append(pixels(row["mnist"]))
        labels.append(digit)
        ids.append(row["id"])
    x = np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        x_train=x,
        y_train=np.asarray(labels, np.uint8),
        x_test=np.zeros((0, 28, 28), np.uint8),
        y_test=np.zeros((0,), np.uint8),
        drawing_ids=np.asarray(ids, np.int64),
    )
    return buffer.getvalue()


@router.get(
    "/{code}/export",
    summary="Export the class's drawings (CSV or MNIST .npz)",
    responses=CLASS_ERRORS,
)
def export(
    _: TeacherOnly,
    klass: Class,
    store: Store,
    format: Literal["csv", "npz"] = "csv",  # noqa: A002 (the API's parameter name)
) -> Response:
    """CSV of every drawing, or .npz of the 28x28s labelled by correction, else by prompt."""
    name = f"digitdraw-class-{klass.code}"
    if format == "npz":
        disposition = {"Content-Disposition": f'attachment; filename="{name}.npz"'}
        return Response(
            npz_bytes(store, klass), media_type="application/x-npz", headers=disposition
        )
    disposition = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    # A sync iterator: Starlette reads it in the thread pool, a page of rows at a time.
    return StreamingResponse(
        csv_lines(store, klass), media_type="text/csv; charset=utf-8", headers=disposition
    )
