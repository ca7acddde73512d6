"""Plotly figures for account pages: plain data in, figure JSON out; no queries."""

from datetime import timedelta

import plotly.graph_objects as go


def usage_by_feature_figure(usage: dict) -> str:
    fig = go.Figure()
    for feature, s in usage["series"].items():
        fig.add_trace(go.Bar(x=s["dates"], y=s["events"], name=feature))
    fig.update_layout(
        barmode="stack",
        margin={"l": 40, "r": 10, "t": 10, "b": 40},
        height=320,
        legend={"orientation": "h", "y": -0.2},
        xaxis={"range": [usage["start"].isoformat(), usage["end"].isoformat()], "type": "date"},
        yaxis={"title": {"text": "events per day"}},
    )
    return fig.to_json()


BAND_COLOURS = {"healthy": "#2e9d5b", "neutral": "#e0a526", "at_risk": "#d64545", "unknown": "#9aa5b1"}


def score_trend_figure(trend: list[dict], scorecard) -> str:
    """Daily score with the band thresholds of the current scorecard drawn as dashed lines."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[t["as_of"].isoformat() for t in trend],
            y=[t["score"] for t in trend],
            mode="lines",
            name="score",
            line={"color": "#2f5dd0", "width": 2},
            connectgaps=False,
            hovertemplate="%{x}: %{y}<extra></extra>",
        )
    )
    if scorecard is not None:
        for y, label, colour in (
            (scorecard.healthy_at, f"healthy at {scorecard.healthy_at}", BAND_COLOURS["healthy"]),
            (scorecard.at_risk_below, f"at risk below {scorecard.at_risk_below}", BAND_COLOURS["at_risk"]),
        ):
            fig.add_hline(
                y=y, line={"dash": "dash", "color": colour, "width": 1}, annotation_text=label,
                annotation_position="top left", annotation_font={"color": colour, "size": 11},
            )  # fmt: skip
    fig.update_layout(
        height=280,
        margin={"l": 40, "r": 10, "t": 10, "b": 30},
        showlegend=False,
        yaxis={"range": [0, 102], "title": {"text": "score"}},
        xaxis={"type": "date"},
    )
    return fig.to_json()


def usage_heatmap_figure(heatmap: dict) -> str:
    """Features × weeks, colour = events that week."""
    fig = go.Figure(
        go.Heatmap(
            x=[w.isoformat() for w in heatmap["weeks"]],
            y=heatmap["features"],
            z=heatmap["events"],
            colorscale="Blues",
            colorbar={"title": {"text": "events"}, "thickness": 12},
            hovertemplate="%{y}, week of %{x}: %{z} events<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(
        height=90 + 28 * len(heatmap["features"]),
        margin={"l": 140, "r": 10, "t": 10, "b": 30},
        xaxis={"type": "date"},
        yaxis={"autorange": "reversed"},
    )
    return fig.to_json()


def nps_figure(responses: list) -> str:
    """NPS answers as points over time (0–10)."""
    fig = go.Figure(
        go.Scatter(
            x=[r.date.isoformat() for r in responses],
            y=[r.score for r in responses],
            mode="markers+lines",
            marker={
                "size": 9,
                "color": ["#d64545" if r.score <= 6 else "#e0a526" if r.score <= 8 else "#2e9d5b" for r in responses],
            },
            line={"color": "#cbd2d9", "width": 1},
            hovertemplate="%{x}: %{y}<extra></extra>",
        )
    )
    # A margin of a month either side: one answer alone would otherwise get an axis of milliseconds.
    dates = [r.date for r in responses]
    x_range = [(min(dates) - timedelta(days=30)).isoformat(), (max(dates) + timedelta(days=30)).isoformat()]
    fig.update_layout(
        height=200,
        margin={"l": 30, "r": 10, "t": 10, "b": 30},
        yaxis={"range": [-0.5, 10.5], "dtick": 2},
        xaxis={"type": "date", "range": x_range},
    )
    return fig.to_json()
