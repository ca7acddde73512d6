"""Plotly figures for segment pages: plain data in, figure JSON out; no queries."""

import plotly.graph_objects as go
from plotly.subplots import make_subplots


def members_over_time_figure(weeks: list, lines: list[tuple[str, list[int]]]) -> str:
    """One line of members per segment, at each week end."""
    x = [d.isoformat() for d in weeks]
    fig = go.Figure()
    for name, members in lines:
        fig.add_trace(go.Scatter(x=x, y=members, name=name, mode="lines"))
    fig.update_layout(
        height=360,
        margin={"l": 50, "r": 10, "t": 10, "b": 30},
        legend={"orientation": "h", "y": -0.15},
        yaxis={"title": {"text": "members"}, "rangemode": "tozero"},
        xaxis={"type": "date"},
    )
    return fig.to_json()


def segment_flow_figure(weeks: list, series: dict) -> str:
    """Members at each week end (top) over the accounts that entered (up) and left (down) that week."""
    x = [d.isoformat() for d in weeks]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.06)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=series["members"],
            name="Members",
            mode="lines+markers",
            line={"color": "#1f2a44"},
            marker={"size": 4},
        ),
        row=1,
        col=1,
    )
    fig.add_trace(go.Bar(x=x, y=series["entered"], name="Entered", marker_color="#2e9d5b"), row=2, col=1)
    fig.add_trace(
        go.Bar(
            x=x,
            y=[-n for n in series["left"]],
            name="Left",
            marker_color="#d64545",
            customdata=series["left"],
            hovertemplate="%{customdata} left<extra></extra>",
        ),
        row=2,
        col=1,
    )
    fig.update_yaxes(title_text="members", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="per week", row=2, col=1)
    fig.update_layout(
        height=400,
        margin={"l": 50, "r": 10, "t": 10, "b": 30},
        legend={"orientation": "h", "y": -0.12},
        barmode="relative",
    )
    return fig.to_json()
