"""Pyro generative stories of the topic models, with hyperparameter dataclasses and simulate().

Each module ``ppltopics.models.<m>`` exposes ``model(...)`` (a plain Pyro model that simulates
when its data is None), a ``<M>Hyper`` dataclass and ``simulate(...)``.
"""
