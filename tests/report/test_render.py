"""render(): escaping, structure, self-containment, size, atomic writes, determinism; the CLI."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from gancheck.cli import ArgumentParser, UsageError, run_cli
from gancheck.report import labels, provenance_view
from gancheck.report import render as render_module
from gancheck.report import tables
from gancheck.report.verdict import verdict
from gancheck.report.labels import FALLBACK, OUTCOME_LABELS, describe
from gancheck.report.plots import CSS_DPI, MAX_ARMS_PLOTTED, WIDTH, plotted_arms
from gancheck.report.plots_comparisons import level_value, ordered_factors
from gancheck.report.plots_diagnostics import factors_of
from gancheck.report.provenance_view import DATA_FILES
from gancheck.report.render import render
from gancheck.runs.controls import CONTROL_DESCRIPTIONS
from gancheck.runs.provenance import Invocation, Provenance
from gancheck.stats.outcomes import OUTCOMES, STUCK_SD_SHARE

from .conftest import SCRIPT_ARM, default_arms, factorial_arms, full_design_arms, make_report_input


class Page(HTMLParser):
    """The few facts the tests need from a page, parsed with the standard library."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.ids: set[str] = set()
        self.verdict_rows: list[str] = []  # each verdict row's first cell (the arm) as text
        self._table: str | None = None
        self._in_body = self._in_row_header = False
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "table":
            self._table = attrs.get("id")
        elif tag == "tbody" and self._table == "verdict":
            self._in_body = True
        elif tag == "th" and self._in_body and attrs.get("scope") == "row":
            self._in_row_header, self._text = True, []

    def handle_endtag(self, tag):
        if tag == "th" and self._in_row_header:
            self._in_row_header = False
            self.verdict_rows.append("".join(self._text))
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data):
        if self._in_row_header:
            self._text.append(data)


def test_script_arm_renders_as_text(rendered):
    html = rendered.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The page has no JavaScript of its own, so any "<script" would come from user data.
    assert "<script" not in html.lower()
    # The hostile level and config value from conftest.default_arms, and the command line.
    assert "&lt;i&gt;level&lt;/i&gt;" in html and "<i>level" not in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&#39;reports/&lt;x&gt;&amp;y&#39;" in html


def test_verdict_table_lists_every_arm_once(rendered, report_input):
    page = Page(rendered.read_text(encoding="utf-8"))
    assert "verdict" in page.ids
    arms = report_input.arms.query("role == 'arm'").arm.tolist()
    # Row headers hold the arm name followed by its tags ("baseline", "5 seeds").
    assert [any(row.startswith(a) for row in page.verdict_rows) for a in arms] == [True] * len(arms)
    assert len(page.verdict_rows) == len(arms)
    assert page.verdict_rows[0].startswith("baseline")  # the baseline comes first
    assert any(row.startswith(SCRIPT_ARM) for row in page.verdict_rows)


def test_sections_in_reading_order(rendered):
    html = rendered.read_text(encoding="utf-8")
    # The story first (verdict, outcomes, primary comparisons, controls), then the detail.
    order = ["verdict-box", "outcomes-section", "comparisons", "controls", "seeds", "methods",
             "provenance", "files"]
    positions = [html.index(f'<section id="{s}"') for s in order]
    assert positions == sorted(positions)
    # A "how to read this" per section but the answer, which is itself the plain reading.
    assert html.count('class="howto"') == len(order) - 1


def test_page_is_self_contained(rendered):
    html = rendered.read_text(encoding="utf-8")
    page = Page(html)
    for tag, attrs in page.tags:
        assert tag not in ("script", "link", "iframe", "object", "embed"), tag
        if "src" in attrs:
            assert attrs["src"].startswith("data:image/png;base64,"), (tag, attrs["src"][:40])
        if "href" in attrs:
            href = attrs["href"]
            assert href.startswith("#") or href in DATA_FILES, href
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", html, re.IGNORECASE)
    assert "@import" not in html and "url(" not in html  # no fonts or images pulled in by CSS
    assert sum(tag == "img" for tag, _ in page.tags) >= 10  # every figure listed below


