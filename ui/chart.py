"""The Headline Density chart (Altair), drawn from `lib.density` slots."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

import altair as alt

from lib.density import Slot

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def density_chart(slots: Sequence[Slot], zone: tzinfo) -> alt.Chart:
    """A bar per slot; times are wall-clock times in `zone`."""
    rows = []
    for slot in slots:
        start = slot.start.astimezone(zone)
        end = slot.end.astimezone(zone)
        rows.append(
            {
                # Vega-Lite would shift real instants into the viewer's zone; a wall-clock
                # time on a UTC scale is drawn exactly as written, in the display zone.
                "start": start.strftime("%Y-%m-%dT%H:%M:%S"),
                "end": end.strftime("%Y-%m-%dT%H:%M:%S"),
                "slot": f"{start:%H:%M}–{end:%H:%M}, {start.day} {_MONTHS[start.month - 1]}",
                "headlines": slot.count,
            }
        )
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(color="#1a3d7c")
        .encode(
            x=alt.X(
                "start:T",
                scale=alt.Scale(type="utc"),
                axis=alt.Axis(title=None, format="%d %b %H:%M", labelAngle=0, tickCount=7),
            ),
            x2="end:T",
            y=alt.Y("headlines:Q", axis=alt.Axis(title="Headlines", tickMinStep=1)),
            y2=alt.datum(0),
            tooltip=[alt.Tooltip("slot:N", title="Slot"), alt.Tooltip("headlines:Q")],
        )
        .properties(height=130)
    )
