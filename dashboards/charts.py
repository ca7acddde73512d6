"""Plotly figures for the dashboards: plain data in, figure JSON out; no queries."""

import plotly.graph_objects as go

BAND_COLOURS = {"healthy": "#2e9d5b", "neutral": "#e0a526", "at_risk": "#d64545", "unknown": "#9aa5b1"}
BAND_LABELS = {"healthy": "Healthy", "neutral": "Neutral", "at_risk": "At risk", "unknown": "Unknown"}


def health_mix_figure(verticals: list[dict]) -> str:
    names = [v["vertical"] for v in verticals][::-1]
    fig = go.Figure()
    for band, colour in BAND_COLOURS.items():
        fig.add_trace(
            go.Bar(y=names, x=[v["health_mix"][band] for v in verticals][::-1], name=BAND_LABELS[band],
                   orientation="h", marker_color=colour)
        )  # fmt: skip
    fig.update_layout(barmode="stack", height=80 + 40 * len(names), margin={"l": 140, "r": 10, "t": 10, "b": 30},
                      legend={"orientation": "h", "y": -0.15}, xaxis={"title": {"text": "accounts"}})  # fmt: skip
    return fig.to_json()


def arr_by_vertical_figure(verticals: list[dict]) -> str:
    names = [v["vertical"] for v in verticals][::-1]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=[float(v["arr"]) - float(v["arr_at_risk"]) for v in verticals][::-1],
                         name="ARR not at risk", orientation="h", marker_color="#2f5dd0"))  # fmt: skip
    fig.add_trace(go.Bar(y=names, x=[float(v["arr_at_risk"]) for v in verticals][::-1], name="ARR at risk",
                         orientation="h", marker_color="#d64545"))  # fmt: skip
    fig.update_layout(barmode="stack", height=80 + 40 * len(names), margin={"l": 140, "r": 10, "t": 10, "b": 30},
                      legend={"orientation": "h", "y": -0.15}, xaxis={"title": {"text": "ARR ($)"}})  # fmt: skip
    return fig.to_json()


def _layout(fig, height=340, **kwargs):
    fig.update_layout(height=height, margin={"l": 60, "r": 10, "t": 10, "b": 40},
                      legend={"orientation": "h", "y": -0.2}, **kwargs)  # fmt: skip
    return fig.to_json()


def score_histogram_figure(rows: list[dict]) -> str:
    """Accounts per score (0–100), one bar trace per band so the colours follow the band."""
    fig = go.Figure()
    for band in ("healthy", "neutral", "at_risk"):
        points = [r for r in rows if r["band"] == band]
        fig.add_trace(go.Bar(x=[r["score"] for r in points], y=[r["n"] for r in points], name=BAND_LABELS[band],
                             marker_color=BAND_COLOURS[band]))  # fmt: skip
    return _layout(fig, barmode="stack", bargap=0.05, xaxis={"title": {"text": "health score"}, "range": [-1, 101]},
                   yaxis={"title": {"text": "accounts"}})  # fmt: skip


def risk_matrix_figure(points: list[dict]) -> str:
    """ARR (log) × score; each point carries its account page URL for the click handler."""
    fig = go.Figure()
    for band in ("healthy", "neutral", "at_risk"):
        mine = [p for p in points if p["band"] == band]
        fig.add_trace(
            go.Scattergl(
                x=[p["arr"] for p in mine], y=[p["score"] for p in mine], mode="markers", name=BAND_LABELS[band],
                marker={"color": BAND_COLOURS[band], "size": 8, "opacity": 0.75},
                text=[p["name"] for p in mine], customdata=[f"/accounts/{p['id']}/" for p in mine],
                hovertemplate="%{text}<br>ARR $%{x:,.0f}<br>score %{y}<extra></extra>",
            )
        )  # fmt: skip
    return _layout(fig, height=420, xaxis={"title": {"text": "ARR ($, log scale)"}, "type": "log"},
                   yaxis={"title": {"text": "health score"}, "range": [-3, 103]}, hovermode="closest")  # fmt: skip


def funnel_figure(funnel: dict, height: int = 300) -> str:
    stages = ["In journey", *[s["stage"] for s in funnel["stages"]]]
    values = [funnel["accounts"], *[s["accounts"] for s in funnel["stages"]]]
    fig = go.Figure(go.Funnel(y=stages, x=values, textinfo="value+percent initial", marker={"color": "#2f5dd0"}))
    fig.update_layout(height=height, margin={"l": 170, "r": 10, "t": 10, "b": 20})
    return fig.to_json()


def adoption_figure(rows: list[dict]) -> str:
    names = [r["use_case"] for r in rows]
    fig = go.Figure()
    for band in ("healthy", "at_risk"):
        fig.add_trace(go.Bar(x=names, y=[r[f"{band}_share"] for r in rows], name=f"{BAND_LABELS[band]} accounts",
                             marker_color=BAND_COLOURS[band]))  # fmt: skip
    return _layout(fig, barmode="group", yaxis={"title": {"text": "% of the band's accounts running it"}, "range": [0, 100]})


def vertical_history_figure(days: list) -> str:
    """The median score over time (line) above the health mix over time (stacked areas)."""
    from plotly.subplots import make_subplots

    x = [d.day.isoformat() for d in days]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.5, 0.5], vertical_spacing=0.08)
    fig.add_trace(go.Scatter(x=x, y=[d.median_score for d in days], name="Median score", mode="lines+markers",
                             line={"color": "#1f2a44"}, marker={"size": 4}), row=1, col=1)  # fmt: skip
    for band in ("healthy", "neutral", "at_risk", "unknown"):
        fig.add_trace(go.Scatter(x=x, y=[getattr(d, band) for d in days], name=BAND_LABELS[band], stackgroup="mix",
                                 line={"color": BAND_COLOURS[band], "width": 0.5}), row=2, col=1)  # fmt: skip
    fig.update_yaxes(title_text="median score", range=[0, 100], row=1, col=1)
    fig.update_yaxes(title_text="accounts", row=2, col=1)
    return _layout(fig, height=460)
