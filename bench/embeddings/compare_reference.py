#!/usr/bin/env python3
"""Checks ares's local embedder against the reference on a corpus's passages, and times the
reference, side by side with the numbers `ares-bench embeddings` printed.

Inputs are what `ares-bench embeddings --passages-out --ids-out --vectors-out` wrote:
- tokenizer: Hugging Face `tokenizers` loading the model's tokenizer.json (no padding,
  truncation at max_seq_length) must give the same ids for every passage;
- vectors: sentence-transformers on torch (CPU, fp32) encodes the first N passages; each of
  ours must have cosine >= 0.999 to its reference vector;
- throughput: sentence-transformers' passages/s on those N passages with torch on THREADS threads.

A benchmark tool, not product code (bench/embeddings/run.sh runs it):
    python compare_reference.py MODEL_DIR passages.json ids.json vectors.json [THREADS] [MIN_COSINE] [QUESTIONS]

MIN_COSINE (default 0.999) is the bar each vector must reach: 0.99 for int8 vectors
(`ares-bench embeddings --embedding-quantization int8`). QUESTIONS (a question set such as
bench/pgdocs/questions.json) times one query as `ares-bench embeddings` does: every question
alone, 5 times; without it, 200 passage titles once each.
"""
import json
import sys
import time
from importlib.metadata import version

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from tokenizers import Tokenizer


def main() -> None:
    model_dir, passages_path, ids_path, vectors_path = sys.argv[1:5]
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    bar = float(sys.argv[6]) if len(sys.argv) > 6 else 0.999
    passages = json.load(open(passages_path, encoding="utf-8"))
    ours_ids = json.load(open(ids_path))
    ours_vectors = np.array(json.load(open(vectors_path)), dtype=np.float32)

    model = SentenceTransformer(model_dir, device="cpu")
    tokenizer = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    tokenizer.no_padding()
    tokenizer.enable_truncation(model.max_seq_length)
    started = time.perf_counter()
    reference_ids = [encoding.ids for encoding in tokenizer.encode_batch(passages)]
    tokenize_seconds = time.perf_counter() - started
    differing = [index for index, (a, b) in enumerate(zip(ours_ids, reference_ids)) if a != b]
    print(f"tokenizer: {len(passages) - len(differing)} of {len(passages)} passages have identical ids "
          f"(tokenizers {version('tokenizers')}, {len(passages) / tokenize_seconds:.0f} passages/s batch-parallel)")
    for index in differing[:5]:
        print(f"  differs: passage {index}: {passages[index][:80]!r}")

    torch.set_num_threads(threads)
    count = len(ours_vectors)
    sample = passages[:count]
    model.encode(sample[:32], batch_size=32)  # warm-up
    started = time.perf_counter()
    reference = model.encode(sample, batch_size=32, convert_to_numpy=True, normalize_embeddings=True)
    encode_seconds = time.perf_counter() - started
    cosines = np.sum(reference * ours_vectors, axis=1) / (
        np.linalg.norm(reference, axis=1) * np.linalg.norm(ours_vectors, axis=1))
    print(f"vectors: {count} passages, cosine to sentence-transformers {version('sentence-transformers')} "
          f"(torch {torch.__version__}, fp32): min {cosines.min():.7f}, mean {cosines.mean():.7f}, "
          f"{int(np.sum(cosines >= bar))} of {count} >= {bar}")
    print(f"sentence-transformers: {count} passages in {encode_seconds:.2f} s = {count / encode_seconds:.1f} passages/s "
          f"(torch threads {threads}, batch 32)")
    if len(sys.argv) > 7:
        questions = [item["question"] for item in json.load(open(sys.argv[7], encoding="utf-8"))["questions"]]
        queries, label = questions * 5, f"one query ({len(questions)} questions x 5)"
    else:
        queries, label = [passage.split("\n")[0] for passage in passages[:200]], "one short text (200 titles)"
    model.encode([queries[0]])  # warm-up
    latencies = []
    for query in queries:
        started = time.perf_counter()
        model.encode([query])
        latencies.append((time.perf_counter() - started) * 1000)
    print(f"sentence-transformers {label}: p50 {np.percentile(latencies, 50):.2f} ms, p95 {np.percentile(latencies, 95):.2f} ms")
    if differing or cosines.min() < bar:
        sys.exit(1)


if __name__ == "__main__":
    main()
