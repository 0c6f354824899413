"""What makes a published report rerunnable and readable whatever the design: the safe rerun
command, the embedded patch, the pairing note, sibling links, the model in Methods, and the
displays that read new comparison and effect columns when present and degrade when absent."""
from __future__ import annotations

import dataclasses
import shlex

import numpy as np
import pandas as pd

from gancheck.report import tables_comparisons
from gancheck.report.methods import methods
from gancheck.report.provenance_view import pairing_note, provenance, rerun_command
from gancheck.report.render import page, render
from gancheck.runs.provenance import Invocation, Provenance

from .conftest import default_arms, make_report_input


def test_rerun_command_never_deletes_or_overwrites_the_published_folder():
    command = "python -m experiments.ablate --preset full --fresh --out reports/full --workers 2"
    safe = shlex.split(rerun_command(command))
    assert "--fresh" not in safe
    assert safe[safe.index("--out") + 1] == "reports/full-rerun"
    assert safe.count("--out") == 1 and "--workers" in safe
    assert shlex.split(rerun_command("python -m experiments.ablate --out=reports/x/"))[-1] == "reports/x-rerun"
    # Without --out the design would write its default folder, the published one: it gets its own.
    assert rerun_command("python -m experiments.ablate --preset full", "full").endswith("--out rerun-full")


def test_rerun_command_pins_the_worker_count_that_planned_the_blocks(report_input):
    """Blocks are sized by the worker count and a member's bits depend on its block: the rerun
    names the first invocation's count unless the command already chose workers or a cluster."""
    assert shlex.split(rerun_command("python -m experiments.ablate", "full", workers=2))[-4:] == [
        "--workers", "2", "--out", "rerun-full"]
    assert shlex.split(rerun_command("python -m experiments.ablate --workers=3", "x", workers=2)).count("2") == 0
    assert "--workers" not in rerun_command("python -m experiments.ablate --dask tcp://h:8786", "x", workers=8)
    assert "--workers" not in rerun_command("python -m experiments.ablate", "x")   # nothing recorded
    def rerun_workers(*invocations) -> str:
        rerun = shlex.split(provenance(_with_invocations(report_input, *invocations))["rerun"])
        return rerun[rerun.index("--workers") + 1]
    # A run resumed with 1 worker was planned by its first invocation's 2...
    assert rerun_workers(Invocation(command="c", workers=2, planned=8), Invocation(command="c", workers=1)) == "2"
    # ...unless that one was stopped before it planned anything: then by the first that did.
    assert rerun_workers(Invocation(command="c", workers=4), Invocation(command="c", workers=3, planned=8)) == "3"
    # Records from before the count was kept: the first invocation.
    assert rerun_workers(Invocation(command="c", workers=2), Invocation(command="c", workers=1)) == "2"


def _with_invocations(data, *invocations):
    record = Provenance.from_dict(data.provenance)
    record.invocations = list(invocations)
    return dataclasses.replace(data, provenance=record.to_dict())


def test_a_dirty_run_embeds_its_patch_and_says_when_it_cannot(report_input):
    patch = "diff --git a/x.py b/x.py\n+changed = '<b>'\n"
    dirty = Invocation(command="c", git_commit="abc", git_dirty=True, diff_sha256="ff", patch=patch)
    html = page(_with_invocations(report_input, dirty))
    assert 'id="patch"' in html and "changed = &#39;&lt;b&gt;&#39;" in html  # escaped, whole
    unrecorded = Invocation(command="c", git_commit="abc", git_dirty=True, diff_sha256="ff")
    html = page(_with_invocations(report_input, unrecorded))
    assert 'id="patch"' not in html and "cannot be rebuilt exactly" in html


def test_mixed_draw_streams_and_compile_modes_are_said_where_seeds_are_paired(report_input):
    mixed = Invocation(command="c", compile="compile=auto: compiled a, b; eager c",
                       draws="philox a, b; torch c")
    note = pairing_note(Provenance(invocations=[mixed]))
    # The smaller group is named, the largest counted (hand-read from the invocation above).
    assert "draw streams (torch: c; philox: the other 2 arms)" in note
    assert "compile modes (eager: c; compiled: the other 2 arms)" in note
    assert pairing_note(Provenance(invocations=[Invocation(draws="philox a, b, c",
                                                           compile="eager: every arm")])) == ""
    html = page(_with_invocations(report_input, mixed))
    comparisons = html.index('<section id="comparisons"')
    assert html.index("Arms ran with different draw streams", comparisons) < html.index('<section id="controls"')


