"""Plotly figures for the dashboards: plain data in, figure JSON out; no queries."""

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from accounts.charts import colours_for
from dashboards.rollups import ParetoPoint, RevenueTrend, VerticalRetention

BAND_COLOURS = {"healthy": "#2e9d5b", "neutral": "#e0a526", "at_risk": "#d64545", "unknown": "#9aa5b1"}
BAND_LABELS = {"healthy": "Healthy", "neutral": "Neutral", "at_risk": "At risk", "unknown": "Unknown"}


def health_mix_figure(verticals: list[dict]) -> str:
    names = [v["vertical"] for v in verticals][::-1]
    fig = go.Figure()
    for band, colour in BAND_COLOURS.items():
        fig.add_trace(
            go.Bar(
                y=names,
                x=[v["health_mix"][band] for v in verticals][::-1],
                name=BAND_LABELS[band],
                orientation="h",
                marker_color=colour,
            )
        )
    fig.update_layout(
        barmode="stack",
        height=80 + 40 * len(names),
        margin={"l": 140, "r": 10, "t": 10, "b": 30},
        legend={"orientation": "h", "y": -0.15},
        xaxis={"title": {"text": "accounts"}},
    )
    return fig.to_json()


def arr_by_vertical_figure(verticals: list[dict]) -> str:
    names = [v["vertical"] for v in verticals][::-1]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=names,
            x=[float(v["arr"]) - float(v["arr_at_risk"]) for v in verticals][::-1],
            name="ARR not at risk",
            orientation="h",
            marker_color="#2f5dd0",
        )
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=[float(v["arr_at_risk"]) for v in verticals][::-1],
            name="ARR at risk",
            orientation="h",
            marker_color="#d64545",
        )
    )
    fig.update_layout(
        barmode="stack",
        height=80 + 40 * len(names),
        margin={"l": 140, "r": 10, "t": 10, "b": 30},
        legend={"orientation": "h", "y": -0.15},
        xaxis={"title": {"text": "ARR ($)"}},
    )
    return fig.to_json()


def _layout(fig, height=340, **kwargs):
    fig.update_layout(
        height=height, margin={"l": 60, "r": 10, "t": 10, "b": 40}, legend={"orientation": "h", "y": -0.2}, **kwargs
    )
    return fig.to_json()


def score_histogram_figure(rows: list[dict]) -> str:
    """Accounts per score (0–100), one bar trace per band so the colours follow the band."""
    fig = go.Figure()
    for band in ("healthy", "neutral", "at_risk"):
        points = [r for r in rows if r["band"] == band]
        fig.add_trace(
            go.Bar(
                x=[r["score"] for r in points],
                y=[r["n"] for r in points],
                name=BAND_LABELS[band],
                marker_color=BAND_COLOURS[band],
            )
        )
    return _layout(
        fig,
        barmode="stack",
        bargap=0.05,
        xaxis={"title": {"text": "health score"}, "range": [-1, 101]},
        yaxis={"title": {"text": "accounts"}},
    )


def risk_matrix_figure(points: list[dict]) -> str:
    """ARR (log) × score; each point carries its account page URL for the click handler. SVG, not WebGL:
    the point count is capped (selectors.risk_matrix), and SVG points draw and click without a GPU."""
    fig = go.Figure()
    for band in ("healthy", "neutral", "at_risk"):
        mine = [p for p in points if p["band"] == band]
        fig.add_trace(
            go.Scatter(
                x=[p["arr"] for p in mine],
                y=[p["score"] for p in mine],
                mode="markers",
                name=BAND_LABELS[band],
                marker={"color": BAND_COLOURS[band], "size": 8, "opacity": 0.75},
                text=[p["name"] for p in mine],
                customdata=[f"/accounts/{p['id']}/" for p in mine],
                hovertemplate="%{text}<br>ARR $%{x:,.0f}<br>score %{y}<extra></extra>",
            )
        )
    values, labels = log_ticks([p["arr"] for p in points])
    return _layout(
        fig,
        height=420,
        xaxis={"title": {"text": "ARR (log scale)"}, "type": "log", "tickvals": values, "ticktext": labels},
        yaxis={"title": {"text": "health score"}, "range": [-3, 103]},
        hovermode="closest",
    )


def log_ticks(values: list[float]) -> tuple[list[float], list[str]]:
    """Ticks for a log money axis that read as money: 1, 2 and 5 of each power of ten between the
    smallest and largest value, labelled "$1k", "$20k", "$5M"."""
    positive = [v for v in values if v and v > 0]
    if not positive:
        return [], []
    low, high = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
    ticks = [m * 10**e for e in range(low, high + 1) for m in (1, 2, 5)]
    ticks = [t for t in ticks if min(positive) / 2 <= t <= max(positive) * 2]
    return ticks, [_short_money(t) for t in ticks]


