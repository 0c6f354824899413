"""Checking a store's rows as they are read (gancheck.runs.store).

SQLite lets any column hold any type, and a blob any length, so a damaged or hand-edited store
could hand the report text where a p-value belongs, or bytes that do not fill an array's shape.
find_damage says what is wrong with the first such row, naming the table, the row and the
column; the store raises it as a one-line StoreError.
"""
from __future__ import annotations

import json
import sqlite3

#: The columns that name a row in a message, per table.
KEYS = {"arms": ("arm",), "members": ("arm", "seed"), "scores": ("arm", "seed", "test"),
        "verdicts": ("arm", "seed")}
#: SQLite's typeof() values each declared type accepts (an integer where a real belongs is fine).
ALLOWED = {"TEXT": ("text",), "INTEGER": ("integer",), "REAL": ("real", "integer"), "BLOB": ("blob",)}


def find_damage(db: sqlite3.Connection, table: str) -> str | None:
    """What is wrong with ``table`` (one line, without the file's name), or None if every value
    has the type its column declares and every array blob the size its shape says."""
    declared = {name: (kind.upper(), bool(notnull)) for _, name, kind, notnull, *_ in
                db.execute(f"PRAGMA table_info({table})")}  # noqa: S608 (fixed names)
    missing = [c for c in KEYS[table] if c not in declared]
    if missing:
        return f"table {table} lacks column(s) {', '.join(missing)}: not a gancheck store, or a damaged one"
    conditions = " OR ".join(
        f"typeof({name}) NOT IN ({', '.join(repr(t) for t in ALLOWED[kind] + (() if nn else ('null',)))})"
        for name, (kind, nn) in declared.items() if kind in ALLOWED)
    keys = ", ".join(KEYS[table])
    bad = db.execute(f"SELECT rowid, {keys}, * FROM {table} WHERE {conditions} LIMIT 1").fetchone()  # noqa: S608
    if bad is not None:
        row = dict(zip([d[0] for d in db.execute(f"SELECT * FROM {table} LIMIT 0").description],  # noqa: S608
                       bad[1 + len(KEYS[table]):]))
        column = next(name for name, (kind, nn) in declared.items() if kind in ALLOWED
                      and sql_type(row[name]) not in ALLOWED[kind] + (() if nn else ("null",)))
        return _damaged_row(table, bad[0], bad[1:1 + len(KEYS[table])], column,
                            f"holds {sql_type(row[column])} where {declared[column][0].lower()} belongs")
    return _member_array_damage(db) if table == "members" else None


def _member_array_damage(db: sqlite3.Connection) -> str | None:
    query = ("SELECT rowid, arm, seed, history, history_shape, sample, preview, preview_shape, "
             "coord_mean, coord_sd FROM members")
    for rowid, arm, seed, history, hshape, sample, preview, pshape, mean, sd in db.execute(query):
        def damaged(column, why):
            return _damaged_row("members", rowid, (arm, seed), column, why)
        for blob, shape_text, column, width in ((history, hshape, "history", 8), (preview, pshape, "preview", 4)):
            if blob is None:
                continue
            shape = parse_shape(shape_text)
            if shape is None:
                return damaged(f"{column}_shape", f"holds {shape_text!r}, not a 2-D shape")
            if len(blob) != width * shape[0] * shape[1]:
                return damaged(column, f"holds {len(blob):,} bytes, its shape {shape} needs "
                                       f"{width * shape[0] * shape[1]:,}")
        for blob, column, width in ((sample, "sample", 8), (mean, "coord_mean", 4), (sd, "coord_sd", 4)):
            if blob is not None and len(blob) % width:
                return damaged(column, f"holds {len(blob):,} bytes, not a whole number of {width}-byte values")
    return None


def _damaged_row(table: str, rowid, key, column: str, why: str) -> str:
    names = ", ".join(f"{k} {v!r}" for k, v in zip(KEYS[table], key))
    return f"damaged row {rowid} of table {table} ({names}): column {column} {why}"


def sql_type(value) -> str:
    """SQLite's typeof() of a value as Python's sqlite3 returns it."""
    if value is None:
        return "null"
    return {bytes: "blob", str: "text", int: "integer", float: "real"}.get(type(value), type(value).__name__)


def parse_shape(text) -> tuple[int, int] | None:
    """A stored 2-D shape ('[rows, columns]', JSON), or None if the text is not one."""
    try:
        shape = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    if (isinstance(shape, list) and len(shape) == 2
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        return shape[0], shape[1]
    return None
