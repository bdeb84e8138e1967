"""Pyro generative stories of the topic models, with hyperparameter dataclasses and simulate().

Each module ``ppltopics.models.<m>`` exposes ``model(...)`` (a plain Pyro model that simulates
when its data is None), a ``<M>Hyper`` dataclass and ``simulate(...)``.  The document-length
helpers every story shares are :func:`doc_lengths_tensor` and :func:`simulate_doc_lengths`.
"""

from ppltopics.models._story import doc_lengths_tensor, simulate_doc_lengths

__all__ = ["doc_lengths_tensor", "simulate_doc_lengths"]
