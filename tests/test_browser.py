"""HTML reports in a real browser: headless Chromium loads `bench report --format html`
and a suite page; tables and figures render, hostile names stay text."""

import shutil
import subprocess

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium here (apt-get install chromium)"
)
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"


def browse(page, tmp_path):
    """``(DOM after scripts ran, screenshot as an array)`` of ``page`` in headless Chromium."""
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    flags.append(f"--user-data-dir={tmp_path / 'profile'}")
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr
    shot = tmp_path / f"{page.stem}.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from PIL import Image

    return dom.stdout, np.asarray(Image.open(shot).convert("L"))


def test_a_report_page_renders_its_table_and_keeps_names_as_text(bench, tmp_path):
    args = ["--dataset", "digits", "--arch", "mlp", "--epochs", "1"]
    assert bench("run", *args, "--name", HOSTILE).code == 0
    assert bench("run", *args, "--lr", "0.01", "--name", "plain").code == 0
    page = tmp_path / "report.html"
    assert bench("report", "--format", "html", "--output", page).code == 0
    dom, pixels = browse(page, tmp_path)
    assert "pwned" not in dom.split("<title>")[1].split("</title>")[0]
    assert "&lt;img src=x" in dom and dom.count("<tr") >= 3  # header and two rows
    assert pixels.std() > 5  # something was drawn, not a blank page


def test_a_suite_page_shows_its_figures(bench, tmp_path):
    suite = tmp_path / "page.toml"
    suite.write_text(
        'seeds = [0, 1]\n[base]\ndataset = "digits"\narch = "mlp"\nepochs = 2\n'
        '[[variants]]\nname = "A"\n[[variants]]\nname = "B"\nlr = 0.01\n'
    )
    assert bench("sweep", suite).code == 0
    page = tmp_path / "suite.html"
    assert bench("report", "--suite", suite, "--format", "html", "--output", page).code == 0
    dom, pixels = browse(page, tmp_path)
    assert dom.count('<img src="data:image/png;base64,') >= 2 and "<table" in dom
    assert pixels.std() > 5
