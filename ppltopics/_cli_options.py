"""``ppltopics fit MODEL`` options generated from each model's ``fit_model`` signature.

Every keyword of ``fit_model`` (after the corpus, vectors, topic count and run spec, which
the command sets itself) becomes ``--name-with-dashes``; for CGTM, whose ``fit_model`` takes
``**hyper``, the fields of :class:`ppltopics.models.cgtm.CGTMHyper` and the kernel options
it pops.  Values are parsed by the annotation: ints, floats and strings as such, booleans as
``--flag/--no-flag``, anything else (``alpha``, ``split_merge``, ``init``, ``psi0``, ...) as a
Python literal (``0.1``, ``[0.1, 0.2]``, ``true``, ``{"moves": 2}``), else as a string.
Only options given on the command line reach ``fit_model``: its own defaults apply otherwise.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
import inspect
from typing import Any

__all__ = ["fit_parameters", "add_fit_options", "fit_kwargs", "models_with_option",
           "literal"]

#: set by ``ppltopics fit`` itself (--topics, --vectors) or not expressible on a command line
_SKIP = {"corpus", "vectors", "num_topics", "spec", "embeddings"}
#: fit_model(**hyper) models: (module, hyper dataclass, kernel options popped from **hyper)
_VAR_KEYWORDS = {"cgtm": ("ppltopics.models.cgtm", "CGTMHyper",
                          {"pg_exact_max": 64, "split_merge": False, "init": "random",
                           "beta": None, "vector_weight": 1.0, "anneal": 0})}
_PREFIX = "hp_"

#: one help line per parameter name (the model's docstring has the details)
_HELP = {
    "alpha": "document-topic Dirichlet concentration α: a float or a list of K floats",
    "beta": "topic-word Dirichlet concentration β (Gaussian models: turns the word view on)",
    "vector_weight": "weight λ of the word vectors' log density (the word view; 1: plain)",
    "anneal": "warm-up sweeps whose vector density is tempered, its power rising from 0.1 "
              "to 1 (0: none; the draws kept are exact either way)",
    "optimize_alpha": "re-estimate an asymmetric α during warm-up (Minka's fixed point)",
    "optimize_interval": "sweeps between α updates",
    "split_merge": "split–merge moves: true, or {'moves': m, 'every': e, ...} (flat models: "
                   "'scans', ...; hlda/ghlda tree moves: 'refresh_share', 'level_scans', "
                   "'doc_moves')",
    "init": "starting state: 'random', 'kmeans' (word vectors) or 'lda'; hlda/ghlda: "
            "'cluster' (a hierarchy of the documents) or 'random'; TopClus: topic "
            "centres from K-means over word types ('words') or tokens ('tokens')",
    "method": "Gibbs sweep: 'exact' (collapsed, exact conditionals) or 'fast' (alias/MH)",
    "mh_steps": "Metropolis–Hastings steps per token of the fast sweep",
    "refresh_every": "sweeps between refreshes of the fast sweep's alias tables",
    "kappa0": "NIW prior: pseudo-count κ0 of the topic means",
    "nu0": "NIW prior: degrees of freedom ν0 (default M + 2)",
    "mu0": "NIW prior: mean μ0 (default: the mean token vector)",
    "psi0": "NIW prior: scale Ψ0 (a float s for s·I, or a matrix)",
    "psi_ratio": "per-level factors of Ψ0 (GhLDA), one per level",
    "eta_mu0": "prior mean of the topic-correlation mean μ_η",
    "eta_kappa0": "NIW pseudo-count of μ_η",
    "eta_nu0": "NIW degrees of freedom of Σ_η",
    "eta_psi0": "NIW scale of Σ_η (a float s for s·I_K, or a matrix)",
    "pg_exact_max": "largest count drawn by the exact Pólya-gamma sampler",
    "depth": "tree depth (levels)",
    "gamma": "nCRP concentration γ (new-branch propensity)",
    "eta": "topic-word Dirichlet concentration η of the tree's nodes",
    "gem_mean": "GEM mean m of the level proportions",
    "gem_scale": "GEM scale π of the level proportions",
    "initial_tree": "branching of a starting tree, one entry per level (e.g. [1, 1, 4, 4])",
    "warmup_fixed_sweeps": "warm-up sweeps with the tree held fixed",
    "init_levels": "starting levels of the tokens: 'random' or 'frequency'",
    "preset": "named set of hyperparameters (e.g. the paper's)",
    "model": "language model (Hugging Face name) embedding the documents",
    "layer": "hidden layer of the language model",
    "epochs": "training epochs",
    "pretrain_epochs": "autoencoder pre-training epochs",
    "steps": "EM optimiser steps (overrides --epochs)",
    "pretrain_steps": "pre-training optimiser steps (overrides --pretrain-epochs)",
    "tol": "stop a phase when its epoch loss falls by less than this fraction twice",
    "target": "sharpened target from each 'batch' or once per 'epoch'",
    "precision": "'fp32' or 'bf16' (autocast, faster on CPUs with AVX-512 BF16)",
    "min_word_length": "shorter words are left out of the topic words",
    "kappa": "von Mises–Fisher concentration of the topic clusters",
    "lam": "weight λ of the clustering loss",
    "latent_dim": "latent dimension of the autoencoder",
    "batch_size": "mini-batch size",
    "lr": "learning rate",
    "device": "torch device ('cpu' or 'cuda')",
    "threads": "torch threads",
    "min_word_count": "words seen fewer times are left out",
    "enc_hidden": "encoder layer sizes (a list)",
    "dec_hidden": "decoder layer sizes (a list)",
    "embed_batch_size": "documents per language-model batch",
    "cache_dir": "folder caching the document embeddings",
    "profile_size": "documents profiled for the topic vocabulary",
}


def fit_parameters(model: str) -> list[inspect.Parameter]:
    """The keyword parameters of ``model``'s ``fit_model`` that ``ppltopics fit`` exposes."""
    from ppltopics.api import _fitter

    sig = inspect.signature(_fitter(model))
    out = []
    for p in sig.parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD and model in _VAR_KEYWORDS:
            mod, cls, extra = _VAR_KEYWORDS[model]
            hyper = getattr(importlib.import_module(mod), cls)
            for f in dataclasses.fields(hyper):
                if f.name not in _SKIP:
                    default = f.default if f.default is not dataclasses.MISSING else None
                    out.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY,
                                                 default=default, annotation=f.type))
            out += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v,
                                      annotation="int" if type(v) is int else "Any")
                    for k, v in extra.items()]
        elif p.name not in _SKIP and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                inspect.Parameter.KEYWORD_ONLY):
            out.append(p)
    return out


