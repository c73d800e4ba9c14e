"""``index.html`` of a ``syrac count`` run, opened in a real headless Chromium (Debian's package,
driven by Playwright): it loads without console errors, shows one entry per row of
``counts.csv``, every picture it links is there, and filtering and sorting work.

Set ``SYRAC_REPORT_SCREENSHOT=path.png`` to keep the screenshot (the README's is
``figures/count_report.png``, made this way)."""

import csv
import os
import shutil

import pytest

from syrac.__main__ import main as syrac_main
from syrac.fixtures import crowd_frames, write_video
from tests.conftest import crowd_pngs, read_counts

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium's own background traffic has nowhere to go on a machine without a network.
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="module")
def counted(counter_files, tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    photos = root / "photos"
    crowd_pngs(photos, sizes=[(40 + 4 * k, 56) for k in range(7)], seed=8)
    write_video(str(photos / "street.mp4"), crowd_frames(25, seed=2), 10, "libx264")
    (photos / "broken.jpg").write_bytes(b"\x00 no jpeg here")
    with pytest.raises(SystemExit):
        syrac_main(["count", str(photos), "--model", str(counter_files / "counter.keras"),
                    "--out", str(root / "out"), "--quiet", "--every", "0.5"])
    (run,) = (root / "out").iterdir()
    return run


@pytest.mark.slow
def test_the_page_shows_every_row_and_every_picture_in_a_real_browser(counted, tmp_path):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI must test the page in Chromium: .ci/run installs Debian's chromium")
        pytest.skip("no chromium on this machine (apt install chromium)")
    from playwright.sync_api import sync_playwright

    with open(counted / "counts.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    document = read_counts(counted)
    assert len(rows) == 7 + 5  # seven images, and the video's frames at 0, 0.5, ... 2 s
    messages, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: messages.append(m) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: errors.append(error))
        page.goto((counted / "index.html").as_uri())
        page.wait_for_load_state("load")
        assert page.locator(".entry").count() == len(rows)
        assert page.locator(".card.entry").count() == len(document["images"]) == 7
        assert page.locator("table.frames tr.entry").count() == 5
        assert page.locator("#failures tr").count() == 1
        assert "broken.jpg" in page.locator("#failures").inner_text()
        # Every picture the page shows loads (lazy ones are asked for now).
        sizes = page.evaluate("""() => Promise.all(Array.from(document.images).map(img => {
            img.loading = 'eager';
            return img.complete && img.naturalWidth ? img.naturalWidth : new Promise(done => {
                img.onload = () => done(img.naturalWidth); img.onerror = () => done(0); });
        }))""")
        assert len(sizes) == 7 + 2 and all(width > 0 for width in sizes)
        # Filtering by name, and sorting by count.
        page.fill("#filter", "crowd_3")
        assert page.locator(".card.entry:visible").count() == 1
        page.fill("#filter", "")
        page.select_option("#order", "high")
        shown = [float(c) for c in page.locator(".card.entry").evaluate_all(
            "cards => cards.map(card => card.dataset.count)")]
        assert shown == sorted(shown, reverse=True) and len(shown) == 7
        page.select_option("#order", "name")
        page.evaluate("window.scrollTo(0, 0)")
        screenshot = os.environ.get("SYRAC_REPORT_SCREENSHOT", str(tmp_path / "page.png"))
        page.screenshot(path=screenshot, full_page=False)
        browser.close()
    assert errors == [] and [m.text for m in messages] == []
    assert open(screenshot, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_page_is_self_contained(counted):
    page = (counted / "index.html").read_text()
    assert "http://" not in page and "https://" not in page and "<link" not in page
    for record in read_counts(counted)["images"]:
        assert os.path.relpath(record["thumbnail"], counted) in page
        assert os.path.relpath(record["figure"], counted) in page
