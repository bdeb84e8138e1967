"""Pyro generative stories of the topic models, with hyperparameter dataclasses and simulate().

Each module ``ppltopics.models.<m>`` exposes ``model(...)`` (a plain Pyro model that simulates
when its data is None), a ``<M>Hyper`` dataclass and ``simulate(...)``.  The document-length
helpers every story shares are :func:`doc_lengths_tensor`, :func:`simulate_doc_lengths`,
:func:`offsets_from_lengths` and :func:`synthetic_vocab`.
"""

from ppltopics.models._story import (
    doc_lengths_tensor,
    offsets_from_lengths,
    simulate_doc_lengths,
    synthetic_vocab,
)

__all__ = ["doc_lengths_tensor", "simulate_doc_lengths", "offsets_from_lengths", "synthetic_vocab"]