def test_every_figure_is_present_with_alt_text(rendered):
    page = Page(rendered.read_text(encoding="utf-8"))
    for key in ("outcomes_arm", "representatives", "histogram", "history_g_mean", "history_g_std",
                "metrics", "qq", "forest_rates", "forest_metrics", "trend", "outcomes_control",
                "control_rejection"):
        assert f"fig-{key}" in page.ids, key
    assert "fig-heatmap" not in page.ids  # the default design is one factor at a time
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert all(len(attrs.get("alt", "")) > 20 for attrs in images)
    # Shown at 1 CSS px per 2 image px: the width attribute is half the PNG's pixel width.
    assert {attrs["width"] for attrs in images} == {str(int(WIDTH * CSS_DPI))}


def _lines(data, tolerance="within tolerance") -> str:
    return " ".join(line["text"] for line in verdict(data, tolerance)["lines"])


def test_verdict_comes_first_and_is_generated(report_input, rendered):
    html = rendered.read_text(encoding="utf-8")
    assert html.index('id="verdict-box"') < html.index('id="fig-outcomes_arm"') < html.index('id="verdict"')
    on = report_input.outcomes.set_index(["arm", "outcome"]).loc[("baseline", "on_target")]
    # Oracle: the fixture's outcome table (gancheck.stats.outcomes.outcome_table).
    assert f"in {on['count']:.0f} of {on['n']:.0f} seeds ({on['rate']:.2f}, 95% CI [{on['ci_low']:.2f}, " \
           f"{on['ci_high']:.2f}])" in html
    # Different results give a different verdict: every baseline seed on target.
    outcomes = report_input.outcomes.copy()
    base = outcomes["arm"] == "baseline"
    outcomes.loc[base, "count"] = np.where(outcomes.loc[base, "outcome"] == "on_target", 12, 0)
    outcomes.loc[base, "rate"] = outcomes.loc[base, "count"] / 12
    text = _lines(dataclasses.replace(report_input, outcomes=outcomes))
    assert "in 12 of 12 seeds (1.00" in text and "Why" not in text


def test_verdict_has_four_lines_and_names_the_tolerance(report_input):
    box = verdict(report_input, "within ±0.1 sd of the target")
    assert [line["key"] for line in box["lines"]] == ["baseline", "best", "necessary", "mechanism"]
    assert "within ±0.1 sd of the target" in box["lines"][0]["text"]
    assert "on_target" in box["outcomes"]


def test_verdict_names_the_best_arm_even_when_not_significant(report_input):
    # Oracle: the fixture's on-target rates; the best arm is the highest rate among the arms.
    rates = report_input.outcomes.query("outcome == 'on_target' and arm != 'baseline' "
                                        "and not arm.str.startswith('control:')", engine="python")
    best = rates.sort_values("rate", ascending=False, kind="stable").iloc[0]
    none = report_input.comparisons.assign(reject_holm=False)
    text = _lines(dataclasses.replace(report_input, comparisons=none))
    assert f"“{best['arm']}”" in text and "not significantly different" in text
    assert "No arm's on-target rate differs from the baseline's" in text


def test_verdict_reads_the_primary_family_where_comparisons_mark_one(report_input):
    comparisons = report_input.comparisons.copy()
    # A comparisons table with families: only rows marked primary decide "what matters".
    comparisons["family"] = np.where(comparisons["metric"] == "rate:on_target", "primary", "secondary")
    comparisons["reject_holm"] = comparisons["metric"] != "rate:on_target"
    text = _lines(dataclasses.replace(report_input, comparisons=comparisons))
    assert "No arm's on-target rate differs" in text
    comparisons["reject_holm"] = comparisons["metric"] == "rate:on_target"
    text = _lines(dataclasses.replace(report_input, comparisons=comparisons))
    assert "Holm over" in text and "No arm's on-target rate differs" not in text


def test_comparisons_show_p_holm_p_and_prob_improvement(rendered, report_input):
    html = rendered.read_text(encoding="utf-8")
    row = report_input.comparisons.query("arm == 'features=raw' and metric == 'rate:collapsed'").iloc[0]
    assert "Holm p" in html and "prob_improvement" in html
    assert f"{row['prob_improvement']:.2f}" in html
    assert f"[{row['prob_improvement_low']:.2f}, {row['prob_improvement_high']:.2f}]" in html
    # compare_to_baseline states the smallest detectable difference (mde) of every tested row.
    assert "<th>Smallest detectable<br>" in html


