"""A small Sphinx extension for building the book (not needed to use nnbook).

* Every page receives each inline script once: sphinx-thebe 0.3.1 adds its
  configuration script twice under Sphinx 7.4, and the second ``const``
  declaration is an uncaught SyntaxError in the reader's browser.
* The single-page HTML that ``make pdf`` prints renders every node as the
  multi-page HTML does.
* A figure's image without alternative text gets the figure's caption as its
  alt text, for readers who cannot see it.
* Animations made with matplotlib's ``to_jshtml`` link a Font Awesome stylesheet
  from a CDN; the book's theme already draws those icons, so the link is removed
  from the stored HTML outputs before they are written to the page (the book
  loads nothing from the network).
"""

from __future__ import annotations

import html
import re

# matplotlib's animation HTML: <link rel="stylesheet"\nhref="https://.../font-awesome...css">
_IMG_WITHOUT_ALT = re.compile(r"<img\s(?![^>]*\balt=\"[^\"])")  # no alt, or alt=""
_CDN_LINK = re.compile(r"<link\b[^>]*\bhref=\"https?://[^\"]*font-awesome[^\"]*\"[^>]*>", re.S)


def _unique_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        if isinstance(script, str):
            key = (script, ())
        else:  # the same file or inline body, whatever its priority
            key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def strip_cdn_links(html: str) -> str:
    """Remove the Font Awesome stylesheet links that ``to_jshtml`` writes."""
    return _CDN_LINK.sub("", html)


def _alt_from_captions(app, doctree, docname):
    """A figure's image without alternative text gets its caption as alt text."""
    from docutils import nodes

    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        if not captions:
            continue
        text = " ".join(captions[0].astext().split())
        for image in figure.findall(nodes.image):
            if not image.get("alt"):
                image["alt"] = text
        for raw in figure.findall(nodes.raw):   # an animation's frames, a static slider
            if "html" in raw.get("format", "") and "<img" in raw.astext():
                alt = f'<img alt="{html.escape(text, quote=True)}" '
                new = _IMG_WITHOUT_ALT.sub(lambda _, alt=alt: alt, raw.astext())
                new = re.sub(r'(<img alt="[^"]+" [^>]*?)\s*\balt=""', r"\1", new)
                raw.children = [nodes.Text(new)]
                raw.rawsource = new


def _strip_outputs(app, doctree, docname):
    from docutils import nodes

    for node in doctree.findall(nodes.raw):
        if "html" in node.get("format", "") and "font-awesome" in node.astext():
            text = strip_cdn_links(node.astext())
            node.children = [nodes.Text(text)]
            node.rawsource = text


def _singlehtml_renders_like_html(app):
    """The single-page HTML (for ``make pdf``) renders every node as the HTML build does.

    Extensions (myst-nb's folded cells, Jupyter Book's hidden cells) register their
    nodes for the ``html`` builder only; the ``singlehtml`` builder uses the same
    translator, so it gets the same handlers where it has none.
    """
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node, visitors in handlers.get("html", {}).items():
        single.setdefault(node, visitors)


def setup(app):
    app.connect("builder-inited", _singlehtml_renders_like_html)
    app.connect("html-page-context", _unique_scripts)
    app.connect("doctree-resolved", _strip_outputs)
    app.connect("doctree-resolved", _alt_from_captions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
