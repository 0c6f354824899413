"""The repository stands on its own: no tracked file points at what a clone lacks.

Files outside the repository (a sibling folder of reference notes, its DESIGN, STATISTICS or
SUMMARY files) or numbered issues of a tracker mean nothing to a reader of a fresh clone; what
the project needs from them it says itself, in its code or under docs/. Published reports
(.csv, .html) are regenerated output, not sources, and are left out.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_SUFFIXES = (".csv", ".html", ".sqlite", ".png", ".svg", ".npy", ".npz")

#: What a clone lacks: the parent folder of planning notes, the notes' file names matched as
#: whole upper-case names (not e.g. "MY_DESIGN.md", nor docs/statistics.md), and tracker
#: numbers ("issue" or "issues", an optional "#", digits).
FORBIDDEN = re.compile(r"\.\./shared|(?<![\w/-])(?:DESIGN|STATISTICS|SUMMARY)\.md\b"
                       r"|\b[Ii]ssues? #?\d+")

#: This file itself describes the patterns it forbids.
SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return [p for p in out.stdout.decode().split("\0") if p and not p.endswith(SKIPPED_SUFFIXES) and p != SELF]


def offending_lines(text: str) -> list[str]:
    return [f"{n}: {line.strip()[:120]}" for n, line in enumerate(text.splitlines(), 1) if FORBIDDEN.search(line)]


def test_the_pattern_catches_what_a_clone_lacks():
    # Hand-written cases, so that the check below can fail.
    # Built from parts, so that this file does not itself hold what it forbids.
    notes, tracker = "../" + "shared", "ssue"
    for bad in (f"see {notes}/seed/", "(DESIGN" ".md, Decisions)", "STATISTICS" ".md", "SUMMARY" ".md:10",
                f"i{tracker} 13's remedies", f"I{tracker} 4", f"i{tracker}s 4 and 13", f"i{tracker} #26"):
        assert offending_lines(bad), bad
    for fine in ("docs/statistics.md", "[statistics.md](statistics.md)", "the design's arms",
                 "an issue with the store", "shared memory"):
        assert not offending_lines(fine), fine


def test_no_tracked_file_refers_to_what_a_clone_lacks():
    found = {}
    for name in tracked_files():
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        lines = offending_lines(text)
        if lines:
            found[name] = lines
    assert not found, "references to files or issues a clone lacks:\n" + "\n".join(
        f"{name}:{line}" for name, lines in sorted(found.items()) for line in lines)
