#!/usr/bin/env python3
"""Validates bench/pgdocs/questions.json against the PostgreSQL 15 HTML documentation.

Checks, for every question:
  * the entry has an id, a question, a non-empty `relevant` list and an `answer_hint`; ids are unique;
  * every page named in `relevant` exists in the corpus folder;
  * the `answer_hint` occurs (case-insensitive, whitespace collapsed) in the visible text of at
    least one of its relevant pages.

Visible text is what `page_text` below returns; bm25s_reference.py imports it, so the checker
and the reference benchmark read the pages identically (see README.md, "Page text").

Usage: check_questions.py [--corpus DIR] [--questions FILE]
Exits 0 when everything holds, 1 with one line per problem otherwise.
"""
import argparse
import json
import os
import sys
from html.parser import HTMLParser

DEFAULT_CORPUS = "/usr/share/doc/postgresql-doc-15/html"
DEFAULT_QUESTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "questions.json")

# Elements whose whole content is dropped. Skipped <div>s are those whose class list contains
# one of SKIPPED_DIV_CLASSES (the DocBook Prev/Up/Next navigation tables).
SKIPPED_ELEMENTS = {"head", "script", "style"}
SKIPPED_DIV_CLASSES = {"navheader", "navfooter"}
# Block-level elements: their start and end tags count as a word break, so that e.g.
# "<h2>VACUUM</h2><p>VACUUM —" reads "VACUUM VACUUM —" and not "VACUUMVACUUM —".
# Every other tag (code, em, a, span, ...) is transparent: "<code>pg_dump</code>'s" reads "pg_dump's".
BLOCK_ELEMENTS = {
    "address", "blockquote", "body", "br", "caption", "dd", "div", "dl", "dt", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "li", "ol", "p", "pre", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "ul",
}


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip_tag = None   # tag name of the element being skipped
        self.skip_depth = 0    # nesting depth of that tag name inside the skipped element

    def handle_starttag(self, tag, attrs):
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth += 1
            return
        classes = set((dict(attrs).get("class") or "").split())
        if tag in SKIPPED_ELEMENTS or (tag == "div" and classes & SKIPPED_DIV_CLASSES):
            self.skip_tag, self.skip_depth = tag, 1
            return
        if tag in BLOCK_ELEMENTS:
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):  # <br />, <hr />, <img ... />: no content
        if self.skip_tag is None and tag in BLOCK_ELEMENTS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
            return
        if tag in BLOCK_ELEMENTS:
            self.parts.append(" ")

    def handle_data(self, data):
        if self.skip_tag is None:
            self.parts.append(data)


def page_text(path):
    """Visible text of one HTML page, whitespace collapsed to single spaces (str.split())."""
    with open(path, encoding="utf-8") as handle:
        markup = handle.read()
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return " ".join("".join(parser.parts).split())


def normalize(text):
    return " ".join(text.split()).casefold()


def check(corpus, questions_path):
    problems = []
    try:
        with open(questions_path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        return [f"{questions_path}: cannot read: {error}"], 0
    questions = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(questions, list) or not questions:
        return [f"{questions_path}: expected an object with a non-empty \"questions\" list"], 0
    if not os.path.isdir(corpus):
        return [f"corpus folder {corpus} does not exist (apt-get install postgresql-doc-15)"], 0

    seen_ids = set()
    cache = {}
    for index, entry in enumerate(questions):
        label = entry.get("id") if isinstance(entry, dict) else None
        label = label or f"entry #{index + 1}"
        if not isinstance(entry, dict):
            problems.append(f"{label}: not an object")
            continue
        for field in ("id", "question", "answer_hint"):
            if not isinstance(entry.get(field), str) or not entry[field].strip():
                problems.append(f"{label}: missing or empty \"{field}\"")
        if entry.get("id") in seen_ids:
            problems.append(f"{label}: duplicate id")
        seen_ids.add(entry.get("id"))
        relevant = entry.get("relevant")
        if not isinstance(relevant, list) or not relevant or not all(isinstance(p, str) for p in relevant):
            problems.append(f"{label}: \"relevant\" must be a non-empty list of page file names")
            continue
        if len(set(relevant)) != len(relevant):
            problems.append(f"{label}: \"relevant\" lists a page twice")
        existing = []
        for page in relevant:
            path = os.path.join(corpus, page)
            if os.path.basename(page) != page or not page.endswith(".html"):
                problems.append(f"{label}: relevant page {page!r} is not a bare .html file name")
            elif not os.path.isfile(path):
                problems.append(f"{label}: relevant page {page} does not exist in {corpus}")
            else:
                existing.append(page)
        hint = entry.get("answer_hint")
        if existing and isinstance(hint, str) and hint.strip():
            needle = normalize(hint)
            for page in existing:
                if page not in cache:
                    cache[page] = normalize(page_text(os.path.join(corpus, page)))
            if not any(needle in cache[page] for page in existing):
                problems.append(f"{label}: answer_hint {hint!r} occurs in none of {', '.join(existing)}")
    return problems, len(questions)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--questions", default=DEFAULT_QUESTIONS)
    args = parser.parse_args()
    problems, count = check(args.corpus, args.questions)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(problems)} problem(s) in {args.questions}", file=sys.stderr)
        return 1
    print(f"ok: {count} questions, every relevant page exists and every answer_hint is found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
