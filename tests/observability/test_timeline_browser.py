"""The timeline as a real browser draws it: each stored period where it belongs, in colour."""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from circuit_breaker_django.timeline import (
    SPARKLINE_HEIGHT,
    SPARKLINE_WIDTH,
    STYLES,
    TIMELINE_PAD,
    TIMELINE_WIDTH,
    frame,
    get_window,
    sparkline_svg,
    state_segments,
    timeline_svg,
)
from tests.services import CHROMIUM, CHROMIUM_ARGS, playwright_or_skip

pytestmark = pytest.mark.browser

END = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
DAY = frame(get_window("24h"), END)
STORED = [  # what the Transition table would hold
    SimpleNamespace(at=END - timedelta(hours=18), from_state="closed", to_state="open"),
    SimpleNamespace(at=END - timedelta(hours=12), from_state="open", to_state="closed"),
    SimpleNamespace(at=END - timedelta(hours=6), from_state="closed", to_state="forced_open"),
    SimpleNamespace(at=END - timedelta(hours=3), from_state="forced_open", to_state="closed"),
]


def png_pixels(data: bytes) -> list[tuple[int, int, int]]:
    """RGB pixels of an 8-bit RGB/RGBA PNG (what Chromium's screenshots are)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, header = 8, b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        header = body if kind == b"IHDR" else header
        chunks += body if kind == b"IDAT" else b""
        offset += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw, rows, previous = zlib.decompress(chunks), [], bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, up_left = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[i] = (
                    line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)
                ) & 0xFF
        rows.append(line)
        previous = line
    return [tuple(row[x : x + 3]) for row in rows for x in range(0, stride, channels)]  # type: ignore[misc]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def close_to(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(x - y) <= 10 for x, y in zip(a, b, strict=True))


def test_the_browser_draws_each_stored_period_at_its_place_and_colour() -> None:
    sync_api = playwright_or_skip()
    segments = state_segments(STORED, DAY.start, END)
    page_html = (
        '<html><body style="margin:0;background:#fff">'
        f'<div id="timeline" style="width:{TIMELINE_WIDTH}px">'
        f"{timeline_svg('orders_db', segments, DAY)}</div>"
        f'<div id="spark">{sparkline_svg("orders_db", segments, DAY)}</div></body></html>'
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 200})
            page.set_content(page_html)
            plot_left, plot_width = TIMELINE_PAD, TIMELINE_WIDTH - 2 * TIMELINE_PAD
            band_middle = 6 + 18
            for segment in segments:
                middle = segment.start + segment.duration / 2
                x = plot_left + plot_width * ((middle - DAY.start) / DAY.span)
                # What the browser hit-tests there is this period's band...
                hit = page.evaluate(
                    "([x, y]) => document.elementFromPoint(x, y).closest('g').dataset.state",
                    [x, band_middle + 12],  # below the label text, still inside the band
                )
                assert hit == segment.state
                # ...and what it painted there is mostly the state's colour.
                shot = page.screenshot(
                    clip={"x": x - 4, "y": band_middle + 10, "width": 8, "height": 8}
                )
                dominant, _ = Counter(png_pixels(shot)).most_common(1)[0]
                assert close_to(dominant, rgb(STYLES[segment.state].colour)), (segment, dominant)
            spark = page.locator("#spark svg").bounding_box()
            assert spark is not None
            assert (spark["width"], spark["height"]) == (SPARKLINE_WIDTH, SPARKLINE_HEIGHT)
        finally:
            browser.close()