def test_mde_column_is_shown_when_the_run_computes_it(report_input):
    data = dataclasses.replace(report_input, comparisons=report_input.comparisons.assign(mde=0.25))
    html = render_module.page(data)
    assert "<th>Smallest detectable<br>" in html
    assert "on-target rate: 0.25" in html


def test_controls_show_every_test_and_their_definitions(rendered, report_input):
    html = rendered.read_text(encoding="utf-8")
    for name, definition in CONTROL_DESCRIPTIONS.items():
        assert f"control:{name}" in html
        assert str(escape(tables._shipped(definition))) in html
    # Names of files that do not ship with the package never reach the page.
    assert ".md " not in html
    section = html[html.index('id="controls-table"'):html.index("</table>", html.index('id="controls-table"'))]
    for test in set(report_input.scores["test"]):
        assert describe(test).label in section, test  # the diversity tests included
    assert "collapse flag" in section


def test_methods_show_the_decision_list_and_every_test(rendered):
    html = rendered.read_text(encoding="utf-8")
    section = html[html.index('<section id="methods">'):html.index('<section id="provenance">')]
    positions = [section.index(f"<strong>{OUTCOME_LABELS[o]}</strong>") for o in OUTCOMES]
    assert positions == sorted(positions)  # the decision list in its order
    assert "``" not in section and "STUCK_SD_SHARE" not in section
    assert f"{STUCK_SD_SHARE:g} of the target sd" in section
    # Every test's description as the registry (the page's source) gives it.
    for name in FALLBACK:
        description = describe(name).description
        assert description and str(escape(description)) in section, name


def test_trend_orders_ratio_levels_by_value(report_input):
    # 10:30 < 20:20 < 30:10 as D/G ratios (1/3, 1, 3), not as strings.
    levels = ordered_factors(report_input)["step_ratio"]
    assert [level for _, level, _ in levels] == ["10:30", "20:20", "30:10"]
    assert level_value("35:5") == 7 and level_value("200") == 200 and level_value("raw") is None


def test_data_files_are_linked_with_their_checksums(report_input, tmp_path):
    for i, name in enumerate(DATA_FILES):
        (tmp_path / name).write_text(f"column\n{i}\n", encoding="utf-8")
    html = render(report_input, tmp_path).read_text(encoding="utf-8")
    for name in DATA_FILES:
        digest = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()  # oracle: hashlib
        assert f'<a href="{name}">{name}</a>' in html and digest in html


def test_registry_labels_are_used_when_it_exists(monkeypatch):
    import sys
    import types
    module = types.ModuleType("gancheck.stats.registry")
    module.REGISTRY = {"ks": types.SimpleNamespace(name="ks", label="Kolmogorov", group="fit", order=1,
                                                   hypothesis="simple", description="from the registry")}
    monkeypatch.setitem(sys.modules, "gancheck.stats.registry", module)
    labels.describe.cache_clear()
    try:
        assert labels.describe("ks").label == "Kolmogorov"
        assert labels.describe("ks").description == "from the registry"
        assert labels.describe("shapiro") == FALLBACK["shapiro"]  # not in that registry
    finally:
        labels.describe.cache_clear()


def test_factorial_design_gets_a_heatmap(factorial_input, tmp_path):
    page = Page(render(factorial_input, tmp_path).read_text(encoding="utf-8"))
    assert "fig-heatmap" in page.ids


def test_rendering_twice_gives_the_same_page_and_no_temp_files(rendered, tmp_path):
    out = tmp_path / "new" / "folder"  # render creates missing folders
    # A fresh ReportInput built from the same seed: no hidden state (global RNG, dates) leaks in.
    again = render(make_report_input(), out)
    assert again == out / "index.html"
    assert again.read_bytes() == rendered.read_bytes()
    assert sorted(os.listdir(out)) == ["index.html"]  # the temporary file was moved, not copied


def test_failed_write_keeps_the_old_page_and_no_temp_file(report_input, tmp_path, monkeypatch):
    (tmp_path / "index.html").write_text("old page", encoding="utf-8")
    monkeypatch.setattr(render_module, "page", lambda data, csv_dir=None, out_dir=None: "new page")  # the write is under test

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    from gancheck.runs import files
    monkeypatch.setattr(files.os, "fsync", disk_full)
    with pytest.raises(OSError):
        render(report_input, tmp_path)
    assert (tmp_path / "index.html").read_text(encoding="utf-8") == "old page"
    assert sorted(os.listdir(tmp_path)) == ["index.html"]


