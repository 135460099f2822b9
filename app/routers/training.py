"""Watch it learn: the teacher trains a tutorial model live; the page follows it over SSE.

POST /api/training starts `python -m training live` (app/jobs/training.py), GET .../events
streams its progress as Server-Sent Events with ids (a reconnect sends Last-Event-ID and misses
nothing), DELETE cancels. Following a job is open to anyone with its id (the projector, a
student's phone); starting, cancelling, drawing for it and deleting class models need the
teacher key.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.auth import TeacherOnly
from app.dependencies import parse_predict_json, read_predict_body
from app.jobs.training import (
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_HIDDEN_UNITS,
    MAX_LEARNING_RATE,
    MAX_TRAIN_SIZE,
    MIN_TRAIN_SIZE,
    JobSettings,
    TrainingJobs,
    mnist_file,
    mnist_problem,
)
from app.routers.predict import to_mnist
from app.schemas import ERROR_RESPONSES, PREDICT_BODY, ErrorResponse

router = APIRouter(prefix="/api/training", tags=["training"])


class TrainingRequest(BaseModel):
    """What to train; every field but model has a classroom default (a run of seconds)."""

    # The rule of units_fit_the_model, in the schema too: mlp128-64 takes no hidden_units.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "not": {
                "required": ["model", "hidden_units"],
                "properties": {
                    "model": {"const": "mlp128-64"},
                    "hidden_units": {"not": {"type": "null"}},
                },
            }
        },
    )

    model: Literal["mlp512", "mlp128-64", "cnn-tutorial"] = Field(
        description="Tutorial architecture."
    )
    optimizer: Literal["sgd", "momentum", "rmsprop", "adam"] = Field(
        "sgd", description="SGD, SGD with momentum 0.9, RMSprop or Adam."
    )
    learning_rate: float = Field(0.1, gt=0, le=MAX_LEARNING_RATE)
    epochs: int = Field(1, ge=1, le=MAX_EPOCHS)
    batch_size: int = Field(64, ge=1, le=MAX_BATCH_SIZE)
    train_size: int = Field(
        2000,
        ge=MIN_TRAIN_SIZE,
        le=MAX_TRAIN_SIZE,
        description="MNIST training digits to learn from; the last 5,000 are kept to validate.",
    )
    hidden_units: int | None = Field(
        None,
        ge=1,
        le=MAX_HIDDEN_UNITS,
        description="Hidden layer width of mlp512 (then named mlpN) or cnn-tutorial's dense layer.",
    )

    @model_validator(mode="after")
    def units_fit_the_model(self) -> "TrainingRequest":
        if self.hidden_units is not None and self.model == "mlp128-64":
            raise ValueError("hidden_units applies to mlp512 and cnn-tutorial only")
        return self


class TrainingStarted(BaseModel):
    """The job's id and where to follow it."""

    job_id: str
    events_url: str


class TrainingJob(BaseModel):
    """One job's state."""

    id: str
    state: Literal["running", "done", "failed", "cancelled"]
    settings: dict[str, Any]
    name: str | None = None
    reason: str | None = None


class TrainingStatus(BaseModel):
    """Whether class training can run here, and the latest job."""

    mnist_available: bool
    mnist_path: str
    mnist_message: str | None
    job: TrainingJob | None


class ClassModel(BaseModel):
    """A model trained in class, stored in the data folder."""

    name: str
    description: str | None
    created: str | None
    mnist_test_accuracy: float | None
    train_size: int | None
    epochs: int | None
    optimizer: str | None
    seconds: float | None


class ClassModels(BaseModel):
    models: list[ClassModel]


def jobs_of(request: Request) -> TrainingJobs:
    return request.app.state.training_jobs


def job_view(job: dict[str, Any] | None) -> TrainingJob | None:
    if not job:
        return None
    fields = ("id", "state", "settings", "name", "reason")
    return TrainingJob(**{key: job.get(key) for key in fields if job.get(key) is not None})


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorResponse} for status in statuses}


