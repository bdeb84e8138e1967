"""Contextual token embeddings: extraction throughput vs the raw PLM forward pass.

On State of the Union paragraphs (raw text kept), all-MiniLM-L6-v2, CPU (or ``--device``):

1. **Raw forward, before.**  The exact windows :func:`ppltopics.plm.token_embeddings` feeds
   the model (same tokenizer call, same windows, same length-sorted batches) are run through
   ``model(...)`` alone, inside ``torch.inference_mode``: word pieces (positions) per second.
2. **Extraction.**  ``token_embeddings(corpus, cache_dir=<fresh temp dir>)``: tokenising,
   alignment of kept tokens to pieces, windowing, forward passes, piece pooling, float16
   memmap write.  Kept corpus tokens per second, and the share of its time spent in forward
   passes (``stats["forward_s"]``).
3. **Raw forward, after** (same as 1), so background load on a shared machine shows up as a
   difference between 1 and 3 rather than as a false overhead.
4. **Cache hit**: the second call's wall time.

Writes ``benchmarks/results/plm_sotu.json``; one command on a quiet machine re-runs it:

    .venv/bin/python benchmarks/bench_plm.py [--docs 400] [--threads 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import machine_facts

REPO = Path(__file__).resolve().parents[1]


def raw_forward(corpus, tokenizer, net, span: int, step: int, batch_size: int,
                device: str) -> dict[str, float]:
    """Time ``net(...)`` alone over the windows and batches the extraction uses."""
    import torch

    from ppltopics import plm

    texts = [str(t) for t in corpus.metadata["text"]]
    enc = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    seqs = [np.asarray(ids)[s : s + span] for ids in enc for s in plm._windows(len(ids), span,
                                                                                step)]
    pre, post = plm._special_layout(tokenizer)
    pad = tokenizer.pad_token_id or 0
    order = np.argsort([s.size for s in seqs], kind="stable")
    batches = []
    for b0 in range(0, len(order), batch_size):
        idx = order[b0 : b0 + batch_size]
        width = len(pre) + len(post) + max(seqs[i].size for i in idx)
        ids = np.full((idx.size, width), pad, dtype=np.int64)
        mask = np.zeros_like(ids)
        for r, i in enumerate(idx):
            row = [*pre, *seqs[i].tolist(), *post]
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        batches.append((torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)))
    positions = int(sum(int(m.sum()) for _, m in batches))
    net.to(device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for ids, mask in batches:
            net(input_ids=ids, attention_mask=mask).last_hidden_state.float().cpu()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    sec = time.perf_counter() - t0
    return {"seconds": sec, "positions": positions, "windows": len(seqs),
            "positions_per_s": positions / sec, "kept_tokens_per_s": corpus.num_tokens / sec}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--docs", type=int, default=400, help="SOTU paragraphs (every k-th)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" /
                    "plm_sotu.json")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    import ppltopics as pt
    from ppltopics import plm

    full = pt.datasets.load_sotu(keep_text=True)
    step_docs = max(1, full.num_docs // args.docs)
    corpus = full.subset(np.arange(0, full.num_docs, step_docs)[: args.docs])
    tokenizer, net = plm.load_model()
    default_len, _ = plm._model_limits(plm.default_model_path(), tokenizer, net)
    span = default_len - 2
    step = span - span // 2
    with torch.inference_mode():  # warm-up (thread pools, kernels)
        net.to(args.device)(input_ids=torch.ones((2, 64), dtype=torch.long,
                                                 device=args.device))

    before = raw_forward(corpus, tokenizer, net, span, step, args.batch_size, args.device)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        emb = plm.token_embeddings(corpus, cache_dir=tmp, batch_size=args.batch_size,
                                   device=args.device, progress=False)
        extract_s = time.perf_counter() - t0
        stats = dict(emb.stats)
        t0 = time.perf_counter()
        plm.token_embeddings(corpus, cache_dir=tmp, batch_size=args.batch_size,
                             device=args.device, progress=False)
        hit_s = time.perf_counter() - t0
    after = raw_forward(corpus, tokenizer, net, span, step, args.batch_size, args.device)

    result: dict[str, Any] = {
        "corpus": {"name": "sotu paragraphs (every k-th)", "docs": corpus.num_docs,
                   "kept_tokens": corpus.num_tokens},
        "model": "all-MiniLM-L6-v2", "max_length": emb.max_length, "stride": emb.stride,
        "batch_size": args.batch_size, "device": args.device, "threads": args.threads,
        "raw_forward_before": before,
        "extraction": {
            "seconds": extract_s, "kept_tokens_per_s": corpus.num_tokens / extract_s,
            "positions": stats["forward_positions"], "windows": stats["windows"],
            "positions_per_s": stats["forward_positions"] / extract_s,
            "forward_seconds": stats["forward_s"],
            "forward_share": stats["forward_s"] / extract_s,
        },
        "raw_forward_after": after,
        "cache_hit_seconds": hit_s,
        "machine": machine_facts("torch", "transformers", "tokenizers"),
    }
    ref = (before["kept_tokens_per_s"] + after["kept_tokens_per_s"]) / 2
    result["extraction_vs_raw_forward"] = result["extraction"]["kept_tokens_per_s"] / ref
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"corpus: {corpus.num_docs} docs, {corpus.num_tokens} kept tokens, "
          f"{stats['forward_positions']} positions in {stats['windows']} windows")
    for name, r in (("raw forward (before)", before), ("raw forward (after)", after)):
        print(f"{name:22s} {r['seconds']:7.2f} s  {r['positions_per_s']:9.0f} pieces/s  "
              f"{r['kept_tokens_per_s']:9.0f} kept tokens/s")
    e = result["extraction"]
    print(f"{'extraction':22s} {e['seconds']:7.2f} s  {e['positions_per_s']:9.0f} pieces/s  "
          f"{e['kept_tokens_per_s']:9.0f} kept tokens/s  (forward share {e['forward_share']:.0%})")
    print(f"extraction / raw forward = {result['extraction_vs_raw_forward']:.2f}; "
          f"cache hit {hit_s * 1e3:.1f} ms; wrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