def test_mathtext_and_markup_in_names_render(tmp_path):
    # "$" would start matplotlib mathtext; "{" and "%" trip format strings; all must stay text.
    arms = default_arms()[:2]
    arms[1].name = "lr=$1e-4$ {50%} & <b>"
    html = render(make_report_input(arms=arms, controls={}), tmp_path).read_text(encoding="utf-8")
    assert "lr=$1e-4$ {50%} &amp; &lt;b&gt;" in html


def test_single_arm_run_without_controls_renders(tmp_path):
    data = make_report_input(arms=default_arms()[:1], controls={})
    html = render(data, tmp_path).read_text(encoding="utf-8")
    assert 'id="verdict"' in html and "This run has no controls." in html


def test_one_factor_design_is_not_factorial(report_input):
    # experiments/designs.py records every factor for every arm and changes one at a time.
    base = {"features": "moments", "g_hidden_size": "5"}
    arms = report_input.arms.copy()
    levels = [{}, {"g_hidden_size": "200"}, {"features": "raw"}, {"features": "<i>x</i>"},
              {"step_ratio": "30:10"}, {"step_ratio": "10:30"}]  # conftest.default_arms' order
    arms.loc[arms.role == "arm", "factors_json"] = [json.dumps({**base, **change}) for change in levels]
    assert factors_of(dataclasses.replace(report_input, arms=arms))[0] == []


def test_factorial_design_names_its_factors(factorial_input):
    names, levels = factors_of(factorial_input)
    assert names == ["features", "g_hidden_size"]  # conftest.factorial_arms crosses these two
    assert len(levels) == 4


def test_figures_cap_the_number_of_arms():
    data = make_report_input(arms=full_design_arms(30), n_seeds=3, n_epochs=3, controls={}, fast=True)
    names, note = plotted_arms(data, data.samples["arm"])
    assert len(names) == MAX_ARMS_PLOTTED
    assert names[0] == "baseline"
    assert f"{MAX_ARMS_PLOTTED} of 30 arms" in note
    # The arms left out are named, so none disappears silently (ties at one rate included).
    left = [a for a in data.arms.query("role == 'arm'").arm if a not in names]
    assert len(left) == 30 - MAX_ARMS_PLOTTED
    assert note.split("Left out: ", 1)[1].split(";", 1)[0].split(", ") == left


def test_nullable_columns_as_the_store_gives_them(report_input):
    # SQLite round trips give Int64/Float64/boolean columns, with NA where a value is unknown.
    comparisons = report_input.comparisons.convert_dtypes()
    comparisons["reject_holm"] = comparisons["reject_holm"].astype("boolean")
    comparisons.loc[comparisons.index[-1], "reject_holm"] = pd.NA
    data = dataclasses.replace(report_input, comparisons=comparisons,
                               pass_rates=report_input.pass_rates.convert_dtypes(),
                               collapse_rates=report_input.collapse_rates.convert_dtypes())
    data = dataclasses.replace(data, outcomes=report_input.outcomes.convert_dtypes())
    verdict = tables.outcome_rows(tables.normalised(data))
    arms = report_input.arms.query("role == 'arm'").arm.tolist()
    assert [row["arm"] for row in verdict["rows"]] == arms
    on = report_input.outcomes.set_index(["arm", "outcome"]).loc[("baseline", "on_target")]
    assert verdict["rows"][0]["cells"][0]["title"] == f"{int(on['count'])} of {int(on['n'])} seeds"
    render_module.page(data)  # and the whole page renders from them


def test_provenance_lists_are_shown_plainly(report_input):
    # The runs wing records num_epochs as a list (arms may differ); extra keys are shown too.
    data = dataclasses.replace(report_input, provenance={**report_input.provenance,
                                                         "num_epochs": [60, 60]})
    view = provenance_view.provenance(data)
    assert dict(view["run"])["epochs"] == "60"
    invocation = view["invocations"][0]
    assert invocation["threads"] == "2 × 1" and "sha256 of the diff: " + "ab" * 32 in invocation["commit"]


