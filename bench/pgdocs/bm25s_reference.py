"""Reference measurement for the ares knowledge-base benchmark: bm25s (Python) over the same
corpus and question set, with the same metric definitions as `ares-bench corpus`.

Pages are parsed with html.parser (script, style and the navheader/navfooter divs dropped),
cut into 200-word passages, indexed by bm25s with English stop words and the Snowball
English stemmer (PyStemmer). Reports passages, index build seconds, query latency, and
page-level Recall@5 and MRR@10.
"""
import argparse
import json
import os
import statistics
import time
from html.parser import HTMLParser

import bm25s
import Stemmer

DEFAULT_CORPUS = "/usr/share/doc/postgresql-doc-15/html"
HERE = os.path.dirname(os.path.abspath(__file__))


class PageText(HTMLParser):
    """Visible text of a page, without scripts, styles and the navigation divs."""

    SKIP_TAGS = {"script", "style"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip_depth = 0
        self.stack = []

    def handle_starttag(self, tag, attrs):
        classes = dict(attrs).get("class") or ""
        skipping = tag in self.SKIP_TAGS or (tag == "div" and ("navheader" in classes or "navfooter" in classes))
        if self.skip_depth or skipping:
            self.skip_depth += 1
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack:
                open_tag = self.stack.pop()
                if self.skip_depth:
                    self.skip_depth -= 1
                if open_tag == tag:
                    break

    def handle_data(self, data):
        if not self.skip_depth:
            self.parts.append(data)


def passages(corpus):
    result = []
    for name in sorted(os.listdir(corpus)):
        if not name.endswith(".html"):
            continue
        with open(os.path.join(corpus, name), encoding="utf-8", errors="replace") as handle:
            parser = PageText()
            parser.feed(handle.read())
        words = " ".join(parser.parts).split()
        for start in range(0, len(words), 200):
            result.append((name, " ".join(words[start:start + 200])))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--questions", default=os.path.join(HERE, "questions.json"))
    parser.add_argument("--repetitions", type=int, default=20)
    args = parser.parse_args()

    questions = json.load(open(args.questions))["questions"]
    items = passages(args.corpus)
    pages = [page for page, _ in items]
    stemmer = Stemmer.Stemmer("english")

    started = time.perf_counter()
    tokens = bm25s.tokenize([text for _, text in items], stopwords="en", stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    build_seconds = time.perf_counter() - started

    def search(text, k):
        query = bm25s.tokenize([text], stopwords="en", stemmer=stemmer, show_progress=False)
        if not query.vocab:
            return []
        documents, _ = retriever.retrieve(query, k=k, show_progress=False, n_threads=1)
        return [pages[i] for i in documents[0]]

    recall = reciprocal = 0.0
    for question in questions:
        ranked = search(question["question"], 10)
        relevant = set(question["relevant"])
        recall += len(set(ranked[:5]) & relevant) / max(len(relevant), 1)
        for rank, page in enumerate(ranked):
            if page in relevant:
                reciprocal += 1 / (rank + 1)
                break
    for question in questions:  # warm-up
        search(question["question"], 5)
    latencies = []
    for _ in range(args.repetitions):
        for question in questions:
            started = time.perf_counter()
            search(question["question"], 5)
            latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    count = len(questions)
    result = {
        "tool": "bm25s", "version": bm25s.__version__, "passages": len(items),
        "buildSeconds": build_seconds, "recallAt5": recall / count, "mrrAt10": reciprocal / count,
        "p50ms": statistics.median(latencies), "p99ms": latencies[int(0.99 * (len(latencies) - 1))],
        "meanMs": statistics.fmean(latencies),
    }
    print(f"passages: {result['passages']}   index build seconds: {build_seconds:.2f}")
    print("mode      Recall@5  MRR@10   p50 ms   p99 ms   mean ms")
    print(f"bm25s     {result['recallAt5']:.3f}     {result['mrrAt10']:.3f}    {result['p50ms']:.3f}    "
          f"{result['p99ms']:.3f}    {result['meanMs']:.3f}")
    print("json: " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
