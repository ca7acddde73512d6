"""The backtest's figure: churn rate by band per scorecard (plain data in, figure JSON out)."""

import plotly.graph_objects as go

from dashboards.charts import BAND_COLOURS, BAND_LABELS


def churn_by_band_figure(rows: list[dict], horizon: int) -> str:
    """Grouped bars: per scorecard, the % of each band's observations that churned within the horizon."""
    names = [r["scorecard"] for r in rows]
    fig = go.Figure()
    for band in ("healthy", "neutral", "at_risk"):
        rates = [r["bands"][band]["churn_rate"] for r in rows]
        fig.add_trace(
            go.Bar(
                x=names,
                y=[None if x is None else round(100 * x, 2) for x in rates],
                name=BAND_LABELS[band],
                marker_color=BAND_COLOURS[band],
                customdata=[r["bands"][band]["observations"] for r in rows],
                hovertemplate="%{x}: %{y}% of %{customdata} observations churned<extra>"
                + BAND_LABELS[band]
                + "</extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        height=340,
        margin={"l": 60, "r": 10, "t": 10, "b": 60},
        legend={"orientation": "h", "y": -0.25},
        yaxis={"title": {"text": f"churned within {horizon} days (%)"}, "rangemode": "tozero"},
    )
    return fig.to_json()
