"""The README's picture of Watch it learn: a real job, caught mid-training on a projector screen.

    .venv/bin/python -m bench.learn_screenshot --mnist path/to/mnist.npz \\
        --pendigits path/to/pendigits-orig.tra            # writes docs/watch-it-learn.png

A server with a fresh data folder, Chromium at 1920x1080, a held-out writer's 3 drawn on the pad,
mlp512 with SGD on 20,000 digits for 3 epochs, the weights shown as what training changed, and
the screenshot taken during the second epoch.
"""

import argparse
import io
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from app.settings import Settings
from tests.browser_fixtures import CHROMIUM, CHROMIUM_ARGS, draw_with_mouse, fit_to_pad, pad_box
from tests.helpers import TEACHER_KEY, running_server
from training.pendigits import read_pendigits, writer_split

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "docs" / "watch-it-learn.png"
WIDTH = 1440  # the README shows it at most this wide; keeps the file small


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", type=Path, required=True)
    parser.add_argument("--pendigits", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args()
    three = next(d for d in writer_split(read_pendigits(args.pendigits))[1] if d.label == 3)
    with (
        tempfile.TemporaryDirectory() as data_dir,
        running_server(
            Settings().model_dir, data_dir=Path(data_dir), env={"DIGITDRAW_MNIST": str(args.mnist)}
        ) as (base_url, _),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.set_default_timeout(300_000)
        page.goto(base_url + "/learn")
        draw_with_mouse(page, fit_to_pad(three.strokes, pad_box(page)))
        page.fill("#teacher-key", TEACHER_KEY)
        page.select_option("select[name=train_size]", "20000")
        page.fill("input[name=epochs]", "3")
        page.check("input[value=change]")
        page.click("#start")
        page.wait_for_selector('#learn[data-state="running"]')
        page.wait_for_function(
            "() => Number(document.getElementById('learn').dataset.batch) >= 420"
        )
        shot = Image.open(io.BytesIO(page.screenshot()))
        height = round(shot.height * WIDTH / shot.width)
        small = shot.convert("RGB").resize((WIDTH, height), Image.Resampling.LANCZOS)
        # 256 colours are plenty for a page of flat colours: a third of the bytes.
        small.quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            args.out, optimize=True
        )
        browser.close()
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
