"""Hostile inputs for the API: a generator of bad, odd and malicious requests, and a runner.

    .venv/bin/python -m bench.hostile [--cases 10000] [--seed 1] [--workers 2] [--threads 4]

starts ``python -m app`` on loopback, sends the cases (every kind in turn, each drawn from a
seeded random generator) and checks every answer: a 4xx in the API's error shape whose message
says what to fix, or a 200 of the documented shape where the input was in fact usable; never a
5xx, never a dropped connection. The server's memory is read after a warm-up and after the run:
it must come back within 10%. tests/test_hostile_inputs.py runs 1,000 cases in CI.
"""

import argparse
import base64
import io
import json
import random
import struct
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import httpx
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(REPO_ROOT))

from bench.payloads import canvas_strokes, render_canvas_png  # noqa: E402

MAX_BODY_BYTES = 5 * 1024 * 1024  # the server's default limit (Settings.max_body_bytes)
RSS_TOLERANCE = 0.10
JSON = {"Content-Type": "application/json"}


@dataclass
class Case:
    """One request: what it is, and how it is sent."""

    kind: str
    method: str = "POST"
    path: str = "/predict"
    headers: dict[str, str | bytes] = field(default_factory=lambda: dict(JSON))
    content: bytes | Callable[[], bytes | Iterator[bytes]] = b""

    def describe(self) -> str:
        size = len(self.content) if isinstance(self.content, bytes) else "large"
        return f"{self.kind}: {self.method} {self.path[:60]} ({size} bytes)"


def as_json(value: object) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_with_header(width: int, height: int, data: bytes, color_type: int = 0) -> bytes:
    """A PNG whose IHDR says width x height whatever its image data holds."""
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(data))
        + png_chunk(b"IEND", b"")
    )


@cache
def valid_png() -> bytes:
    return render_canvas_png(canvas_strokes())


@cache
def bomb_png() -> bytes:
    """A real 5000x5000 PNG of zeros: about 25 KB that would decode to 25 megapixels."""
    rows = b"".join(b"\x00" + bytes(5000) for _ in range(5000))
    return png_with_header(5000, 5000, rows)


