"""Plotly figures for account pages: plain data in, figure JSON out; no queries."""

from datetime import timedelta

import plotly.graph_objects as go

# Colours for features and verticals: never the bands' red, amber or green, so red means "at risk"
# and nothing else on a page.
PALETTE = ("#2f5dd0", "#17a2b8", "#7b61ff", "#1f2a44", "#8d9c2b", "#8d6e63", "#5c9ead", "#b07cc6", "#3d7d6e", "#6b7a99")


def colours_for(names: list[str]) -> dict[str, str]:
    """A colour per name, by its position in `names` (a stable order: features by key, verticals
    by name), so a feature keeps its colour from one account's page to the next."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def usage_by_feature_figure(usage: dict, colours: dict[str, str] | None = None) -> str:
    fig = go.Figure()
    colours = colours or colours_for(sorted(usage["series"]))
    for feature, s in usage["series"].items():
        fig.add_trace(go.Bar(x=s["dates"], y=s["events"], name=feature, marker_color=colours.get(feature)))
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


def score_trend_figure(trend: list[dict], scorecard, partial_until=None) -> str:
    """Daily score with the band thresholds of the current scorecard drawn as dashed lines. Days
    marked `partial` (windows reaching before the first usage held) are drawn dotted and grey,
    under a shaded band saying so, instead of as a real drop."""
    fig = go.Figure()
    full = [t["score"] if not t.get("partial") else None for t in trend]
    partial = [t["score"] if t.get("partial") else None for t in trend]
    # The dotted part joins the solid line at the first complete day.
    for i, t in enumerate(trend):
        if not t.get("partial") and i and trend[i - 1].get("partial"):
            partial[i] = t["score"]
    x = [t["as_of"].isoformat() for t in trend]
    if any(p is not None for p in partial):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=partial,
                mode="lines",
                name="partial",
                line={"color": "#9aa5b1", "width": 2, "dash": "dot"},
                hovertemplate="%{x}: %{y} (partial: windows reach before the first usage held)<extra></extra>",
            )
        )
        if partial_until is not None:
            fig.add_vrect(
                x0=x[0],
                x1=partial_until.isoformat(),
                fillcolor="#eef0f3",
                opacity=0.6,
                line_width=0,
                annotation_text="partial history",
                annotation_position="top left",
                annotation_font={"color": "#616e7c", "size": 11},
            )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=full,
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
                y=y,
                line={"dash": "dash", "color": colour, "width": 1},
                annotation_text=label,
                annotation_position="top left",
                annotation_font={"color": colour, "size": 11},
            )
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
