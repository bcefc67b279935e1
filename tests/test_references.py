"""references.bib: every cited work is in it, and every entry is complete and unique."""

import re
from pathlib import Path

import pytest
import yaml
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
# Where a work appeared: a journal, a proceedings volume, a publisher, a university,
# a preprint server, or (for data sets and software) how it is published.
VENUE_FIELDS = {"journal", "booktitle", "publisher", "school", "institution",
                "howpublished", "eprint", "organization"}
CITE = re.compile(r"\{cite(?::[a-z]+)*\}`([^`]+)`")


@pytest.fixture(scope="module")
def bib():
    return parse_file(str(ROOT / "references.bib"), bib_format="bibtex")


def _pages():
    """The Markdown source of every page of the book (a chapter's is its .md twin)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [ROOT / f"{f}.md" for f in files if (ROOT / f"{f}.md").is_file()]


def _norm(title):
    """A title without case, braces, punctuation or spacing differences."""
    return re.sub(r"[^a-z0-9]+", " ", title.lower().replace("{", "").replace("}", "")).strip()


def test_every_cited_key_is_in_the_bibliography(bib):
    known = set(bib.entries.keys())
    missing = []
    for page in _pages():
        for match in CITE.finditer(page.read_text()):
            for key in match.group(1).split(","):
                if key.strip() not in known:
                    missing.append(f"{page.relative_to(ROOT)}: {key.strip()}")
    assert not missing, "cited but not in references.bib:\n" + "\n".join(missing)


def test_every_entry_has_authors_title_year_and_venue(bib):
    incomplete = []
    for key, entry in bib.entries.items():
        fields = {name.lower() for name in entry.fields}
        lacks = [f for f in ("title", "year") if f not in fields]
        if not (entry.persons.get("author") or entry.persons.get("editor")):
            lacks.append("author")
        if not fields & VENUE_FIELDS:
            lacks.append("venue (" + " or ".join(sorted(VENUE_FIELDS)) + ")")
        if "year" in fields and not re.fullmatch(r"\d{4}", entry.fields["year"].strip()):
            lacks.append(f"a four-digit year (got {entry.fields['year']!r})")
        if lacks:
            incomplete.append(f"{key}: no {', '.join(lacks)}")
    assert not incomplete, "\n".join(incomplete)


def test_dois_are_well_formed_and_unique(bib):
    seen, problems = {}, []
    for key, entry in bib.entries.items():
        doi = entry.fields.get("doi")
        if doi is None:
            continue
        if not re.fullmatch(r"10\.\d{4,9}/\S+", doi):
            problems.append(f"{key}: DOI {doi!r} is not of the form 10.NNNN/suffix")
        other = seen.setdefault(doi.lower(), key)
        if other != key:
            problems.append(f"{key} and {other} share the DOI {doi}")
    assert not problems, "\n".join(problems)


def test_no_two_entries_share_a_title(bib):
    seen, duplicates = {}, []
    for key, entry in bib.entries.items():
        other = seen.setdefault(_norm(entry.fields.get("title", key)), key)
        if other != key:
            duplicates.append(f"{key} and {other}: {entry.fields['title']!r}")
    assert not duplicates, "\n".join(duplicates)


def test_the_title_check_ignores_case_braces_and_punctuation():
    assert _norm("{PyTorch}: an imperative style") == _norm("PyTorch -- An Imperative Style")
