"""render(): ReportInput → one self-contained HTML file, written atomically."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from gancheck.report import tables
from gancheck.report.data import ReportInput
from gancheck.report.plots import seed_figures
from gancheck.runs.files import atomic_write_text
from gancheck.report.plots_diagnostics import control_figures, diagnostic_figures, factors_of

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


def page(data: ReportInput) -> str:
    """The report as one HTML string (deterministic: the same data gives the same page)."""
    data = tables.normalised(data)
    factors, _ = factors_of(data)
    context = {
        "title": f"gancheck report: {data.provenance.get('name') or 'run'}",
        "verdict": tables.verdict(data),
        "seed_figures": seed_figures(data),
        "diagnostic_figures": diagnostic_figures(data),
        "metric_summary": tables.metric_summary(data),
        "settling": tables.settling(data),
        "controls": tables.controls(data),
        "control_figures": control_figures(data),
        "provenance": tables.provenance(data),
        "factors": factors,
        "alpha": tables.fmt_num(data.provenance.get("alpha", 0.05)),
        "pass_percent": f"{(1 - float(data.provenance.get('alpha', 0.05))) * 100:.0f}",
        "target": tables.target_text(data),
    }
    return _environment().get_template("index.html.j2").render(**context)


def render(data: ReportInput, out_dir) -> Path:
    """Write ``out_dir/index.html`` and return its path.

    The page is written to a temporary file in ``out_dir`` and moved into place with os.replace,
    so a reader (or a crash) never sees half a page, and an existing report stays intact until
    the new one is complete.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = page(data)
    target = out_dir / PAGE
    atomic_write_text(target, html)
    return target
