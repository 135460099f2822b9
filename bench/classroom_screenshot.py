"""The README's picture of the class wall: a real server, a class of simulated phones, Chromium.

    .venv/bin/python -m bench.classroom_screenshot [--out docs/classroom-wall.png]

Sixteen students join and send held-out pendigits digits through the API (as their phones do),
first freely, then after the teacher asks for a 7; two of them correct a misread. The wall is
then photographed on a 1920x1080 "projector" by headless Chromium (Debian's /usr/bin/chromium).
The server listens on 0.0.0.0 so the wall shows a LAN join address, as in class; every request
of this script goes to 127.0.0.1.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(REPO_ROOT))

from app.settings import Settings  # noqa: E402
from bench.bench_predict import free_port  # noqa: E402
from training.pendigits import read_pendigits, writer_split  # noqa: E402

KEY = "screenshot-teacher-key"
TEACHER = {"Authorization": f"Bearer {KEY}"}
NAMES = [
    "Mia", "Noah", "Aisha", "Lucas", "Chen Wei", "Sofia", "Omar", "Emma", "", "Yuki", "Leo",
    "Zara", "", "Ivan", "Priya", "",
]  # fmt: skip
PENDIGITS = (
    Path(os.environ.get("DIGITDRAW_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    / "pendigits"
    / "pendigits-orig.tra"
)


def pad_strokes(strokes: tuple[np.ndarray, ...], side: float = 280.0) -> list:
    """Pen strokes scaled into a phone pad of `side` CSS pixels with a margin, as fit_to_pad."""
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = side * 0.7 / max(float((high - low).max()), 1.0)
    offset = side / 2 - (low + high) / 2 * scale
    return [(stroke * scale + offset).round(1).tolist() for stroke in strokes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "classroom-wall.png")
    options = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    heldout = writer_split(read_pendigits(PENDIGITS))[1]
    rng = np.random.default_rng(7)
    by_label = {d: [p for p in heldout if p.label == d] for d in range(10)}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        environment = {
            **os.environ,
            "DIGITDRAW_DATA_DIR": data,
            "DIGITDRAW_TEACHER_KEY": KEY,
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        command = [
            sys.executable, "-m", "app", "--host", "0.0.0.0", "--port", str(port),
            "--log-level", "warning", "--model-dir", str(Settings().model_dir),
        ]  # fmt: skip
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=environment)
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            code = httpx.post(f"{base}/api/classes", headers=TEACHER).json()["code"]
            students = []
            for name in NAMES:
                body = {"name": name} if name else {}
                students.append(httpx.post(f"{base}/api/classes/{code}/join", json=body).json())

            def send(student: dict, label: int) -> dict:
                digit = by_label[label][int(rng.integers(len(by_label[label])))]
                auth = {"Authorization": f"Bearer {student['student_token']}"}
                url = f"{base}/api/classes/{code}/drawings"
                return httpx.post(url, json={"strokes": pad_strokes(digit.strokes)}, headers=auth)

            for student, label in zip(students[:5], (3, 1, 8, 2, 5), strict=True):
                send(student, label)
            httpx.post(f"{base}/api/classes/{code}/clear", headers=TEACHER)
            httpx.post(f"{base}/api/classes/{code}/prompt", json={"digit": 7}, headers=TEACHER)
            # Most draw a good 7; three draw 7s that look like a 1, a 9 and a 2 (pendigits of
            # those digits stand in for them), and two of these say it was a 7.
            drawn = [7] * (len(students) - 3) + [1, 9, 2]
            for student, label in zip(students, drawn, strict=True):
                answer = send(student, label).json()
                if answer["digit"] != 7 and label != 2:
                    label_url = f"{base}/api/classes/{code}/drawings/{answer['drawing_id']}/label"
                    auth = {"Authorization": f"Bearer {student['student_token']}"}
                    httpx.post(label_url, json={"label": 7}, headers=auth)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
                page.goto(f"{base}/teach?key={KEY}")
                page.goto(f"{base}/teach/{code}")
                page.wait_for_selector("#join-qr")
                page.wait_for_function(
                    "n => document.querySelectorAll('#wall [data-drawing-id]').length === n",
                    arg=len(students),
                )
                page.wait_for_timeout(500)
                options.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=options.out, full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(30)
    print(f"wrote {options.out} ({options.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
