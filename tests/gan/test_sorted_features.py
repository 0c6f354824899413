"""The CPU sort behind the "sorted" feature set (gancheck.gan.features._sort_cpu), bit for bit.

Oracle: torch.sort(x, dim=-1), values and indices, wherever a row holds no NaN. Rows with a NaN
keep the earlier definition: np.argsort's order (NaNs last), rows with a tie re-sorted by torch.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gancheck.gan.features import _sort_cpu
from gancheck.gan.workspace import Workspace

INT = {torch.float32: torch.int32, torch.float64: torch.int64}


def _bits(t: torch.Tensor) -> torch.Tensor:
    # Compares -0.0 with +0.0 and NaN payloads too, which == cannot.
    return t.view(INT[t.dtype])


def _rows(shape, dtype, seed=0) -> torch.Tensor:
    """G-like N(4, 1.25) rows; from the second row on, rows with ties, signed zeros, infinities."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64).mul_(1.25).add_(4.0).to(dtype)
    rows = x.view(-1, shape[-1])
    edits = [
        lambda r: r.copy_((r * 4).round() / 4),  # full of ties
        lambda r: r[:3].copy_(torch.tensor([0.0, -0.0, 1.0])),  # -0.0 == +0.0: a tie
        lambda r: r[7].fill_(-0.0),  # a lone -0.0: no tie
        lambda r: r[:2].copy_(torch.tensor([float("inf"), float("-inf")])),
        lambda r: r[:2].fill_(float("inf")),  # a tie of infinities
        lambda r: r.neg_(),  # negative values, whose bits order backwards
        lambda r: r.neg_()[:100].neg_(),  # both signs
    ]
    for row, edit in zip(rows[1:], edits):
        edit(row)
    return x


def _earlier(x: torch.Tensor):
    """The definition rows with a NaN keep: np.argsort, then rows with a tie by torch.sort."""
    order = torch.from_numpy(np.argsort(x.numpy(), axis=-1))
    values = torch.gather(x, -1, order)
    ties = (values[..., 1:] == values[..., :-1]).any(dim=-1)
    values[ties], order[ties] = torch.sort(x[ties], dim=-1)
    return values, order


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
# Rows of 500 as G makes them; 100 and 700 for the fewer and more chunks of 256 the sort splits them into.
@pytest.mark.parametrize("shape", [(500,), (1, 500), (4, 6, 500), (20, 10, 500), (9, 100), (3, 3, 700)])
def test_sort_is_torch_sort_bit_for_bit(dtype, shape):
    x = _rows(shape, dtype)
    expected = torch.sort(x, dim=-1)
    ws = Workspace()
    for workspace in (None, ws, ws):  # a reused workspace gives the same again
        values, order = _sort_cpu(x, True, workspace)
        assert values.dtype == dtype and order.dtype == torch.int64 and values.is_contiguous()
        assert torch.equal(_bits(values), _bits(expected.values)) and torch.equal(order, expected.indices)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rows_with_nan_keep_numpys_order(dtype):
    x = _rows((4, 6, 500), dtype)
    # Quiet NaNs of both signs, a signalling one, and one with every bit set.
    nan_bits = torch.tensor([0x7FC00000, -0x00400000, 0x7F800001, -1], dtype=torch.int32)
    nans = nan_bits.view(torch.float32).to(dtype)
    x[0, 0, 10] = nans[1]  # one NaN with its sign bit set
    x[0, 1, 5] = nans[0]  # a NaN in the row of ties
    x[1, 1, 0] = nans[1]  # in the row of both signs
    x[1, 2, [3, 9, 40, 41]] = nans  # NaNs of both signs
    x[1, 3] = nans[3]  # all NaN
    x[1, 4, 0] = nans[0]  # a positive NaN: at the end either way
    values, order = _sort_cpu(x, True, Workspace())
    expected_values, expected_order = _earlier(x)
    assert torch.equal(_bits(values), _bits(expected_values)) and torch.equal(order, expected_order)
    # The rows without a NaN are still torch.sort's.
    clean = ~torch.isnan(x).any(dim=-1)
    expected = torch.sort(x[clean], dim=-1)
    assert torch.equal(_bits(values[clean]), _bits(expected.values)) and torch.equal(order[clean], expected.indices)