def test_provenance_round_trips_and_reads_old_records():
    record = Provenance(name="x", seeds=[0, 1], invocations=[Invocation.start(command="c", device="cpu")])
    assert Provenance.from_dict(record.to_dict()) == record
    assert record.latest.host.cpu_count >= 1 and record.latest.versions["python"]
    # An older run's plain dict: one commit with "-dirty", run-wide device and versions.
    old = Provenance.from_dict({"name": "old", "git_commit": "abc-dirty", "device": "cpu",
                               "versions": {"torch": "2.13"}, "num_epochs": 60, "executor": "dask"})
    assert old.num_epochs == [60]
    assert (old.latest.git_commit, old.latest.git_dirty, old.latest.device) == ("abc", True, "cpu")
    assert old.latest.versions == {"torch": "2.13"}


@pytest.mark.slow
def test_full_design_report_stays_small(tmp_path):
    # The full default design's shape (24 arms x 20 seeds x 2001 epochs, 6 controls x 500
    # replicates): the published page must stay at or under 1.5 MB.
    data = make_report_input(arms=full_design_arms(24), n_seeds=20, n_epochs=2001,
                             n_control_reps=500, fast=True)
    size = render(data, tmp_path).stat().st_size
    assert size <= 1_500_000, f"report is {size / 1e6:.2f} MB"


# --- the `report` subcommand ------------------------------------------------------------------

def _parse(argv):
    from gancheck.cli import report
    parser = ArgumentParser(prog="gancheck")
    report.add_parser(parser.add_subparsers(dest="command", parser_class=ArgumentParser))
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    """A small real run (two tiny arms, 2 seeds, a few epochs), rendered by the ablation itself."""
    from gancheck.runs.driver import run_design
    from tests.runs.conftest import small_design
    run_dir = tmp_path_factory.mktemp("run")
    run_design(small_design(), run_dir, show_progress=False)
    from gancheck.report.collect import write_outputs
    write_outputs(run_dir)
    return run_dir


def test_report_command_writes_the_page(real_run, tmp_path, capsys):
    args = _parse(["report", str(real_run), "--out", str(tmp_path / "out")])
    assert args.handler(args) == 0
    assert (tmp_path / "out" / "index.html").exists()
    # Every CSV the page shows and checksums is written beside it, so the folder publishes whole.
    from gancheck.report.collect import CSV_FILES
    assert all((tmp_path / "out" / name).is_file() for name in CSV_FILES)
    assert capsys.readouterr().out.strip() == str(tmp_path / "out" / "index.html")


def test_report_command_reproduces_the_ablations_page_without_training(real_run):
    # The same store gives the same page, byte for byte (no timestamps, fixed plot jitter), and
    # the CSVs beside it are rewritten from the store too.
    before = (real_run / "index.html").read_bytes()
    scores_before = (real_run / "scores.csv").read_bytes()
    (real_run / "scores.csv").unlink()
    args = _parse(["report", str(real_run)])
    assert args.handler(args) == 0
    assert (real_run / "index.html").read_bytes() == before
    assert (real_run / "scores.csv").read_bytes() == scores_before


def test_report_command_missing_run_dir_is_a_usage_error(tmp_path):
    args = _parse(["report", str(tmp_path / "nope")])
    with pytest.raises(UsageError, match="does not exist"):
        args.handler(args)


def test_report_command_missing_store_exits_2_with_one_line(tmp_path, capsys):
    def main(argv):
        args = _parse(argv)
        return args.handler(args)

    assert run_cli(main, ["report", str(tmp_path)]) == 2  # gancheck.cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no run store here" in err and err.count("\n") == 1


def test_the_csvs_do_not_depend_on_the_order_tasks_finished(tmp_path, monkeypatch):
    # Worker processes finish tasks in any order, and the store keeps rows in that order; the
    # same results must still give the same CSVs, byte for byte. Oracle: the same design run
    # with its task list reversed.
    import gancheck.runs.driver as driver
    from gancheck.report.collect import write_outputs
    from gancheck.runs.driver import run_design
    from tests.runs.conftest import small_design
    run_design(small_design(), tmp_path / "forward", show_progress=False)
    real_plan = driver.plan
    monkeypatch.setattr(driver, "plan", lambda *a, **k: real_plan(*a, **k)[::-1])
    run_design(small_design(), tmp_path / "reversed", show_progress=False)
    for run in ("forward", "reversed"):
        write_outputs(tmp_path / run)
    for name in ("scores.csv", "summary.csv", "comparisons.csv"):
        assert (tmp_path / "forward" / name).read_bytes() == (tmp_path / "reversed" / name).read_bytes(), name