def literal(text: str) -> Any:
    """A Python literal (``true``/``false``/``none`` in any case too), else the string."""
    low = text.strip().lower()
    if low in ("true", "false", "none", "null"):
        return {"true": True, "false": False}.get(low)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _annotation(p: inspect.Parameter) -> str:
    a = p.annotation
    return a if isinstance(a, str) else getattr(a, "__name__", str(a))


def add_fit_options(parser: argparse.ArgumentParser, model: str) -> list[str]:
    """Add ``model``'s fit options to ``parser`` (one group); returns their names."""
    group = parser.add_argument_group(f"{model} options (from its fit_model; defaults there)")
    names = []
    for p in fit_parameters(model):
        ann = _annotation(p).replace(" ", "")
        flag = "--" + p.name.replace("_", "-")
        default = "" if p.default is inspect.Parameter.empty else f" (default {p.default!r})"
        text = _HELP.get(p.name, f"{p.name} of {model}'s fit_model") + default
        kw: dict[str, Any] = {"dest": _PREFIX + p.name, "default": argparse.SUPPRESS,
                              "help": text}
        if ann == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = {"int": int, "int|None": int, "float": float, "float|None": float,
                          "str": str, "str|None": str}.get(ann, literal)
            kw["metavar"] = p.name.upper()
        group.add_argument(flag, **kw)
        names.append(p.name)
    return names


def fit_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The fit options given on the command line, as ``fit_model`` keywords."""
    return {k[len(_PREFIX):]: v for k, v in vars(args).items() if k.startswith(_PREFIX)}


def models_with_option(flag: str) -> list[str]:
    """Models whose fit takes the option ``flag`` (``--name`` or ``--name=value``)."""
    from ppltopics.api import MODELS

    name = flag.split("=", 1)[0].lstrip("-").replace("-", "_")
    out = []
    for m in MODELS:
        try:
            if any(p.name == name for p in fit_parameters(m)):
                out.append(m)
        except ImportError:  # pragma: no cover - an optional model's module
            continue
    return out
