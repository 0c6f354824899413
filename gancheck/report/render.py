"""render(): ReportInput → one self-contained HTML file, written atomically."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from gancheck.report import tables, tables_comparisons
from gancheck.report.answer import answer
from gancheck.report.data import ReportInput
from gancheck.report.methods import methods
from gancheck.report.plots import seed_figures
from gancheck.report.plots_comparisons import comparison_figures
from gancheck.report.plots_diagnostics import control_figures, diagnostic_figures, factors_of
from gancheck.report.plots_outcomes import outcome_figures
from gancheck.report.provenance_view import data_files, provenance
from gancheck.runs.files import atomic_write_text

PAGE = "index.html"


def breakable(text) -> Markup:
    """Escape ``text``, then allow line breaks after its commas (<wbr>), so a factorial arm's
    name ("features=raw,g_hidden_size=200") wraps instead of widening the verdict table."""
    return Markup(str(escape(str(text))).replace(",", ",<wbr>"))


def _environment() -> Environment:
    # autoescape=True for every value: arm names, levels, configs and the command line come from
    # users, and an arm named "<script>…" must show as text. StrictUndefined turns a template typo
    # into an error instead of a silently empty cell.
    env = Environment(loader=PackageLoader("gancheck.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["breakable"] = breakable
    return env


def page(data: ReportInput, csv_dir: Path | None = None) -> str:
    """The report as one HTML string (deterministic: the same data and files give the same page).

    ``csv_dir`` is the folder whose CSV files the page lists, links and checksums (none if None).
    """
    data = tables.normalised(data)
    factors, _ = factors_of(data)
    outcome_figs = outcome_figures(data)
    context = {
        "title": f"gancheck report: {data.provenance.get('name') or 'run'}",
        "answer": answer(data),
        "outcome_figure": outcome_figs["outcomes"],
        "outcomes": tables.outcome_rows(data),
        "tests": tables.test_rows(data),
        "seed_figures": [f for f in (outcome_figs["representatives"], *seed_figures(data),
                                     outcome_figs["metrics"]) if f is not None],
        "diagnostic_figures": diagnostic_figures(data),
        "comparison_figures": comparison_figures(data),
        "key_comparisons": tables_comparisons.comparison_rows(data, tables_comparisons.KEY_METRICS),
        "all_comparisons": tables_comparisons.comparison_rows(data),
        "equivalence": tables_comparisons.equivalence_rows(data),
        "effects": tables_comparisons.effect_rows(data),
        "metric_summary": tables.metric_summary(data),
        "settling": tables.settling(data),
        "controls": tables.controls(data),
        "control_outcome_figure": outcome_figs["control_outcomes"],
        "control_figures": control_figures(data),
        "methods": methods(data),
        "provenance": provenance(data),
        "files": data_files(csv_dir),
        "factors": factors,
        "alpha": tables.fmt_num(data.provenance.get("alpha", 0.05)),
        "target": tables.target_text(data),
        "n_arms": len(tables.arm_order(data)),
    }
    return _environment().get_template("index.html.j2").render(**context)


def render(data: ReportInput, out_dir, *, csv_dir=None) -> Path:
    """Write ``out_dir/index.html`` and return its path.

    The CSV files the page links to and checksums are read from ``csv_dir`` (default: out_dir,
    the run folder, where collect writes them before rendering). The page is written to a
    temporary file in ``out_dir`` and moved into place with os.replace, so a reader (or a crash)
    never sees half a page, and an existing report stays intact until the new one is complete.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = page(data, Path(csv_dir) if csv_dir is not None else out_dir)
    target = out_dir / PAGE
    atomic_write_text(target, html)
    return target
