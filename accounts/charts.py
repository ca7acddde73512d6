"""Plotly figures for account pages: plain data in, figure JSON out; no queries."""

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
