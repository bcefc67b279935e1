"""The book builds with zero warnings, and every page is served from the book itself."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", "--warningiserror", "--nitpick", "--keep-going",
         "--path-output", str(out), str(ROOT)],
        capture_output=True, text=True, cwd=ROOT, timeout=900,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert "WARNING" not in log, "\n".join(s for s in log.splitlines() if "WARNING" in s)
    yield out / "_build" / "html"
    shutil.rmtree(out, ignore_errors=True)


def _toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc["parts"]:
        pages += [c["file"] for c in part["chapters"]]
    return pages


def test_every_chapter_notebook_is_in_the_toc():
    listed = set(_toc_pages())
    on_disk = {f"chapters/{p.stem}" for p in (ROOT / "chapters").glob("*.ipynb")}
    assert on_disk and on_disk <= listed


# Anything a page would load: scripts, stylesheets and icons, images, CSS imports;
# tags may span lines (matplotlib's animation HTML breaks its <link> over two).
_LOADED = [
    re.compile(r"<script\b[^>]*?\ssrc=[\"']([^\"']+)", re.S | re.I),
    re.compile(r"<link\b[^>]*?\shref=[\"']([^\"']+)[^>]*>", re.S | re.I),
    re.compile(r"<img\b[^>]*?\ssrc=[\"']([^\"']+)", re.S | re.I),
    re.compile(r"@import\s+(?:url\()?[\"']?([^\"')\s;]+)", re.S | re.I),
]


def _remote_loads(text):
    """URLs a page would fetch from the network (links to other sites are fine)."""
    found = []
    for pattern in _LOADED:
        for m in pattern.finditer(text):
            tag, url = m.group(0), m.group(1)
            if tag.lower().startswith("<link") and not re.search(
                    r"rel=[\"'][^\"']*(stylesheet|icon|preload|modulepreload)", tag, re.I):
                continue  # <link rel="canonical|next|prev"> is not loaded
            if url.startswith(("http:", "https:", "//")):
                found.append(url)
    return found


def test_the_static_check_sees_loads_across_lines():
    page = '<p>ok</p><link rel="stylesheet"\nhref="https://cdn.example/x.css">' \
           '<img\n src="//cdn.example/y.png"><style>@import url("https://f.example/z.css");</style>' \
           '<a href="https://example.org/paper">a paper</a>'
    assert _remote_loads(page) == ["https://cdn.example/x.css", "//cdn.example/y.png",
                                   "https://f.example/z.css"]


def test_every_page_is_built_with_local_assets_only(html):
    for page in _toc_pages():
        text = (html / f"{page}.html").read_text()
        remote = _remote_loads(text)
        assert not remote, f"{page} loads from the network: {remote}"
        srcs = re.findall(r'<script[^>]*\ssrc="([^"]+)"', text)
        mathjax = [s for s in srcs if "tex-mml-chtml.js" in s]
        if page == "genindex":  # Sphinx's own index page holds no math
            assert not mathjax, f"{page} loads MathJax it does not need"
            continue
        assert len(mathjax) == 1, f"{page} must load the book's own MathJax, got {mathjax}"
        assert (html / page).parent.joinpath(mathjax[0].split("?")[0]).resolve().is_file()


def test_chapters_have_math_figures_and_references(html):
    for page in [p for p in _toc_pages() if p.startswith("chapters/")]:
        text = (html / f"{page}.html").read_text()
        assert "\\(" in text or "\\[" in text or "math notranslate" in text, page
        assert text.count('<img ') >= 2, f"{page} has fewer than two figures"
        assert 'id="references"' in text, f"{page} has no References section"
        for ref in re.findall(r'href="([^"#:]+\.html)', text):
            assert ((html / page).parent / ref).resolve().is_file(), f"{page}: broken link {ref}"


def test_widget_manager_is_local_when_a_page_has_widgets(html):
    for page in _toc_pages():
        text = (html / f"{page}.html").read_text()
        if "application/vnd.jupyter.widget-state+json" in text:
            assert "requirejs/require.js" in text and "jupyter-widgets/embed-amd.js" in text


# In a real browser: what a reader sees. ------------------------------------------

@pytest.fixture(scope="module")
def site(html):
    from browser import launch, serve

    try:
        with serve(html) as base, launch() as chromium:
            yield base, chromium
    except RuntimeError as err:  # no browser: fail with the way to get one, never skip
        pytest.fail(str(err))


def _visit(site, page, dark=False):
    from browser import open_page

    base, chromium = site
    context = chromium.new_context(color_scheme="dark" if dark else "light")
    # Playwright's 30 s default is too short when the other test worker loads both cores:
    # a page that loads cleanly can then take longer to go quiet.
    context.set_default_timeout(120_000)
    tab, report = open_page(context, f"{base}/{page}.html", dark=dark)
    return context, tab, report


# Each page is loaded once in light mode (the load, MathJax's typesetting, the network
# going quiet: most of a browser test's time) and every light-mode check reads that load.

def _loads_cleanly(page, tab):
    from browser import UNPARSED, VISIBLE_PROSE_JS

    if tab.locator(".math").count():
        assert tab.locator("mjx-container").count(), f"{page}: math not typeset"
    assert tab.locator("mjx-merror").count() == 0, f"{page}: MathJax error"
    prose = tab.evaluate(VISIBLE_PROSE_JS)
    raw = [u for u in UNPARSED if u in prose]
    assert not raw, f"{page}: unparsed markup {raw} left in the page"
    broken = tab.evaluate("() => [...document.images]"
                          ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert not broken, f"{page}: images not loaded: {broken}"
    no_alt = tab.evaluate("() => [...document.querySelectorAll('main img')]"
                          ".filter(i => !i.alt.trim()).map(i => i.outerHTML.slice(0, 80))")
    assert not no_alt, f"{page}: images without alternative text: {no_alt}"


def _every_fold_opens_on_click(page, tab):
    buttons = tab.locator("button.toggle-button")
    for i in range(buttons.count()):
        button = buttons.nth(i)
        target = button.get_attribute("data-target")
        hidden = ("t => document.getElementById(t.replace(/^#/, ''))"
                  ".classList.contains('toggle-hidden')")
        assert tab.evaluate(hidden, target), f"{page}: fold {target} is not closed at first"
        button.scroll_into_view_if_needed()
        button.click()
        assert not tab.evaluate(hidden, target), f"{page}: fold {target} did not open"
    summaries = tab.locator("details > summary")
    for i in range(summaries.count()):
        summary = summaries.nth(i)
        summary.scroll_into_view_if_needed()
        was_open = summary.evaluate("s => s.parentElement.open")
        summary.click()
        assert summary.evaluate("s => s.parentElement.open") != was_open, (
            f"{page}: a folded block ({summary.inner_text()[:40]!r}) does not open")


def _every_demo_plays_without_a_kernel(page, tab):
    animations = tab.locator("div.animation")
    for i in range(animations.count()):
        anim = animations.nth(i)
        frame = anim.locator("img").first
        before = frame.get_attribute("src")
        anim.locator('button[title="Next frame"]').click()
        assert frame.get_attribute("src") != before, f"{page}: animation {i} does not move"
    sliders = tab.locator("div.nnbook-slider")
    for i in range(sliders.count()):
        slider = sliders.nth(i)
        image, knob = slider.locator("img"), slider.locator("input")
        before = image.get_attribute("src")
        last = int(knob.get_attribute("max"))
        knob.fill(str(0 if knob.input_value() == str(last) else last))
        assert image.get_attribute("src") != before, f"{page}: static slider {i} does not move"


def _print_shows_each_demos_static_figure(page, tab):
    """On paper every slider and animation prints its figure, without its controls."""
    shown = "e => { const r = e.getBoundingClientRect(); " \
            "return getComputedStyle(e).display !== 'none' && r.width > 50 && r.height > 50; }"
    hidden = "e => getComputedStyle(e).display === 'none' || e.getBoundingClientRect().height === 0"
    tab.emulate_media(media="print")
    for box in ("div.nnbook-slider", "div.animation"):
        demos = tab.locator(box)
        for i in range(demos.count()):
            demo = demos.nth(i)
            assert demo.locator("img").first.evaluate(shown), f"{page}: {box} {i} prints no figure"
            controls = demo.locator("input[type=range], .anim-controls")
            for j in range(controls.count()):
                assert controls.nth(j).evaluate(hidden), f"{page}: {box} {i} prints its controls"
    live = tab.locator(".jupyter-widgets")
    for i in range(live.count()):
        assert live.nth(i).evaluate(hidden), f"{page}: a live widget view is printed"
    tab.emulate_media(media="screen")


@pytest.mark.parametrize("page", _toc_pages())
def test_page_works_in_a_browser(site, page):
    """Loads with no error and no request leaving the book, math typeset, images shown;
    every fold opens on a click; animations and sliders play without a kernel; printing
    shows each demo's figure without its controls (the print check on chapters only)."""
    context, tab, report = _visit(site, page)
    try:
        _loads_cleanly(page, tab)
        _every_fold_opens_on_click(page, tab)
        _every_demo_plays_without_a_kernel(page, tab)
        if page.startswith("chapters/"):
            _print_shows_each_demos_static_figure(page, tab)
        problems = report.problems()     # also what the clicks above raised
        assert not problems, "\n".join(f"{page}: {p}" for p in problems)
    finally:
        context.close()


@pytest.mark.parametrize("page", _toc_pages())
def test_page_switches_to_dark_mode_cleanly(site, page):
    context, tab, report = _visit(site, page, dark=True)
    try:
        mode = tab.evaluate("() => document.documentElement.dataset.theme")
        assert mode == "dark", f"{page} did not switch to dark mode ({mode!r})"
        problems = report.problems()
        assert not problems, "\n".join(f"{page}: {p}" for p in problems)
    finally:
        context.close()


def test_every_chapter_page_launches_its_own_notebook(html):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    branch = config["repository"]["branch"]
    for page in [p for p in _toc_pages() if p.startswith("chapters/")]:
        text = (html / f"{page}.html").read_text()
        colab = f'href="https://colab.research.google.com/github/{repo}/blob/{branch}/{page}.ipynb"'
        binder = f'href="https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=tree/{page}.ipynb"'
        assert colab in text, f"{page} has no Colab button for its own notebook"
        assert binder in text, f"{page} has no Binder button for its own notebook"
        assert (ROOT / f"{page}.ipynb").is_file()
