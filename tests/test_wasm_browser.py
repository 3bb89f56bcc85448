"""The browser demo in headless Chromium: the digits model compiled to WebAssembly, run by
the page, agrees with irforge's native code on the same 8x8 input.

`python -m irforge.examples.web` is built into a temporary directory, served on localhost
by the demo's own server (which must send application/wasm and text/javascript), and
driven with Playwright: one held-out digit is picked, one digit is drawn with the mouse.
The page reports each classification as JSON in `#result`: the 64 intensities it fed the
model, the 10 probabilities, and the time per classification measured in the page
(median of batches of runs, performance.now()).

Skips if Playwright is not importable or there is no Chromium (Debian's `chromium`, or a
browser installed by `python -m playwright install chromium`).
"""

import json
import shutil
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from irforge.examples.digits import load_test_split, model_path

# Probabilities from wasm32 (simd128, no FMA instructions, the module's own expf) vs the
# host's native code: float32 sums in another order and another exp; measured differences
# are ~1e-9, the bounds leave room for other LLVM versions.
RTOL, ATOL = 1e-4, 1e-5

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium(playwright) -> str:
    """Path of a Chromium executable, or skip."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    bundled = playwright.chromium.executable_path
    if bundled and Path(bundled).exists():
        return bundled
    pytest.skip(
        "no Chromium executable (install Debian's `chromium`, or run "
        "`python -m playwright install chromium`)"
    )


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    from irforge.examples.web import build_demo, make_server

    out = tmp_path_factory.mktemp("web")
    try:
        build_demo(out)
    except RuntimeError as e:  # WasmLinkerNotFound: no wasm-ld on this machine
        if type(e).__name__ != "WasmLinkerNotFound":
            raise
        pytest.skip(f"cannot link WebAssembly here: {e}")
    server = make_server(out, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def native():
    import irforge

    return irforge.compile(model_path(), input_shapes={"input": [1, 64]})


@pytest.fixture(scope="module")
def page(demo_url):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(p), args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page()
            errors: list[str] = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto(demo_url + "index.html")
            pg.wait_for_selector("#status[data-state=ready], #status[data-state=error]")
            status = pg.locator("#status")
            assert status.get_attribute("data-state") == "ready", status.text_content()
            assert not errors, errors
            yield pg
        finally:
            browser.close()


def _result(page, count: int) -> dict:
    """The page's `count`-th classification (waits for it)."""
    page.wait_for_selector(f"#result[data-count='{count}']", state="attached", timeout=30_000)
    return json.loads(page.text_content("#result"))


def _check_against_native(result: dict, native) -> np.ndarray:
    pixels = np.array(result["input"], dtype=np.float32)
    assert pixels.shape == (64,) and pixels.min() >= 0 and pixels.max() <= 16
    assert np.array_equal(pixels, np.round(pixels)), "intensities must be integers 0-16"
    expected = native((pixels / 16).reshape(1, 64))[0]
    got = np.array(result["probabilities"], dtype=np.float32)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    assert result["predicted"] == int(np.argmax(expected)) == int(np.argmax(got))
    ms = result["ms_per_classification"]
    where = result["source"]
    print(f"\nin-browser classification ({where}): {ms * 1000:.1f} us ({result['timing']})")
    assert 0 <= ms < 1000, f"{ms} ms per classification"
    return expected


def test_server_sends_wasm_and_js_mime_types(demo_url):
    for name, mime in [("model.wasm", "application/wasm"), ("model.js", "text/javascript")]:
        with urllib.request.urlopen(demo_url + name, timeout=10) as r:
            assert r.headers.get_content_type() == mime, name


def test_heldout_digit_matches_native(page, native):
    x, y = load_test_split()
    button = page.locator("#digits button").nth(7)
    button.click()
    result = _result(page, 1)
    index = result["source"]["index"]
    assert result["source"]["label"] == int(y[index]) == int(button.get_attribute("data-label"))
    # The page feeds the model exactly the held-out image.
    np.testing.assert_array_equal(np.array(result["input"], np.float32) / 16, x[index])
    _check_against_native(result, native)
    bars = [float(page.get_attribute(f"#bar-{i}", "data-p")) for i in range(10)]
    np.testing.assert_allclose(bars, result["probabilities"], rtol=1e-6)
    assert page.text_content("#prediction") == str(result["predicted"])


def test_drawn_digit_matches_native(page, native):
    count = int(page.get_attribute("#result", "data-count") or 0)
    pad = page.locator("#pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()

    def at(fx: float, fy: float) -> tuple[float, float]:
        return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy

    # A "7": a top bar, then a diagonal down to the left.
    page.mouse.move(*at(0.3, 0.2))
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(*at(0.3 + 0.4 * i / 15, 0.2))
    for i in range(1, 16):
        page.mouse.move(*at(0.7 - 0.25 * i / 15, 0.2 + 0.65 * i / 15))
    page.mouse.up()
    result = _result(page, count + 1)
    assert result["source"]["kind"] == "drawn"
    image = np.array(result["input"]).reshape(8, 8)
    assert image[0].sum() > image[4].sum() > 0, f"not the drawn 7:\n{image}"
    expected = _check_against_native(result, native)
    assert int(np.argmax(expected)) == 7, f"the drawn 7 was read as {np.argmax(expected)}"