def _short_money(v: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= size:
            return f"${v / size:g}{suffix}"
    return f"${v:g}"


def funnel_figure(funnel: dict, height: int = 300) -> str:
    stages = ["In journey", *[s["stage"] for s in funnel["stages"]]]
    values = [funnel["accounts"], *[s["accounts"] for s in funnel["stages"]]]
    fig = go.Figure(go.Funnel(y=stages, x=values, textinfo="value+percent initial", marker={"color": "#2f5dd0"}))
    fig.update_layout(height=height, margin={"l": 170, "r": 10, "t": 10, "b": 20})
    return fig.to_json()


def adoption_figure(rows: list[dict], counts: dict | None = None) -> str:
    """Share of the healthy and of the at-risk accounts running each use case; the legend says how
    many accounts each share rests on ("At risk accounts (n=2)")."""
    names = [r["use_case"] for r in rows]
    fig = go.Figure()
    for band in ("healthy", "at_risk"):
        n = f" (n={counts[band]})" if counts and band in counts else ""
        fig.add_trace(
            go.Bar(
                x=names,
                y=[r[f"{band}_share"] for r in rows],
                name=f"{BAND_LABELS[band]} accounts{n}",
                marker_color=BAND_COLOURS[band],
            )
        )
    return _layout(
        fig, barmode="group", yaxis={"title": {"text": "% of the band's accounts running it"}, "range": [0, 100]}
    )


def vertical_history_figure(days: list) -> str:
    """The median score over time (line) above the health mix over time (stacked areas)."""
    x = [d.day.isoformat() for d in days]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.5, 0.5], vertical_spacing=0.08)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[d.median_score for d in days],
            name="Median score",
            mode="lines+markers",
            line={"color": "#1f2a44"},
            marker={"size": 4},
        ),
        row=1,
        col=1,
    )
    for band in ("healthy", "neutral", "at_risk", "unknown"):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[getattr(d, band) for d in days],
                name=BAND_LABELS[band],
                stackgroup="mix",
                line={"color": BAND_COLOURS[band], "width": 0.5},
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="median score", range=[0, 100], row=1, col=1)
    fig.update_yaxes(title_text="accounts", row=2, col=1)
    return _layout(fig, height=460)


def arr_trend_figure(trend: RevenueTrend) -> str:
    x = [d.isoformat() for d in trend.dates]
    fig = go.Figure()
    colours = colours_for(sorted(s.vertical for s in trend.verticals))
    for s in trend.verticals:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[float(v) for v in s.arr],
                name=s.vertical,
                mode="lines+markers",
                stackgroup="arr",
                line={"color": colours[s.vertical]},
            )
        )
    return _layout(fig, height=380, yaxis={"title": {"text": "ARR ($)"}}, xaxis={"type": "date"})


def retention_figure(rows: list[VerticalRetention]) -> str:
    names = [r.vertical for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=[r.nrr for r in rows], name="Net revenue retention", marker_color="#2f5dd0"))
    fig.add_trace(go.Bar(x=names, y=[r.grr for r in rows], name="Gross revenue retention", marker_color="#9aa5b1"))
    fig.add_hline(y=100, line_dash="dot", line_color="#616e7c")
    return _layout(fig, barmode="group", yaxis={"title": {"text": "% of ARR a year ago"}})


def pareto_figure(points: list[ParetoPoint]) -> str:
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, *[p.share_of_accounts for p in points]],
            y=[0, *[p.share_of_arr for p in points]],
            mode="lines",
            name="Cumulative share of ARR",
            line={"color": "#2f5dd0", "width": 3},
            customdata=[0, *[p.accounts for p in points]],
            hovertemplate="top %{customdata} accounts (%{x:.1f}%)<br>%{y:.1f}% of ARR<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(x=[0, 100], y=[0, 100], mode="lines", name="Even spread", line={"color": "#9aa5b1", "dash": "dot"})
    )
    return _layout(
        fig,
        xaxis={"title": {"text": "% of paying accounts, largest first"}, "range": [0, 100]},
        yaxis={"title": {"text": "% of ARR"}, "range": [0, 101]},
    )


def arr_treemap_figure(leaves: list[dict]) -> str:
    """Vertical → primary use case, sized by ARR."""
    verticals: dict[str, float] = {}
    for leaf in leaves:
        verticals[leaf["vertical"]] = verticals.get(leaf["vertical"], 0.0) + float(leaf["arr"])
    ids = [*verticals, *[f"{leaf['vertical']}/{leaf['use_case']}" for leaf in leaves]]
    palette = colours_for(sorted(verticals))
    fig = go.Figure(
        go.Treemap(
            ids=ids,
            labels=[*verticals, *[leaf["use_case"] for leaf in leaves]],
            parents=["" for _ in verticals] + [leaf["vertical"] for leaf in leaves],
            values=[*verticals.values(), *[float(leaf["arr"]) for leaf in leaves]],
            branchvalues="total",
            texttemplate="%{label}<br>$%{value:,.0f}",
            hovertemplate="%{label}<br>$%{value:,.0f}<extra></extra>",
            # Each vertical's colour (never the at-risk red), its use cases in lighter shades of it.
            marker={"colors": [*(palette[v] for v in verticals), *(palette[leaf["vertical"]] for leaf in leaves)]},
        )
    )
    fig.update_layout(height=420, margin={"l": 0, "r": 0, "t": 10, "b": 0})
    return fig.to_json()
