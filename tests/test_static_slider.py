"""The kernel-free slider: one frame per value, and moving it shows the right frame."""

import re

import matplotlib
import pytest

from nnbook.static_slider import static_slider

matplotlib.use("Agg")


def _draw(value):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.5, 1.5))
    ax.set_title(f"{value}")
    ax.plot([0, 1], [0, value])
    return fig


def _frames(html):
    return re.search(r"var frames = (\[.*?\])", html).group(1).count('"') // 2


def test_one_frame_per_value_starting_in_the_middle():
    html = static_slider(_draw, [1, 2, 3, 4, 5], label="slope", name="s1", fmt="{:.1f}").data
    assert _frames(html) == 5
    assert 'min="0" max="4" step="1" value="2"' in html
    assert "<output>3.0</output>" in html
    assert 'id="nnbook-slider-s1"' in html


def test_refusals():
    with pytest.raises(ValueError, match=r"^values must hold at least 2 positions, got 1$"):
        static_slider(_draw, [1], label="a", name="x")
    with pytest.raises(ValueError, match=r"^name must be letters, digits and '-', got 'a b'$"):
        static_slider(_draw, [1, 2], label="a", name="a b")
    with pytest.raises(ValueError, match=r"^start must lie in \[0, 1\], got 2$"):
        static_slider(_draw, [1, 2], label="a", name="x", start=2)


def test_moving_the_slider_shows_that_frame_in_a_browser():
    from browser import launch

    html = static_slider(_draw, [1, 2, 3], label="slope", name="s2", start=0).data
    frames = re.search(r"var frames = (\[.*?\])", html).group(1)
    with launch() as chromium:
        page = chromium.new_page()
        page.set_content(f"<html><body>{html}</body></html>")
        src0 = page.locator("#nnbook-slider-s2 img").get_attribute("src")
        page.locator("#nnbook-slider-s2 input").fill("2")
        src2 = page.locator("#nnbook-slider-s2 img").get_attribute("src")
        assert src2 != src0 and src2.split(",")[1] in frames
        assert frames.index(src2.split(",")[1]) > frames.index(src0.split(",")[1])
        assert page.locator("#nnbook-slider-s2 output").inner_text() == "3"
