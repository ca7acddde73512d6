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
