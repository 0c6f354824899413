"""render(): ReportInput → one self-contained HTML file, written atomically."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from gancheck.report import findings, tables, tables_comparisons
from gancheck.report.data import ReportInput
from gancheck.report.figure_data import compact
from gancheck.report.target_view import other_target, subtitle as target_subtitle
from gancheck.report.labels import (COLLAPSE_FLAG, OUTCOME_COLOURS, OUTCOME_HATCHES, OUTCOME_LABELS,
                                    OUTCOME_ORDER, PLAIN_DEFINITIONS, failed_value_note)
from gancheck.report.methods import decision_list, how_judged, improvement_interval, methods
from gancheck.report.plots import seed_figures
from gancheck.report.plots_comparisons import comparison_figures
from gancheck.report.plots_diagnostics import control_figures, diagnostic_figures, factors_of
from gancheck.report.plots_outcomes import outcome_figures
from gancheck.report.provenance_view import data_files, provenance
from gancheck.report.verdict import primary, verdict
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


#: CSS hatching per matplotlib hatch, so a swatch on the page shows the figures' pattern.
_CSS_HATCH = {"//": "repeating-linear-gradient(45deg, {c} 0 2px, transparent 2px 5px)",
              "\\\\": "repeating-linear-gradient(-45deg, {c} 0 2px, transparent 2px 5px)",
              "xx": "repeating-linear-gradient(45deg, {c} 0 1.5px, transparent 1.5px 5px), "
                    "repeating-linear-gradient(-45deg, {c} 0 1.5px, transparent 1.5px 5px)",
              "--": "repeating-linear-gradient(0deg, {c} 0 2px, transparent 2px 5px)",
              "||": "repeating-linear-gradient(90deg, {c} 0 2px, transparent 2px 5px)",
              "..": "radial-gradient({c} 1.2px, transparent 1.6px) 0 0 / 5px 5px",
              "++": "repeating-linear-gradient(0deg, {c} 0 1.5px, transparent 1.5px 6px), "
                    "repeating-linear-gradient(90deg, {c} 0 1.5px, transparent 1.5px 6px)",
              "oo": "radial-gradient(circle, transparent 1.3px, {c} 1.5px, transparent 2.2px) 0 0 / 6px 6px"}


def swatch_style(outcome: str) -> str:
    from gancheck.report.labels import text_on
    colour = OUTCOME_COLOURS[outcome]
    pattern = _CSS_HATCH.get(OUTCOME_HATCHES[outcome], "")
    ink = "rgba(0,0,0,0.45)" if text_on(colour) == "black" else "rgba(255,255,255,0.55)"
    return f"background: {pattern.format(c=ink) + ', ' if pattern else ''}{colour}"


def _short(rule: str) -> str:
    """A decision-list rule's first clause: "wrong location or scale: the mean test …" →
    "wrong location or scale"."""
    cut = min((i for i in (rule.find(":"), rule.find(" ("), rule.find(";")) if i > 0), default=len(rule))
    return rule[:cut].rstrip(".")


def outcome_key(keys, tolerance: str) -> list[dict]:
    """The legend: each outcome's plain definition, else its decision-list rule's first clause;
    on target is the tolerance in full (its bands, the KS bound and alpha are the definition)."""
    rules = {r["key"]: _short(r["rule"]) for r in decision_list()} | {"on_target": tolerance}
    return [{"label": OUTCOME_LABELS[o], "style": swatch_style(o),
             "definition": PLAIN_DEFINITIONS.get(o) or rules.get(o, "")} for o in keys]


def siblings(out_dir: Path | None) -> list[dict]:
    """The other reports of the project: when the page goes into a folder of a ``reports``
    folder, the folders beside it that hold an index.html."""
    if out_dir is None:
        return []
    out_dir = Path(out_dir).resolve()
    if out_dir.parent.name != "reports":
        return []
    try:
        found = sorted(p.parent.name for p in out_dir.parent.glob("*/index.html")
                       if p.parent.name != out_dir.name)
    except OSError:
        return []
    # A folder name is a path segment, not a URL: "run#2" unquoted would link to "../run".
    return [{"name": name, "href": f"../{quote(name)}/index.html"} for name in found]


def page(data: ReportInput, csv_dir: Path | None = None, out_dir: Path | None = None) -> str:
    """The report as one HTML string (deterministic: the same data and files give the same page).

    ``csv_dir`` is the folder whose CSV files the page lists, links and checksums (none if None);
    ``out_dir``, where the page goes: its sibling folders' reports are linked.
    """
    data = compact(tables.normalised(data))
    factors, _ = factors_of(data)
    outcome_figs = outcome_figures(data)
    judged = how_judged(data)
    box = verdict(data, judged["tolerance"])
    outcomes = tables.outcome_rows(data)
    outcomes["outcomes"] = [{"label": OUTCOME_LABELS[o], "style": swatch_style(o)} for o in OUTCOME_ORDER]
    comparisons = comparison_figures(data)
    prov = provenance(data)
    named = tables.control_outcomes(data)
    context = {
        "title": f"gancheck report: {data.provenance.get('name') or 'run'}",
        "verdict": box,
        "outcome_key": outcome_key(box["outcomes"], judged["tolerance"]),
        "tolerance": judged["tolerance"],
        "siblings": siblings(out_dir),
        "interval_kind": tables_comparisons.interval_adjustment(data),
        "pairing": prov["pairing"],
        "has_trend": any(f.key == "trend" for f in comparisons),
        "outcome_figure": outcome_figs["outcomes"],
        "outcomes": outcomes,
        "collapse_flag": COLLAPSE_FLAG,
        "tests": tables.test_rows(data, normal=other_target(data) is None),
        "seed_figures": [f for f in (outcome_figs["representatives"], *seed_figures(data),
                                     outcome_figs["metrics"]) if f is not None],
        "diagnostic_figures": diagnostic_figures(data),
        "comparison_figures": comparisons,
        "improvement_interval": improvement_interval(data),
        "key_comparisons": tables_comparisons.comparison_rows(data, frame=primary(data)),
        "all_comparisons": tables_comparisons.comparison_rows(data),
        "equivalence": tables_comparisons.equivalence_rows(data),
        "effects": tables_comparisons.effect_rows(data),
        "metric_summary": tables.metric_summary(data),
        "failed_value": failed_value_note(),
        "settling": tables.settling(data),
        "controls": tables.controls(data),
        "control_outcomes": named | {
            "sentence": findings.control_outcomes(data),
            "swatches": [{"label": OUTCOME_LABELS[o], "style": swatch_style(o)} for o in named["outcomes"]]},
        "control_outcome_figure": outcome_figs["control_outcomes"],
        "control_figures": control_figures(data),
        "methods": methods(data),
        "provenance": prov,
        "files": data_files(csv_dir),
        "factors": factors,
        "alpha": tables.fmt_num(data.provenance.get("alpha", 0.05)),
        "target": target_subtitle(data),
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
    html = page(data, Path(csv_dir) if csv_dir is not None else out_dir, out_dir)
    target = out_dir / PAGE
    atomic_write_text(target, html)
    return target
