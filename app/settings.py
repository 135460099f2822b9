"""Every server setting in one place; each can be overridden by a DIGITDRAW_* variable."""

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Typed settings, validated at start-up (e.g. DIGITDRAW_PORT=9000)."""

    model_config = SettingsConfigDict(env_prefix="DIGITDRAW_", protected_namespaces=())

    host: str = Field("127.0.0.1", description="Address to listen on; 0.0.0.0 for a classroom LAN.")
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="Worker processes, each on its own socket.")
    model_dir: Path = Field(REPO_ROOT / "model_store", description="Folder of trained models.")
    default_model: str = Field("robust-cnn", description="Model used when a request names none.")
    data_dir: Path = Field(
        REPO_ROOT / "data",
        description="Folder of what the server writes: the SQLite store, models trained in "
        "class. Gitignored; created at start-up.",
    )
    teacher_key: str | None = Field(
        None,
        min_length=8,
        description="Key for teacher actions; python -m app makes a random one per start if unset.",
    )
    cors_origins: list[str] = Field(["*"], description="Origins allowed to call the JSON API.")
    max_body_bytes: int = Field(5 * 1024 * 1024, description="Largest request body (413 above).")
    max_image_pixels: int = Field(4096 * 4096, description="Largest decoded image, in pixels.")
    max_image_side: int = Field(4096, description="Longest image side, in pixels.")
    max_strokes: int = Field(100, description="Most strokes in one drawing.")
    max_points: int = Field(10_000, description="Most points over all strokes of one drawing.")
    max_batch: int = Field(256, description="Most items in one /predict/batch request.")
    log_level: str = Field("info")
    access_log: bool = Field(
        False, description="Log every request (a drawing class sends hundreds a second)."
    )
    bulk_body_bytes: int = Field(
        64 * 1024,
        ge=0,
        description="Bodies larger than this (photos, batches) are answered in a thread of their "
        "own, so that live drawings do not queue behind them (see app/worker_threads.py).",
    )
    malloc_mmap_threshold: int = Field(
        4 * 1024 * 1024,
        ge=0,
        le=32 * 1024 * 1024,  # glibc's own ceiling for its adjusted threshold
        description="Buffers up to this many bytes are reused from the heap, not mapped afresh "
        "for every request (glibc malloc; see app/memory.py); 0 keeps the C library's default.",
    )
    classroom_max_students: int = Field(200, ge=1, description="Most students in one class.")
    classroom_drawings_per_minute: int = Field(
        30, ge=1, description="Most drawings one student may send to the class in a minute (429)."
    )
    classroom_max_name: int = Field(32, ge=4, le=100, description="Longest student name.")
    classroom_max_classes: int = Field(
        100, ge=1, description="Classes kept in the store; the teacher deletes old ones to go on."
    )
    classroom_poll_ms: int = Field(
        100,
        ge=10,
        le=2000,
        description="How often each worker reads new class events from the store for its live "
        "streams: the floor of the send-to-wall delay, and one small query per worker per tick.",
    )
    classroom_heartbeat_s: float = Field(
        15, gt=0, description="Seconds between keep-alive comments on an idle event stream."
    )
    mnist_path: Path | None = Field(
        None,
        validation_alias=AliasChoices("mnist_path", "DIGITDRAW_MNIST"),
        description="MNIST .npz for training in class (DIGITDRAW_MNIST, as for python -m "
        "training); unset: Keras's cache, ~/.keras/datasets/mnist.npz.",
    )