@router.get("", summary="Can class training run, and the latest job")
async def training_status(request: Request) -> TrainingStatus:
    """The page asks on load: is MNIST here, and is a job running to follow?"""
    settings = request.app.state.settings
    problem = mnist_problem(settings.mnist_path)
    return TrainingStatus(
        mnist_available=problem is None,
        mnist_path=str(mnist_file(settings.mnist_path)),
        mnist_message=problem,
        job=job_view(jobs_of(request).current()),
    )


@router.post(
    "",
    status_code=202,
    summary="Start training a tutorial model (teacher)",
    responses=errors(400, 401, 403, 409, 422, 503),
)
async def start_training(
    body: TrainingRequest, request: Request, _: TeacherOnly
) -> TrainingStarted:
    """One job at a time (409 while one runs); 503 with how to get MNIST when it is missing."""
    job_id = await jobs_of(request).start(JobSettings(**body.model_dump()))
    return TrainingStarted(job_id=job_id, events_url=f"/api/training/{job_id}/events")


@router.get("/models", summary="Models trained in class")
async def class_models(request: Request) -> ClassModels:
    """Newest first; each is also served by /predict under its name."""
    return ClassModels(models=[ClassModel(**m) for m in jobs_of(request).class_models()])


@router.delete(
    "/models/{name}",
    status_code=204,
    summary="Delete a model trained in class (teacher)",
    responses=errors(401, 403, 404),
)
async def delete_class_model(name: str, request: Request, _: TeacherOnly) -> Response:
    """Only models in the data folder (class-...); the committed model store is never touched."""
    await jobs_of(request).delete_model(name)
    return Response(status_code=204)


@router.get("/{job_id}", summary="A training job's state", responses=errors(404))
async def training_job(job_id: str, request: Request) -> TrainingJob:
    job = job_view(jobs_of(request).state(job_id))
    assert job is not None
    return job


@router.get(
    "/{job_id}/events",
    summary="Follow a training job (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Events with ids: queued, started, progress (batch, epoch, loss, "
            "accuracy), weights (first-layer weights as base64 uint8 images, zero at 128), "
            "prediction (the current model's answer on the pad's drawing), epoch (validation "
            "loss and accuracy), stage, then done (name, mnist_test_accuracy), failed (reason) "
            "or cancelled. A reconnect with Last-Event-ID gets only what it missed.",
        },
        204: {"description": "The job has ended and the client has every event."},
        **errors(404),
    },
)
async def training_events(
    job_id: str,
    request: Request,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    jobs = jobs_of(request)
    jobs.folder(job_id)  # 404 before the stream starts
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    finished = jobs.state(job_id).get("state") != "running"
    if after and finished and after >= jobs.last_event_id(job_id):
        return Response(status_code=204)  # EventSource stops reconnecting on 204
    return StreamingResponse(
        jobs.events(job_id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.delete(
    "/{job_id}",
    summary="Cancel a training job (teacher)",
    responses=errors(401, 403, 404, 409),
)
async def cancel_training(job_id: str, request: Request, _: TeacherOnly) -> TrainingJob:
    """Kills the trainer's process group and answers once it has ended."""
    job = job_view(await jobs_of(request).cancel(job_id))
    assert job is not None
    return job


@router.put(
    "/{job_id}/drawing",
    status_code=204,
    summary="Show the current model a drawing (teacher)",
    responses={
        **errors(401, 403, 404, 409),
        **{status: ERROR_RESPONSES[status] for status in (400, 413, 415, 422)},
    },
    openapi_extra=PREDICT_BODY,
)
async def training_drawing(job_id: str, request: Request, _: TeacherOnly) -> Response:
    """Body as for POST /predict (strokes, pixels or image); the answer comes as events."""
    body = await read_predict_body(request)
    drawing = body if not isinstance(body, bytes) else parse_predict_json(body)
    state = request.app.state
    image = await state.worker_threads.run(to_mnist, drawing, state.settings, bulky=False)
    pixels = (image * 255).round().clip(0, 255).astype(int).tolist()
    jobs_of(request).set_drawing(job_id, pixels)
    return Response(status_code=204)
