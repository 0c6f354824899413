"""Implementations registered under the names a choice field declares (gancheck/fields.py).

A registry must implement exactly the declared names, in their order (the seed's first): a name
declared without an implementation, or an implementation under an undeclared name, fails when
its module is imported, not when some run first asks for it.
"""
from __future__ import annotations

from typing import Sequence, TypeVar

from gancheck.fields import Choice

T = TypeVar("T")


def register(declared: Sequence[Choice], implementations: dict[str, T]) -> dict[str, T]:
    names = tuple(c.name for c in declared)
    if tuple(implementations) != names:
        raise RuntimeError(f"registry implements {', '.join(implementations)}; gancheck/fields.py declares "
                           f"{', '.join(names)} (the same names, in the same order)")
    return dict(implementations)
