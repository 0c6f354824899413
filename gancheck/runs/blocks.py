"""Which members train together, recorded with the run, so that a resumed run trains every
member in the block it was first planned in, and so to the same bits.

A member's float bits depend on its block: on which members share it and where it sits. torch's
batched kernels split their work by position (vectorised loops with a scalar tail, batched GEMMs
cut into panels), so of 20 members trained as one block and as blocks of 7 and 13, most differ in
their last bits, and then in their trajectories. The planner sizes blocks by the work left and
the number of workers, so a resumed run, or a rerun with other ``--workers``, would regroup what is
left and train it to other numbers than the uninterrupted run.

So the driver records every block it plans (the store's meta row ``blocks``: each block's
members in order, with their digests). A later invocation keeps each recorded block whose
members the design still asks for with the same digests, and trains it whole: its finished
members too, whose results are dropped, since only the whole block gives its unfinished members
their bits. Members in no kept block (new seeds or arms, a changed config) are planned afresh,
and their blocks are recorded in turn. A first invocation records the plan it always made, so
nothing about a run that is never interrupted changes.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from gancheck.runs.plan import control_arm
from gancheck.runs.store import StoreError

#: the store's meta row that holds the blocks
META_KEY = "blocks"

BlockMembers = tuple[tuple[str, int], ...]


def kept_blocks(recorded, want: dict[tuple[str, int], str], renames: dict[str, str] | None = None,
                *, where: str = "store") -> list[BlockMembers]:
    """The recorded blocks (the meta row's value, or None) that still hold: each member wanted by
    the design with the digest it was recorded with. ``renames`` ({old: new}, the driver's renamed
    arms) is applied first. A row that is not a list of blocks of [arm, seed, digest] is damage:
    StoreError naming ``where``."""
    if recorded is None:
        return []
    renames = renames or {}
    kept = []
    for block in _checked(recorded, where):
        members = tuple((renames.get(arm, arm), seed) for arm, seed, _ in block)
        digests = [digest for _, _, digest in block]
        controls = any(arm.startswith(control_arm("")) for arm, _ in members)  # never in a population
        if not controls and all(want.get(key) == digest for key, digest in zip(members, digests)):
            kept.append(members)
    return kept


def recorded(blocks: Iterable[Sequence[tuple[str, int]]], want: dict[tuple[str, int], str]) -> list[list]:
    """The meta row's value for ``blocks`` (each a sequence of (arm, seed)): each member with its
    digest, in order."""
    return [[[arm, int(seed), want[(arm, seed)]] for arm, seed in block] for block in blocks]


def _checked(value, where: str) -> list:
    def damaged(why: str) -> StoreError:
        return StoreError(f"{where}: damaged row {META_KEY!r} of table meta: {why}")
    if not isinstance(value, list):
        raise damaged("not a list of blocks")
    for block in value:
        if not isinstance(block, list) or not block:
            raise damaged("a block is not a non-empty list of members")
        for member in block:
            if (not isinstance(member, list) or len(member) != 3 or not isinstance(member[0], str)
                    or isinstance(member[1], bool) or not isinstance(member[1], int)
                    or not isinstance(member[2], str)):
                raise damaged(f"member {member!r} is not [arm, seed, digest]")
    return value