def test_reports_of_one_project_link_to_each_other(report_input, tmp_path):
    data = make_report_input(arms=default_arms()[:2], controls={}, n_seeds=3, n_epochs=3, fast=True)
    # Links go to reports already there (a project republishes each in turn, so each links the
    # others once all are written).
    # A folder with an index.html is a report to link to (render.siblings), so the third one,
    # whose name needs quoting, need not be rendered.
    (tmp_path / "reports" / "run#2 ü").mkdir(parents=True)
    (tmp_path / "reports" / "run#2 ü" / "index.html").write_text("<html></html>", encoding="utf-8")
    for name in ("full-fix", "full"):
        render(data, tmp_path / "reports" / name)
    html = (tmp_path / "reports" / "full" / "index.html").read_text(encoding="utf-8")
    assert '<a href="../full-fix/index.html">full-fix</a>' in html
    # A name is quoted as a URL path segment (urllib.parse.quote: '#' is %23, ' ' %20, 'ü' %C3%BC).
    assert '<a href="../run%232%20%C3%BC/index.html">run#2 ü</a>' in html
    # Outside a reports folder nothing is linked (a scratch render names no neighbours).
    assert 'id="siblings"' not in render(data, tmp_path / "elsewhere").read_text(encoding="utf-8")


def test_methods_describe_the_model_from_its_config(report_input):
    text = " ".join(methods(report_input)["model"])
    # Oracle: conftest's base config (g_hidden_size 5, features "moments", 20 D and 20 G steps).
    assert "Linear(50, 5)" in text and "“moments”" in text and "20 D steps" in text
    assert "noise draw" in text and "one outcome" in text


def test_comparison_table_reads_families_when_present_and_not_when_absent(report_input):
    # A comparisons table written before families were declared has no family column.
    older = report_input.comparisons.drop(columns=["family"], errors="ignore")
    plain = tables_comparisons.comparison_rows(dataclasses.replace(report_input, comparisons=older))
    assert not plain["has_family"]
    marked = report_input.comparisons.assign(
        family=np.where(report_input.comparisons["metric"] == "rate:on_target", "primary", "secondary"))
    rows = tables_comparisons.comparison_rows(dataclasses.replace(report_input, comparisons=marked))
    assert rows["has_family"] and {r["family"] for r in rows["rows"]} == {"primary", "secondary"}


def test_effects_state_units_and_a_sentence_and_flag_non_convergence(factorial_input):
    assert len(factorial_input.effects)
    rows = tables_comparisons.effect_rows(factorial_input)
    assert rows[0]["metric"] == "on-target rate"  # the primary outcome's terms lead
    assert all(r["units"] and r["sentence"].endswith(".") for r in rows)
    three = pd.DataFrame([dict(metric="rate:on_target", term="a[x]:b[y]:c[z]", estimate=0.5, ci_low=-1.0,
                               ci_high=2.0, pvalue=0.4, method="firth-wald", units="log-odds",
                               converged=False)])
    row, = tables_comparisons.effect_rows(dataclasses.replace(factorial_input, effects=three))
    assert "how the effect of a = x changes when b = y and c = z" in row["sentence"]
    assert "log-odds" in row["sentence"] and "did not converge" in row["sentence"]


def test_each_rate_s_effect_terms_are_one_holm_family(factorial_input):
    """A factorial design tests all of a rate's terms at once: three terms at p = 0.036 are not
    three findings. Each row carries its Holm p over the terms of its own rate or metric only."""
    terms = ["a[x]", "b[y]", "a[x]:b[y]"]
    rows = [dict(metric=metric, term=term, estimate=0.1, ci_low=0.0, ci_high=0.2, pvalue=p,
                 method="rate-mover-wilson", units="rate difference", converged=True)
            for metric, ps in (("rate:on_target", (0.036, 0.036, 0.47)), ("rate:collapsed", (0.01, 0.5, 0.2)))
            for term, p in zip(terms, ps)]
    shown = tables_comparisons.effect_rows(dataclasses.replace(factorial_input, effects=pd.DataFrame(rows)))
    # Oracle: statsmodels' Holm within each metric, formatted as the page formats p-values.
    from statsmodels.stats.multitest import multipletests

    from gancheck.report.tables import fmt_p
    expected = [fmt_p(q) for ps in ((0.036, 0.036, 0.47), (0.01, 0.5, 0.2))
                for q in multipletests(ps, method="holm")[1]]
    assert [r["p_holm"] for r in shown] == expected   # 0.108, 0.108, 0.47; 0.03, 0.4, 0.4
    assert "(Holm over its 3 terms: p = 0.108)" in shown[0]["sentence"]


