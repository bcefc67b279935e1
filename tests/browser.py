"""A real headless Chromium over the built book: what a reader's browser sees.

Used by ``tests/test_book.py``. Every page of the table of contents is loaded from
a server on 127.0.0.1; every request that would leave it is blocked and recorded.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM_FLAGS = [
    "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
HOW_TO_GET_ONE = (
    "the browser test needs Chromium. On Debian or Ubuntu: `apt-get install -y chromium` "
    "(.ci/run does this); elsewhere, with internet access: "
    "`.venv/bin/python -m playwright install chromium`."
)
# Text that MyST or MathJax should have turned into something else.
UNPARSED = ["$$", "\\(", "\\[", "```{", ":::{", "{term}", "{cite", "{glue", "{numref", "{ref}",
            "{eq}", "{doc}"]
LOCAL_HOSTS = {"127.0.0.1"}


@contextmanager
def serve(root: Path):
    """Serve ``root`` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@contextmanager
def launch():
    """A Playwright Chromium: Debian's binary if there is one, else Playwright's own."""
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as pw:
        try:
            exe = chromium_path()
            browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        except Error as err:
            raise RuntimeError(f"{HOW_TO_GET_ONE} (launch failed: {err})") from None
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageReport:
    """Everything that went wrong while loading one page."""

    url: str
    external: list = field(default_factory=list)
    console: list = field(default_factory=list)
    exceptions: list = field(default_factory=list)
    failed: list = field(default_factory=list)

    def problems(self, allowed_console=()) -> list[str]:
        out = [f"request leaving 127.0.0.1: {u}" for u in self.external]
        out += [f"console error: {m}" for m in self.console
                if not any(a in m for a in allowed_console)]
        out += [f"uncaught exception: {m}" for m in self.exceptions]
        out += [f"failed response: {m}" for m in self.failed]
        return out


def open_page(context, url: str, dark: bool = False, idle: bool = True):
    """Load ``url`` in a new page, recording errors; waits for MathJax where loaded."""
    report = PageReport(url)
    page = context.new_page()

    def route(r):
        host = urlparse(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            r.continue_()
        else:
            report.external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: report.console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: report.exceptions.append(str(e)))
    page.on("response", lambda r: report.failed.append(f"{r.status} {r.url}")
            if r.status >= 400 else None)
    if dark:
        page.add_init_script("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');")
    page.goto(url, wait_until="load")
    if page.evaluate("() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)"):
        page.evaluate("() => MathJax.startup.promise")
    if idle:
        page.wait_for_load_state("networkidle")
    return page, report


VISIBLE_PROSE_JS = """() => {
  const main = document.querySelector('main') || document.body;
  const clone = main.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .cell_output, .output')
       .forEach(e => e.remove());
  return clone.innerText;
}"""


def print_pdf(root: Path, out: Path, page: str = "intro.html") -> int:
    """Print ``root/page`` (the single-page HTML book) to ``out`` as A4; returns the page count."""
    with serve(root) as base, launch() as browser:
        context = browser.new_context()
        context.set_default_timeout(600_000)   # the whole book in one page
        tab, report = open_page(context, f"{base}/{page}", idle=False)
        # The single-page builder writes no search index, which its page still requests.
        report.failed = [f for f in report.failed if not f.endswith("/searchindex.js")]
        if not report.failed:
            report.console = [m for m in report.console if "status of 404" not in m]
        problems = report.problems()
        if problems:
            raise RuntimeError("the page does not load cleanly:\n" + "\n".join(problems))
        tab.emulate_media(media="print")
        pdf = tab.pdf(format="A4", print_background=True, outline=True, tagged=True,
                      margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"})
    out.write_bytes(pdf)
    return pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page>") + pdf.count(b"/Type /Page/")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Print the single-page HTML book to a PDF.")
    parser.add_argument("root", type=Path, help="the singlehtml build folder")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    print_pdf(args.root, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
