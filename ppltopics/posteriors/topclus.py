"""The fitted TopClus model (Meng et al., WWW 2022): topics, document posteriors, latent
embeddings, transform of new documents, and pickle-free persistence of its networks.

Registered as ``"topclus"`` (:func:`ppltopics.posteriors.register`); ``pt.load`` rebuilds it,
networks included (``network.safetensors`` beside the bundle's ``arrays.npz`` and JSON).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ppltopics._validation import check_bool, check_choice, check_int
from ppltopics.corpus import Corpus
from ppltopics.posteriors.base import Posterior, check_corpus, register

__all__ = ["TopClusPosterior"]

_log = logging.getLogger("ppltopics")
_NET_FILE = "network.safetensors"


@register("topclus")
class TopClusPosterior(Posterior):
    """TopClus fit: point estimates of the selected seed (lowest final loss) plus per-epoch
    loss traces and cross-seed stability of every seed.

    Estimates: ``topic_latent`` t_k (K, r′), ``topic_decoded`` g(t_k) (K, D), ``word_latent``
    (V, r′) mean token latent z̄_w and ``word_count`` (V,), ``topic_word`` (K, V) = z̄_w·t_k
    (mean token cosine), ``topic_word_mass`` (K, V) soft token counts, ``theta``
    (D, K) = p(t_k | z^(d)), ``doc_latent`` z^(d) (D, r′), ``doc_plm`` h^(d)/‖h^(d)‖
    (D, D_emb), ``topic_stability`` (K,) (matched cosine of decoded topics to the other
    seeds), ``pretrain_loss`` (chains, pretrain epochs).  ``sample_stats`` (chain, draw = EM
    epoch): ``loss``, ``L_clus``, ``L_rec``, ``L_pre``, ``changed``, ``seconds``,
    ``stability``.
    """

    relabel_by = ("topic_latent", "cosine")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._net: Any = None

    # ------------------------------------------------------------------ networks
    def _config(self) -> Any:
        from ppltopics.inference.topclus import TopClusConfig

        s = self.settings
        return TopClusConfig(
            num_topics=int(s["num_topics"]), embed_dim=int(s["embed_dim"]),
            latent_dim=int(s["latent_dim"]), enc_hidden=tuple(s["enc_hidden"]),
            dec_hidden=tuple(s["dec_hidden"]), kappa=float(s["kappa"]), lam=float(s["lam"]),
            epochs=int(s["epochs"]), pretrain_epochs=int(s["pretrain_epochs"]),
            batch_size=int(s["batch_size"]), lr=float(s["lr"]))

    def set_network(self, net: Any) -> None:
        """Attach the trained :class:`~ppltopics.inference.topclus.TopClusNet` (CPU)."""
        self._net = net.cpu().eval()

    @property
    def network(self) -> Any:
        """The selected seed's networks (attention, f, g, t); needed by :meth:`transform`."""
        if self._net is None:
            raise ValueError("this TopClus posterior has no network weights (loaded from a "
                             "bundle without network.safetensors?)")
        return self._net

    def _extra_files(self) -> dict[str, bytes] | None:
        from ppltopics.inference.topclus import state_dict_bytes

        return None if self._net is None else {_NET_FILE: state_dict_bytes(self._net)}

    def _load_extra_files(self, path: Path, meta: dict[str, Any]) -> None:
        from ppltopics.inference.topclus import TopClusNet, load_state_dict_bytes
        from ppltopics.persistence import reading

        if _NET_FILE not in meta.get("_files", []):
            return
        with reading(path, _NET_FILE):  # weights that do not fit the network: BundleError
            net = TopClusNet(self._config())
            load_state_dict_bytes(net, (path / _NET_FILE).read_bytes())
        self.set_network(net)

    # ------------------------------------------------------------------ topics and docs
    def top_words(self, n: int = 10, min_count: int | None = None,
                  min_length: int | None = None, by: str = "cosine") -> list[list[str]]:
        """The ``n`` best words per topic among words with at least ``min_count`` tokens and
        ``min_length`` characters (defaults: the fit's ``min_word_count`` and
        ``min_word_length``), ranked ``by``:

        * ``"cosine"`` (the authors'): the mean of cos(z_i, t_k) over the word's tokens
          (= mean latent vector · t_k);
        * ``"mass"``: the topic's share of soft token counts n_kw / n_k with
          n_kw = Σ_{i: w_i = w} p(t_k | z_i) (LDA's φ_kw read off the clusters; frequent
          words first).

        ``n`` must be a positive integer, ``min_count`` and ``min_length`` integers >= 0 and
        ``by`` one of the names above (``ValueError`` otherwise); a topic lists fewer than
        ``n`` words when fewer words pass the filters."""
        n = check_int("n", n, 1)
        check_choice("by", by, ("cosine", "mass"))
        if min_count is None:
            min_count = int(self.settings.get("min_word_count", 1))
        if min_length is None:
            min_length = int(self.settings.get("min_word_length", 1))
        min_count = check_int("min_count", min_count, 0)
        min_length = check_int("min_length", min_length, 0)
        if by == "mass":
            if "topic_word_mass" not in self.estimates:
                raise ValueError("by='mass' needs topic_word_mass, which fits before this "
                                 "release did not store")
            mass = np.asarray(self.estimates["topic_word_mass"], dtype=np.float64)
            score = mass / np.maximum(mass.sum(1, keepdims=True), 1e-300)
        else:
            score = np.array(self.estimates["topic_word"], dtype=np.float64, copy=True)
        short = np.fromiter((len(w) < min_length for w in self.corpus.vocab), bool,
                            len(self.corpus.vocab))
        score[:, (self.estimates["word_count"] < min_count) | short] = -np.inf
        order = np.argsort(-score, axis=1, kind="stable")[:, :n]
        return [[self.corpus.vocab[i] for i in row if np.isfinite(score[k, i])]
                for k, row in enumerate(order)]

    def doc_topics(self) -> np.ndarray:
        """p(t_k | z^(d)) of the training documents (Eq. 2 with the document's latent
        z^(d) = f(h^(d))), (D, K); empty documents get 1/K."""
        return self.estimates["theta"]

    def doc_embeddings(self, space: str = "latent") -> np.ndarray:
        """Document embeddings, one unit row per training document.

        ``"latent"`` (default): z^(d) = f(h^(d)) / ‖f(h^(d))‖ on S^{r′−1}, (D, r′), the
        representation the authors cluster (k-means) for NMI and the one
        :func:`ppltopics.evaluation.quality_report` uses for TopClus.  ``"plm"``: the
        attention-pooled document embedding in the language model's space, h^(d) / ‖h^(d)‖
        with h^(d) = Σ_i α_i h_i (D, D_emb), before the encoder f compresses it.
        Raises ``ValueError`` for another ``space``, or for ``"plm"`` on a fit saved before
        h^(d) was kept (refit it).
        """
        check_choice("space", space, ("latent", "plm"))
        if space == "latent":
            return self.estimates["doc_latent"]
        if "doc_plm" not in self.estimates:
            raise ValueError("this TopClus fit was saved without its language-model-space "
                             "document embeddings (doc_plm); refit it to get space='plm'")
        return self.estimates["doc_plm"]

    def topic_embeddings(self, space: str = "latent") -> np.ndarray:
        """Topic centres t_k (``"latent"``, (K, r′)) or decoded g(t_k) (``"plm"``, (K, D))."""
        check_choice("space", space, ("latent", "plm"))
        return self.estimates["topic_latent" if space == "latent" else "topic_decoded"]

    def transform(self, new_corpus: Corpus, embeddings: Any = None, batch_size: int = 256,
                  return_latent: bool = False, **plm_kwargs: Any) -> Any:
        """p(t_k | z^(d)) of unseen documents, (D_new, K) (and their z^(d) with
        ``return_latent=True``).

        The documents are embedded with the fit's PLM settings (model, layer, window;
        ``pt.plm.token_embeddings``) unless ``embeddings`` (one row per kept token of
        ``new_corpus``) are given, then attention-pooled, encoded by f and scored against
        t_k.  The vocabulary of ``new_corpus`` need not match the training vocabulary.
        Raises ``TypeError`` unless ``new_corpus`` is a :class:`~ppltopics.Corpus` and
        ``return_latent`` a bool, or if language-model keywords come with ``embeddings``;
        ``ValueError`` unless ``batch_size`` is an integer >= 1.
        """
        import torch

        from ppltopics.inference.topclus import check_embeddings, doc_posteriors

        check_corpus("new_corpus", new_corpus)
        if embeddings is not None and plm_kwargs:
            raise TypeError(f"{sorted(plm_kwargs)} set how the language model embeds the "
                            "documents; with embeddings given it is not run: drop them")
        batch_size = check_int("batch_size", batch_size, 1)
        return_latent = check_bool("return_latent", return_latent)
        net = self.network
        if embeddings is None:
            from ppltopics import plm

            s = self.settings
            kw: dict[str, Any] = {"model": s.get("plm_model"), "layer": s.get("plm_layer", -1),
                                  "progress": False}
            if s.get("plm_max_length"):
                kw["max_length"] = int(s["plm_max_length"])
                kw["stride"] = int(s["plm_stride"])
            kw.update(plm_kwargs)
            embeddings = plm.token_embeddings(new_corpus, **kw)
        emb = check_embeddings(embeddings, new_corpus)
        if emb.shape[1] != int(self.settings["embed_dim"]):
            raise ValueError(f"embeddings have dimension {emb.shape[1]}, the model was fitted "
                             f"on {self.settings['embed_dim']}")
        empty = int((np.diff(new_corpus.doc_offsets) == 0).sum())
        if empty:
            _log.warning("transform: %d documents have no token; they get p(t_k|d) = 1/K",
                         empty)
        theta, zd, _ = doc_posteriors(net, emb, new_corpus.doc_offsets, torch.device("cpu"),
                                      batch_size=batch_size)
        return (theta, zd) if return_latent else theta

    # ------------------------------------------------------------------ diagnostics
    def loss_traces(self) -> dict[str, np.ndarray]:
        """Per-epoch losses (chain, epoch): ``loss``, ``L_clus``, ``L_rec``, ``L_pre``."""
        ss = self.groups["sample_stats"]
        return {k: ss[k] for k in ("loss", "L_clus", "L_rec", "L_pre")}

    def stability(self) -> np.ndarray:
        """(chain, epoch) mean Hungarian-matched cosine of every seed's decoded topics to
        seed 0's (1 for seed 0 itself)."""
        return self.groups["sample_stats"]["stability"]

    def word_topic_table(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError("TopClus has no bag-of-words likelihood (no fold-in table)")

    @property
    def alpha(self) -> np.ndarray:
        raise AttributeError("TopClus has a uniform topic prior and no Dirichlet alpha")
