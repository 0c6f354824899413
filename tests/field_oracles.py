"""A GANConfig field's rows in the config tests, kept with the field's own tests.

tests/test_config.py checks every field against rules written out by hand, independently of
gancheck/fields.py. Its tables hold the fields that existed when it was written; any other field
gives its rows as ``ORACLE = FieldOracle(...)`` in its own test module, named ``test_<field>.py``
anywhere under tests/, and test_config.py collects it from there (and fails, naming the field and
the module it looked for, when there is none). So a new field's hand-written oracle lives beside
its behaviour tests, and the central tables are not edited.
"""
from __future__ import annotations

import importlib
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

TESTS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class FieldOracle:
    """One field's oracle rows (see the module's docstring).

    ``kind``: int, float, str or bool (a float field stores an int as a float). ``seed_value``:
    the seed's value (cite where it comes from beside it). ``valid(value)``: the field's rule,
    written out by hand (type included), never read from gancheck.fields. ``bad``: values it must
    refuse, each alone. ``edges``: values at and across its rule's boundary, valid or not.
    ``typical``: a hypothesis strategy of valid values. ``alternative``: one valid value other
    than the seed's. Only rules on the field alone: a rule relating two fields belongs in
    test_config.expected_invalid_fields."""
    name: str
    kind: type
    seed_value: object
    valid: Callable[[object], bool]
    bad: tuple
    edges: tuple
    typical: object
    alternative: object


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_finite_number(v) -> bool:
    """A real number (int or float, not bool) that a float can hold, and finite."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    if isinstance(v, int):  # representable as a float (10**400 is not)
        return abs(v) <= sys.float_info.max
    return math.isfinite(v)


def module_path(name: str) -> str:
    return f"tests/**/test_{name}.py"


def contributed(names) -> tuple[dict[str, FieldOracle], list[str]]:
    """The ORACLE of each field of ``names`` from its test module, and the names that have none."""
    found, missing = {}, []
    for name in names:
        paths = sorted(TESTS.rglob(f"test_{name}.py"))
        module = (importlib.import_module(".".join(paths[0].relative_to(TESTS.parent).with_suffix("").parts))
                  if len(paths) == 1 else None)
        oracle = getattr(module, "ORACLE", None)
        if isinstance(oracle, FieldOracle) and oracle.name == name:
            found[name] = oracle
        else:
            missing.append(name)
    return found, missing
