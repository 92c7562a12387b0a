"""What the benchmark embedding servers share: an OpenAI-compatible /v1/embeddings endpoint
in front of one encoder thread that coalesces concurrent requests into batches.

A benchmark tool, not product code. A server subclasses `BatchingEncoder` (its `encode`
runs the model) and calls `serve`; see minilm_embeddings_server.py and
e5_small_embeddings_server.py. It serves

    POST /v1/embeddings   {"model": str, "input": str | [str]}
        -> {"object": "list", "data": [{"object": "embedding", "embedding": [...], "index": i}],
            "model": str, "usage": {"prompt_tokens": n, "total_tokens": n}}
    GET  /v1/models, GET /health
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

MAX_INPUTS_PER_REQUEST = 2048
MAX_BODY_BYTES = 64 * 1024 * 1024


class Job:
    """The texts of one request, their kind, and once the worker is done their vectors or an error."""

    def __init__(self, texts: list[str], is_query: bool):
        self.texts = texts
        self.is_query = is_query
        self.vectors: list[list[float]] | None = None
        self.tokens = 0
        self.error: str | None = None
        self.done = threading.Event()


class BatchingEncoder:
    """One thread encodes, taking every waiting request of the same kind (query or passage,
    for models that embed them differently) into one batch of up to `max_batch` texts."""

    def __init__(self, dimension: int, max_batch: int):
        self.dimension = dimension
        self.max_batch = max_batch
        self.jobs: queue.Queue[Job] = queue.Queue()
        self.held: Job | None = None  # a job of the other kind, taken while batching, runs next
        self.encoded_texts = 0
        self.encoded_queries = 0
        self.encode_seconds = 0.0
        threading.Thread(target=self._run, name="encoder", daemon=True).start()

    def encode(self, texts: list[str], is_query: bool):
        """Unit vectors (a numpy array, one row per text) and each text's token count."""
        raise NotImplementedError

    def embed(self, texts: list[str], is_query: bool = False) -> Job:
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
                vectors, lengths = self.encode(texts, kind)
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


class BadRequest(Exception):
    """A request the server refuses, with this message and HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def make_handler(encoder: BatchingEncoder, model_name: str, quiet: bool,
                 is_query: Callable[[dict, list[str]], bool] = lambda request, inputs: False,
                 health: dict | None = None):
    """The HTTP handler; `is_query` decides a request's kind (raise BadRequest to refuse it),
    `health` adds fields to GET /health."""

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
                self._send(200, {"status": "ok", "model": model_name, "dimension": encoder.dimension, **(health or {}),
                                 "encoded_texts": encoder.encoded_texts, "encoded_queries": encoder.encoded_queries,
                                 "encode_seconds": round(encoder.encode_seconds, 3)})
            elif self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": model_name, "object": "model", "owned_by": "local"}]})
            else:
                self._error(404, f"no such path: {self.path}")

        def _request(self) -> tuple[dict, list[str]]:
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                raise BadRequest("a bad Content-Length")
            if length <= 0 or length > MAX_BODY_BYTES:
                raise BadRequest(f"the body must be 1 to {MAX_BODY_BYTES} bytes", 413 if length > 0 else 400)
            try:
                request = json.loads(self.rfile.read(length))
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise BadRequest(f"the body is not JSON: {error}")
            if not isinstance(request, dict):
                raise BadRequest("the body must be a JSON object")
            inputs = request.get("input")
            if isinstance(inputs, str):
                inputs = [inputs]
            if not isinstance(inputs, list) or not inputs or not all(isinstance(text, str) for text in inputs):
                raise BadRequest("'input' must be a string or a non-empty list of strings")
            if len(inputs) > MAX_INPUTS_PER_REQUEST:
                raise BadRequest(f"at most {MAX_INPUTS_PER_REQUEST} inputs per request (got {len(inputs)})")
            if request.get("encoding_format", "float") != "float":
                raise BadRequest("only encoding_format 'float' is supported")
            return request, inputs

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            if self.path.rstrip("/") not in ("/v1/embeddings", "/embeddings"):
                self._error(404, f"no such path: {self.path}")
                return
            try:
                request, inputs = self._request()
                kind = is_query(request, inputs)
            except BadRequest as error:
                self._error(error.status, str(error))
                return
            job = encoder.embed(inputs, kind)
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


def serve(host: str, port: int, handler, note: str = "") -> None:
    """Serves until interrupted."""
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    print(f"serving POST http://{host}:{port}/v1/embeddings{note}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
