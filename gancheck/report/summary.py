"""The table printed at the end of a run: each arm's outcomes, in plain text."""
from __future__ import annotations

import pandas as pd

from gancheck.report.data import ReportInput
from gancheck.report.tables import fmt_rate
from gancheck.stats.outcomes import OUTCOMES


def _rate(row) -> str:
    return f"{int(row['count'])}/{int(row['n'])} [{fmt_rate(row['ci_low'])}, {fmt_rate(row['ci_high'])}]"


def summary_frame(data: ReportInput) -> pd.DataFrame:
    """Arms (controls last) x outcomes: count/n with the Wilson interval of the rate."""
    outcomes = data.outcomes
    table = (outcomes.assign(text=outcomes.apply(_rate, axis=1))
             .pivot(index="arm", columns="outcome", values="text"))
    table = table[[o for o in OUTCOMES if o in table.columns]]
    controls = set(data.arms.loc[data.arms["role"].eq("control"), "arm"])
    order = sorted(table.index, key=lambda arm: (arm in controls, str(arm)))
    return table.loc[order]


def print_summary(outcome, data: ReportInput) -> None:
    with pd.option_context("display.width", 220, "display.max_columns", 20, "display.max_colwidth", 40):
        print(summary_frame(data).to_string())
    print(f"\n{outcome.trained} computed now, {outcome.reused} reused from earlier runs; "
          f"{outcome.wall_s:.0f} s. Results in {outcome.run_dir}/ (index.html and the CSVs)")
    if outcome.differed:
        print(f"Note: {outcome.differed} of the {outcome.retrained} finished members trained again beside "
              "unfinished ones of their blocks came out with other numbers than stored, so this machine "
              "does not reproduce the earlier invocation bit for bit; the report's limitations say so.")