def encoded(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


@cache
def valid_images() -> dict[str, bytes]:
    digit = Image.open(io.BytesIO(valid_png())).convert("RGB")
    return {name: encoded(digit, name) for name in ("JPEG", "GIF", "BMP", "WEBP")}


def multipart(
    parts: list[tuple[str, str | None, bytes]], boundary: str = "hostileB0undary"
) -> bytes:
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def multipart_headers(boundary: str = "hostileB0undary") -> dict[str, str | bytes]:
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def unicode_junk(rng: random.Random, length: int) -> str:
    ranges = [(0x00, 0x7F), (0x80, 0x7FF), (0x4E00, 0x9FFF), (0x1F300, 0x1FAFF), (0xE000, 0xF8FF)]
    chars = []
    for _ in range(length):
        low, high = rng.choice(ranges)
        chars.append(chr(rng.randint(low, high)))
    return "".join(chars)


# ---------------------------------------------------------------- the kinds


def random_bytes_image(rng: random.Random) -> Case:
    data = rng.randbytes(rng.randint(0, 4000))
    return Case("random_bytes_image", content=as_json({"image": b64(data)}))


def random_bytes_file(rng: random.Random) -> Case:
    data = rng.randbytes(rng.randint(1, 4000))
    body = multipart([("file", "digit.png", data)])
    return Case("random_bytes_file", headers=multipart_headers(), content=body)


def truncated_image(rng: random.Random) -> Case:
    images = [valid_png(), *valid_images().values()]
    data = rng.choice(images)
    return Case(
        "truncated_image", content=as_json({"image": b64(data[: rng.randint(1, len(data) - 1)])})
    )


def lying_png_header(rng: random.Random) -> Case:
    width, height = rng.choice([(1, 1), (28, 28), (4096, 4096), (65535, 65535), (2**31 - 1, 1)])
    data = rng.randbytes(rng.randint(0, 500))
    png = png_with_header(width, height, data, rng.choice([0, 2, 3, 4, 6, 7]))
    return Case("lying_png_header", content=as_json({"image": b64(png)}))


def lying_jpeg_header(rng: random.Random) -> Case:
    jpeg = bytearray(valid_images()["JPEG"])
    marker = jpeg.find(b"\xff\xc0")
    if marker > 0:  # SOF0: claim another size
        struct.pack_into(">HH", jpeg, marker + 5, rng.randint(0, 65535), rng.randint(0, 65535))
    return Case("lying_jpeg_header", content=as_json({"image": b64(bytes(jpeg))}))


def pixel_bomb(rng: random.Random) -> Case:
    bomb = bomb_png()
    if rng.random() < 0.5:
        return Case("pixel_bomb", content=as_json({"image": "data:image/png;base64," + b64(bomb)}))
    return Case(
        "pixel_bomb", headers=multipart_headers(), content=multipart([("file", "b.png", bomb)])
    )


def corrupted_image(rng: random.Random) -> Case:
    data = bytearray(rng.choice([valid_png(), *valid_images().values()]))
    for _ in range(rng.randint(1, 20)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return Case("corrupted_image", content=as_json({"image": b64(bytes(data))}))


def deep_json(rng: random.Random) -> Case:
    depth = rng.choice([100, 1000, 10_000, 100_000])
    if rng.random() < 0.5:
        body = '{"strokes": ' + "[" * depth + "]" * depth + "}"
    else:
        body = '{"image": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    return Case("deep_json", content=body.encode())


def nan_infinity(rng: random.Random) -> Case:
    value = rng.choice(["NaN", "Infinity", "-Infinity", "nan", "inf"])
    body = rng.choice(
        [
            f'{{"strokes": [[[1, 2], [{value}, 3]]]}}',
            f'{{"pixels": [[{value}] * 28]}}'.replace("] * 28", "]"),
            '{"pixels": [' + ",".join(["[" + ",".join([value] * 28) + "]"] * 28) + "]}",
        ]
    )
    return Case("nan_infinity", content=body.encode())


def huge_numbers(rng: random.Random) -> Case:
    number = rng.choice(["1e308", "-1e308", "1e400", "9" * 400, "-" + "9" * 5000, "1e-400", "0.0"])
    body = rng.choice(
        [
            f'{{"strokes": [[[0, 0], [{number}, {number}]]]}}',
            '{"pixels": [' + ",".join(["[" + ",".join([number] * 28) + "]"] * 28) + "]}",
            f'{{"strokes": [[[{number}, 1], [2, 3]]], "model": {number}}}',
        ]
    )
    return Case("huge_numbers", content=body.encode())


def unicode_fields(rng: random.Random) -> Case:
    junk = unicode_junk(rng, rng.randint(1, 300))
    body = rng.choice(
        [
            {"image": junk},
            {"image": "data:image/png;base64," + junk},
            {"strokes": [[[0, 0], [9, 9]]], "model": junk},
            {junk: [[[0, 0], [9, 9]]]},
        ]
    )
    return Case(
        "unicode_fields", content=json.dumps(body, ensure_ascii=rng.random() < 0.5).encode()
    )


def invalid_utf8(rng: random.Random) -> Case:
    content = (
        b'{"image": "' + rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"]) + b'"}'
    )
    if rng.random() < 0.5:
        content = b'{"strokes": [[[0, 0], [9, 9]]], "model": "\\ud800"}'  # a lone surrogate
    return Case("invalid_utf8", content=content)


def giant_strokes(rng: random.Random) -> Case:
    strokes_count = rng.choice([1, 100, 101, 1000])
    points = rng.choice([2, 100, 10_000, 20_000]) // strokes_count + 1
    strokes = [
        [[rng.uniform(-1e6, 1e6), rng.uniform(-1e6, 1e6)] for _ in range(points)]
        for _ in range(strokes_count)
    ]
    return Case("giant_strokes", content=as_json({"strokes": strokes}))


def degenerate_strokes(rng: random.Random) -> Case:
    strokes = rng.choice(
        [
            [],
            [[]],
            [[[5, 5]]],
            [[[5, 5], [5, 5], [5, 5]]],
            [[[0, 0], [1e-300, 1e-300]]],
            [[[0, 0], [1e300, 0]]],
            [[[-1e308, -1e308], [1e308, 1e308]]],
            [[[0, 0], [0, 1e308]]],
        ]
    )
    return Case("degenerate_strokes", content=as_json({"strokes": strokes}))


def wrong_types(rng: random.Random) -> Case:
    body = rng.choice(
        [
            {"strokes": "M 0 0 L 9 9"},
            {"strokes": {"0": [[1, 2]]}},
            {"strokes": [[["1", "2"]]]},
            {"strokes": [[[True, False]]]},
            {"pixels": "dark"},
            {"pixels": [[0] * 27] * 28},
            {"pixels": [[0] * 28] * 29},
            {"pixels": [[-1] * 28] * 28},
            {"pixels": [[256] * 28] * 28},
            {"image": 42},
            {"image": ["data:image/png;base64,"]},
            {"model": None},
            [],
            "strokes",
            None,
            42,
        ]
    )
    return Case("wrong_types", content=as_json(body))


def malformed_json(rng: random.Random) -> Case:
    good = as_json({"strokes": [[[0, 0], [9, 9]]]})
    content = rng.choice(
        [
            good[: rng.randint(0, len(good) - 1)],
            good + b"garbage",
            b"\xef\xbb\xbf" + good,  # a byte-order mark
            b"{'strokes': [[[0, 0]]]}",
            b"",
            b"   ",
            b"{" * 50,
            good.replace(b":", b"=", 1),
        ]
    )
    return Case("malformed_json", content=content)


def bad_data_url(rng: random.Random) -> Case:
    text = rng.choice(
        [
            "data:image/png;base64,!!!!",
            "data:image/png;base64,",
            "data:,hello",
            "data:text/html,<script>alert(1)</script>",
            "data:image/svg+xml;base64," + b64(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            "data:image/png;base64," + b64(valid_png())[:-3],
            "data:image/png;base64," + " ".join(b64(valid_png())),
            "http://example.com/digit.png",
            "file:///etc/passwd",
            "A" * rng.randint(1, 9),
        ]
    )
    return Case("bad_data_url", content=as_json({"image": text}))


def other_image_formats(rng: random.Random) -> Case:
    data = rng.choice(
        [
            b"GIF89a" + rng.randbytes(50),
            b"RIFF\x00\x00\x00\x00WEBPVP8 " + rng.randbytes(50),
            b"BM" + struct.pack("<I", 2**31) + rng.randbytes(50),
            b"\x00\x00\x01\x00" + rng.randbytes(50),  # an icon
            b"II*\x00" + rng.randbytes(50),  # TIFF
            b"%PDF-1.4\n" + rng.randbytes(50),
            b"<svg xmlns='http://www.w3.org/2000/svg'><rect width='9' height='9'/></svg>",
            *valid_images().values(),
        ]
    )
    return Case("other_image_formats", content=as_json({"image": b64(data)}))


def broken_multipart(rng: random.Random) -> Case:
    good = multipart([("file", "d.png", valid_png())])
    choice = rng.randrange(7)
    headers = multipart_headers()
    content = good
    if choice == 0:
        headers = {"Content-Type": "multipart/form-data"}  # no boundary
    elif choice == 1:
        content = good[: rng.randint(1, len(good) - 1)]  # cut short
    elif choice == 2:
        headers = multipart_headers("another-boundary")
    elif choice == 3:
        content = multipart([("file", "a.png", valid_png()), ("file", "b.png", valid_png())])
    elif choice == 4:
        content = multipart([("field", None, b"x")] * 10 + [("file", "d.png", valid_png())])
    elif choice == 5:
        content = multipart([("model", None, b"robust-cnn")])  # no file
    else:
        content = multipart([("file", None, valid_png())])  # the file sent as a text field
    return Case("broken_multipart", headers=headers, content=content)


def wrong_content_type(rng: random.Random) -> Case:
    kind = rng.choice(
        [
            "text/plain",
            "application/xml",
            "application/x-www-form-urlencoded",
            "image/png",
            "application/json-patch+json",
            "",
            "\u00e9t\u00e9/json",  # not ASCII: sent as Latin-1 bytes
        ]
    )
    headers = {"Content-Type": kind.encode("latin-1")} if kind else {}
    content = valid_png() if kind == "image/png" else as_json({"strokes": [[[0, 0], [9, 9]]]})
    path = rng.choice(["/predict", "/predict/batch"])
    return Case("wrong_content_type", path=path, headers=headers, content=content)


def oversized_body(rng: random.Random) -> Case:
    if rng.random() < 0.5:  # with a Content-Length; made when sent, not kept in the case list
        size = MAX_BODY_BYTES + rng.randint(1, 1000)
        return Case("oversized_body", content=lambda: b'{"image": "' + b"A" * size + b'"}')

    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"A" * 65536

    return Case("oversized_body", content=chunks)


def hostile_batch(rng: random.Random) -> Case:
    body = rng.choice(
        [
            {"inputs": "all of them"},
            {"inputs": [None, 7, "x", [], {}]},
            {"inputs": [{"strokes": [[[0, 0], [9, 9]]]}] * 257},
            {"inputs": [{"image": b64(rng.randbytes(100))} for _ in range(20)]},
            {"inputs": [{"strokes": [[[0, 0], [9, 9]]]}], "model": "nope"},
            {"inputs": [{"pixels": [[float("nan")] * 28] * 28}]},
            {"input": []},
        ]
    )
    return Case("hostile_batch", path="/predict/batch", content=as_json(body))


def odd_requests(rng: random.Random) -> Case:
    method, path = rng.choice(
        [
            ("GET", "/predict"),
            ("PUT", "/predict"),
            ("DELETE", "/models"),
            ("GET", "/models/" + "x" * 2000),
            ("GET", "/models/%00"),
            ("GET", "/models/..%2F..%2Fetc%2Fpasswd"),
            ("GET", "/static/../../etc/passwd"),
            ("GET", "/static/%2e%2e/%2e%2e/etc/passwd"),
            ("GET", "/?" + "a=1&" * 500),
            ("OPTIONS", "/predict"),
            ("GET", "/no/such/" + unicode_junk(rng, 5).encode("utf-8").hex()),
        ]
    )
    return Case("odd_requests", method=method, path=path, headers={}, content=b"")


def valid_drawing(rng: random.Random) -> Case:
    """Usable inputs among the hostile ones: the answer must be a real 200."""
    choice = rng.randrange(4)
    if choice == 0:
        return Case("valid_drawing", content=as_json({"strokes": canvas_strokes()}))
    if choice == 1:
        image = rng.choice([valid_png(), *valid_images().values()])
        return Case("valid_drawing", content=as_json({"image": b64(image)}))
    if choice == 2:
        body = multipart([("file", "d.png", valid_png()), ("model", None, b"mlp512")])
        return Case("valid_drawing", headers=multipart_headers(), content=body)
    pixels = [[rng.randint(0, 255) for _ in range(28)] for _ in range(28)]
    return Case("valid_drawing", content=as_json({"pixels": pixels}))


KINDS: tuple[Callable[[random.Random], Case], ...] = (
    random_bytes_image,
    random_bytes_file,
    truncated_image,
    lying_png_header,
    lying_jpeg_header,
    pixel_bomb,
    corrupted_image,
    deep_json,
    nan_infinity,
    huge_numbers,
    unicode_fields,
    invalid_utf8,
    giant_strokes,
    degenerate_strokes,
    wrong_types,
    malformed_json,
    bad_data_url,
    other_image_formats,
    broken_multipart,
    wrong_content_type,
    oversized_body,
    hostile_batch,
    odd_requests,
    valid_drawing,
)


def cases(count: int, seed: int = 1) -> Iterator[Case]:
    """`count` cases, the kinds in turn, each drawn from its own seeded generator."""
    rng = random.Random(seed)
    for index in range(count):
        yield KINDS[index % len(KINDS)](rng)


# ---------------------------------------------------------------- judging the answers


def problem_with(case: Case, status: int, headers: httpx.Headers, body: bytes) -> str | None:
    """What is wrong with this answer, or None when it is what a client deserves."""
    if status >= 500:
        return f"server error {status}"
    if case.kind == "valid_drawing" and status != 200:
        return f"a usable drawing refused with {status}: {body[:200]!r}"
    if status == 200:
        return problem_with_success(case, body)
    if case.method == "OPTIONS" and status in (200, 204, 400, 405):
        return None  # a CORS preflight, answered by the CORS middleware
    if not 400 <= status < 500:
        return f"status {status} is neither 200 nor a 4xx"
    if headers.get("content-type") != "application/json":
        return f"{status} answered as {headers.get('content-type')}, not JSON"
    try:
        error = json.loads(body)["error"]
        code, message = error["code"], error["message"]
    except (ValueError, KeyError, TypeError):
        return f"{status} without the error shape: {body[:200]!r}"
    if not (isinstance(code, str) and code.isidentifier() and code.islower()):
        return f"error code {code!r} is not a snake_case identifier"
    if not isinstance(message, str) or len(message) < 20 or "Traceback" in message:
        return f"message {message!r} does not say what to fix"
    return None


def problem_with_success(case: Case, body: bytes) -> str | None:
    if case.method != "POST":
        return None
    try:
        answer = json.loads(body)
    except ValueError:
        return "200 that is not JSON"
    predictions = answer.get("results", [answer]) if isinstance(answer, dict) else []
    for item in predictions:
        if "error" in item:
            continue
        if not (0 <= item.get("digit", -1) <= 9 and len(item.get("probabilities", [])) == 10):
            return f"200 without a digit and ten probabilities: {body[:200]!r}"
    return None


@dataclass
class Report:
    """Answers by kind and status, and every answer that broke the rules."""

    statuses: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def send(client: httpx.Client, base_url: str, case: Case) -> tuple[str, str | None]:
    content = case.content() if callable(case.content) else case.content
    try:
        response = client.request(
            case.method, base_url + case.path, headers=case.headers, content=content
        )
    except httpx.HTTPError as error:
        return "no answer", f"{case.describe()}: no answer ({error!r})"
    problem = problem_with(case, response.status_code, response.headers, response.content)
    label = f"{case.kind} {response.status_code}"
    return label, None if problem is None else f"{case.describe()}: {problem}"


def run_cases(base_url: str, all_cases: list[Case], threads: int = 4) -> Report:
    report = Report()
    started = time.perf_counter()
    clients = [httpx.Client(timeout=60) for _ in range(threads)]
    try:
        with ThreadPoolExecutor(threads) as pool:
            futures = [
                pool.submit(send, clients[index % threads], base_url, case)
                for index, case in enumerate(all_cases)
            ]
            for future in futures:
                label, problem = future.result()
                report.statuses[label] += 1
                if problem:
                    report.problems.append(problem)
    finally:
        for client in clients:
            client.close()
    report.seconds = time.perf_counter() - started
    return report


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of these processes, from /proc."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def server_pids(pid: int) -> list[int]:
    """The server and its workers."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, children)]


def warm_up(base_url: str, pids: list[int], seed: int) -> tuple[int, int]:
    """RSS after valid drawings, then after ten rounds of every hostile kind (other seeds).

    The second is the baseline: glibc keeps freed heap for reuse (app/memory.py), so the first
    big bodies raise RSS once; what must not happen is growth with every further case.
    """
    rng = random.Random(0)
    run_cases(base_url, [valid_drawing(rng) for _ in range(120)])
    after_valid = rss_bytes(pids)
    run_cases(base_url, list(cases(10 * len(KINDS), seed + 1_000_000)))
    return after_valid, rss_bytes(pids)


def main(argv: list[str] | None = None) -> int:
    from tests.helpers import running_server  # the same real server the tests start

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--model-dir", default=str(REPO_ROOT / "model_store"))
    arguments = parser.parse_args(argv)
    all_cases = list(cases(arguments.cases, arguments.seed))
    with running_server(Path(arguments.model_dir), "--workers", str(arguments.workers)) as (
        base_url,
        process,
    ):
        time.sleep(1)
        pids = server_pids(process.pid)
        after_valid, before = warm_up(base_url, pids, arguments.seed)
        report = run_cases(base_url, all_cases, arguments.threads)
        time.sleep(1)
        after = rss_bytes(pids)
    print(
        f"{report.total} cases of {len(KINDS)} kinds in {report.seconds:.1f} s "
        f"(seed {arguments.seed})"
    )
    for label, count in sorted(report.statuses.items()):
        print(f"  {label:32} {count:6}")
    growth = after / before - 1
    print(
        f"server RSS (all processes): {after_valid / 2**20:.0f} MiB after valid drawings, "
        f"{before / 2**20:.0f} MiB after a warm-up round of every kind, "
        f"{after / 2**20:.0f} MiB after the run ({growth:+.1%})"
    )
    for problem in report.problems[:50]:
        print("PROBLEM", problem)
    ok = not report.problems and growth <= RSS_TOLERANCE
    print("PASS" if ok else f"FAIL: {len(report.problems)} problems, RSS {growth:+.1%}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
