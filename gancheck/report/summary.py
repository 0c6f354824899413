"""The table printed at the end of a run: the verdict per arm, in plain text."""
from __future__ import annotations

import pandas as pd

from gancheck.report.data import ReportInput

_TESTS = ("ks", "ad", "shapiro")


def _rate(row) -> str:
    return f"{row['rate']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"


def summary_frame(data: ReportInput) -> pd.DataFrame:
    rates = data.pass_rates[data.pass_rates["test"].isin(_TESTS)]
    table = rates.assign(text=rates.apply(_rate, axis=1)).pivot(index="arm", columns="test", values="text")
    table = table[[t for t in _TESTS if t in table.columns]].add_prefix("pass ")
    collapse = data.collapse_rates.set_index("arm")
    table["collapsed"] = collapse.apply(_rate, axis=1)
    members = data.members
    table["diverged"] = members[members["status"].eq("diverged")].groupby("arm").size().reindex(table.index).fillna(0).astype(int)
    table["n"] = members.groupby("arm").size().reindex(table.index)
    return table


def print_summary(outcome, data: ReportInput) -> None:
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 40):
        print(summary_frame(data).to_string())
    print(f"\n{outcome.trained} computed now, {outcome.reused} reused from earlier runs; "
          f"{outcome.wall_s:.0f} s. Results in {outcome.run_dir}/ (index.html, scores.csv, summary.csv)")
