"""``RowCategorical``: a batch of categoricals whose probability vectors are rows of one table.

The token sites of the topic-model stories draw ``z_n ~ Categorical(θ_{d(n)})`` and
``w_n ~ Categorical(φ_{z_n})`` for every token n; indexing the rows instead of gathering them
keeps the memory of a story O(number of tokens) rather than O(tokens × categories).
"""

from __future__ import annotations

import torch
from pyro.distributions import constraints
from pyro.distributions.torch_distribution import TorchDistribution
from pyro.ops.indexing import Vindex

__all__ = ["RowCategorical"]


class RowCategorical(TorchDistribution):
    """``Categorical(table[index])``, without forming the gathered ``index.shape × C`` table.

    ``table`` is an (R, C) matrix whose rows are probability vectors; the distribution of
    element ``i`` of the batch is the row ``index[i]``.  ``log_prob(x) = log table[index, x]``
    and sampling draws, row by row, by inverse CDF on that row only, so memory is O(size of
    ``index`` + R·C).  Supports enumeration (``enumerate_support``) like ``Categorical``.
    Log densities of zero-probability entries are ``-inf`` (torch's ``Categorical`` clamps
    them to ``log(eps)``); Dirichlet draws are clamped to the smallest normal float by torch, so
    the LDA story never meets them.  Sampling of a batched (3-d or more) table falls back to
    gathering the rows.
    """

    arg_constraints = {"table": constraints.simplex}
    has_enumerate_support = True

    def __init__(
        self, table: torch.Tensor, index: torch.Tensor, validate_args: bool | None = None
    ) -> None:
        if table.dim() < 2:
            raise ValueError(f"table must be (..., R, C), got shape {tuple(table.shape)}")
        self.table = table
        self.index = torch.as_tensor(index, dtype=torch.long)
        batch_shape = torch.broadcast_shapes(table.shape[:-2], self.index.shape)
        super().__init__(batch_shape, torch.Size(), validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.table.shape[-1] - 1)

    @property
    def num_categories(self) -> int:
        return self.table.shape[-1]

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(RowCategorical, _instance)
        batch_shape = torch.Size(batch_shape)
        new.table = self.table
        new.index = self.index.expand(batch_shape)
        super(RowCategorical, new).__init__(batch_shape, torch.Size(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value = value.long()
        return Vindex(self.table.log())[..., self.index, value]

    def sample(self, sample_shape: tuple[int, ...] = ()) -> torch.Tensor:
        shape = self._extended_shape(torch.Size(sample_shape))
        with torch.no_grad():
            if self.table.dim() > 2:  # batched tables: gather (memory-hungry, rare)
                probs = Vindex(self.table)[..., self.index, :]
                return torch.distributions.Categorical(probs=probs).sample(sample_shape)
            rows = self.index.expand(shape).reshape(-1)
            cdf = self.table.cumsum(-1)
            cdf = cdf / cdf[:, -1:]  # the last entry of every row is exactly 1
            u = 1.0 - torch.rand(rows.shape, dtype=cdf.dtype, device=cdf.device)  # (0, 1]
            out = torch.empty(rows.shape, dtype=torch.long, device=cdf.device)
            order = torch.argsort(rows, stable=True)
            counts = torch.bincount(rows, minlength=self.table.shape[0]).tolist()
            start = 0
            for r, c in enumerate(counts):
                if c:
                    pos = order[start : start + c]
                    # first entry with cdf >= u: never a zero-probability category
                    out[pos] = torch.searchsorted(cdf[r], u[pos])
                    start += c
            return out.clamp_(max=self.table.shape[-1] - 1).reshape(shape)

    def enumerate_support(self, expand: bool = True) -> torch.Tensor:
        num = self.table.shape[-1]
        values = torch.arange(num, device=self.table.device)
        values = values.view((-1,) + (1,) * len(self.batch_shape))
        if expand:
            values = values.expand((-1,) + self.batch_shape)
        return values