def test_equivalence_as_a_share_of_seeds_is_not_shown_as_a_tost_table(report_input):
    # A run's equivalence.csv (gancheck.runs.verdicts.equivalence) has no margin, TOST p or
    # verdict per row: its share is the outcome table's on-target cell, so it gets no table.
    share = pd.DataFrame({"arm": ["baseline", "features=raw"], "count": [3, 0], "n": [12, 12],
                          "share": [0.25, 0.0], "ci_low": [0.09, 0.0], "ci_high": [0.53, 0.24]})
    assert tables_comparisons.equivalence_rows(dataclasses.replace(report_input, equivalence=share)) == []
    assert tables_comparisons.equivalence_rows(report_input)[0]["equivalent"] in ("yes", "not shown")


def test_provenance_of_a_clean_run_has_no_patch(report_input):
    clean = Invocation(command="python -m experiments.ablate --out r", git_commit="abc", git_dirty=False)
    view = provenance(_with_invocations(report_input, clean))
    assert view["patch"] == "" and not view["dirty"] and view["commit"] == "abc"


def test_a_dirty_checkout_records_its_patch(monkeypatch):
    import subprocess

    from gancheck.runs import provenance as module
    diff = b"diff --git a/x b/x\n+new line\n"

    def fake_git(*args):  # a checkout with one uncommitted change
        out = b"0" * 40 + b"\n" if args[0] == "rev-parse" else diff
        return subprocess.CompletedProcess(["git", *args], 0, stdout=out, stderr=b"")

    monkeypatch.setattr(module, "_git", fake_git)
    record = Invocation.start(command="c", device="cpu")
    assert record.git_dirty and record.patch == diff.decode()
    # Oracle: hashlib over the same bytes, as code_state computes it.
    import hashlib
    assert record.diff_sha256 == hashlib.sha256(diff).hexdigest()


def test_finished_members_trained_again_show_in_the_invocation_and_the_limitations(report_input):
    """A resumed block trains its finished members again (gancheck.runs.blocks): the invocations
    table counts them; if any came out with other numbers than stored, the limitations say which,
    escaped like every string of the page."""
    same = Invocation(command="c", started="2026-01-02 03:04", computed=6, retrained=2)
    html = page(_with_invocations(report_input, same))
    assert ">6 + 2 again<" in html and "N members computed, and M finished ones trained again" in html
    assert "does not reproduce the earlier invocation" not in html
    other = Invocation(command="c", started="2026-01-02 03:04", computed=6, retrained=2,
                       differed=[["<b>arm</b>", 3]])
    html = page(_with_invocations(report_input, other))
    assert ">6 + 2 again (1 differed)<" in html
    assert "trained 2 finished members again" in html and "&lt;b&gt;arm&lt;/b&gt; (seed 3)" in html
    assert "<b>arm</b>" not in html
    assert "does not reproduce the earlier invocation bit for bit" in html


def test_an_interrupted_publish_leaves_no_page_that_contradicts_its_files(report_input, tmp_path, monkeypatch):
    """The page lists its files' checksums and is written last. Interrupted after the CSVs were
    replaced, the old page would describe the old results: it goes before the first file does."""
    import hashlib

    import pytest

    from gancheck.report import collect
    collect.publish(report_input, tmp_path)
    page_text = (tmp_path / "index.html").read_text()
    # Oracle: the page lists outcomes.csv by the sha256 of the bytes beside it.
    assert hashlib.sha256((tmp_path / "outcomes.csv").read_bytes()).hexdigest() in page_text

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(collect, "write_page_files", interrupted)   # after the CSVs, before the page
    more = dataclasses.replace(report_input, outcomes=report_input.outcomes.assign(count=0))
    with pytest.raises(KeyboardInterrupt):
        collect.publish(more, tmp_path)
    assert not (tmp_path / "index.html").exists()
    assert (tmp_path / "outcomes.csv").read_text() == more.outcomes.to_csv(index=False)
