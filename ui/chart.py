"""The Headline Density chart, a Vega-Lite spec made with Altair from `lib.density`, and
what its selection means.

The page draws it with selections on, and turns what the viewer picked into a time range:

    event = st.vega_lite_chart(
        arrow_datasets(density_spec(slots, zone)), width="stretch", key="density",
        on_select="rerun", selection_mode=SELECTION_MODE,
    )
    chosen = selected_range(event, zone)  # (start, end) in UTC, or None

The spec is the same text on every draw with bars and the rows go in named datasets, so
Streamlit's frontend (its `useVegaEmbed`: a new embed only when the spec's text, its
selection modes or its sizing change) hands the drawn view its new rows instead of
compiling and embedding a new chart.

Clicking a bar selects its slot (point selection `SLOT`); dragging along the time axis
selects a range (interval selection `BRUSH`); a double click clears either.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import altair as alt

from lib.arrowipc import Kind, ipc_stream
from lib.density import DensityRow, Slot, slot_rows
from lib.times import iso_z, read_iso_time, read_iso_wall, usable

SLOT = "slot"  # the point selection: the slot of the bar clicked
BRUSH = "brush"  # the interval selection: a range dragged along the time axis
SELECTION_MODE = (SLOT, BRUSH)

# The colours of the top publications, in rank order, then grey for the rest.
PALETTE = ("#1a3d7c", "#4c8fd6", "#e0892b", "#3a9a6a", "#9b5fb5", "#c9a227", "#2aa3a3")
OTHER_COLOUR = "#b5bac2"
SPIKE_COLOUR = "#c62828"
SPIKE_LEGEND = "Spike"
DESCRIPTION = (
    "Headline Density: a bar chart of how many headlines were published in each time slot "
    "of the last 7 days, each bar split by publication. The headline list below holds the same "
    "headlines."
)
SPIKE_NOTE = "▼ marks a spike: a slot with far more headlines than is usual in this window."

_EPOCH = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)
# Instants Python can hold; selection values outside this are malformed.
_MIN_MS, _MAX_MS = -62135596800000, 253402300799000


def _wall_ms(moment: datetime, zone: tzinfo) -> int:
    """`moment`'s wall-clock time in `zone`, written as if it were UTC, in epoch ms.

    Vega-Lite shows real instants in the *viewer's* zone, which may not be the display zone
    the page chose. A wall-clock time on a UTC scale is drawn exactly as written, so the
    axis reads in the display zone. A number rather than a date-time string, so no browser
    date parsing (which reads a string without an offset as local time) is involved.
    """
    return (moment.astimezone(zone).replace(tzinfo=None) - _EPOCH) // _MS


def _rows(data: Sequence[Slot] | Sequence[DensityRow], zone: tzinfo) -> list[DensityRow]:
    if data and isinstance(data[0], Slot):
        return slot_rows([s for s in data if isinstance(s, Slot)], zone)
    return [row for row in data if isinstance(row, dict)]  # type: ignore[misc]


def _chart_values(rows: Sequence[DensityRow], zone: tzinfo) -> list[dict[str, Any]]:
    """The rows as Vega-Lite values, stacked: each segment from `base` to `top`.

    Stacked here rather than by Vega-Lite: a bar with both x and x2 counts as ranged on x,
    and Vega-Lite then draws y as a thin tick instead of stacking it. An empty slot keeps a
    zero-height row, so the time axis always spans the whole window (an explicit temporal
    domain would do it too, but Vega-Lite warns that x and x2 disagree on it).
    """
    values: list[dict[str, Any]] = []
    stacked: dict[int, int] = {}  # per slot, how high its bar is stacked so far
    for row in sorted(rows, key=lambda r: (r["start"], r["rank"])):
        start = _wall_ms(row["start"], zone)
        base = stacked.get(start, 0)
        stacked[start] = base + row["count"]
        values.append(
            {
                "start": start,
                "end": _wall_ms(row["end"], zone),
                "slot_start": iso_z(row["start"]),
                "slot_end": iso_z(row["end"]),
                "label": row["label"],
                "publication": row["publication"],
                "count": row["count"],
                "base": base,
                "top": base + row["count"],
                "slot_total": row["slot_total"],
                "is_spike": row["is_spike"],
                "top_publications": row["top_publications"],
            }
        )
    return values


def _colours(rows: Sequence[DensityRow]) -> tuple[list[str], list[str]]:
    """The colour scale: publications in rank order, OTHER last in grey."""
    ranks: dict[str, int] = {}
    others: set[str] = set()
    for row in rows:
        name = row["publication"]
        if name is not None and row["count"] > 0:
            ranks.setdefault(name, row["rank"])
            if row["is_other"]:
                others.add(name)
    domain = sorted(ranks, key=lambda name: (name in others, ranks[name]))
    colours = [
        OTHER_COLOUR if name in others else PALETTE[i % len(PALETTE)]
        for i, name in enumerate(domain)
    ]
    return domain, colours


# The chart's data, by dataset name (`density_spec`); the spec itself never changes.
BARS, SPIKES, FRAME, CHOSEN = "bars", "spikes", "frame", "chosen"
# Each dataset's columns, in order, and their Arrow kinds (fixed, so an empty dataset has
# them too).
SCHEMAS: dict[str, dict[str, Kind]] = {
    BARS: {
        "start": "float", "end": "float", "slot_start": "text", "slot_end": "text",
        "label": "text", "publication": "text", "name": "text", "colour": "text",
        "count": "int", "base": "int", "top": "int", "slot_total": "int", "is_spike": "bool",
        "top_publications": "text",
    },
    SPIKES: {"mid": "float", "label": "text", "slot_total": "int", "top_publications": "text"},
    FRAME: {"start": "float", "top": "int"},
    CHOSEN: {"start": "float", "end": "float"},
}  # fmt: skip
CHOSEN_COLOUR = "#2f6fde"  # the range in force, shaded behind the bars
# The colour field is the publication behind an invisible mark of its rank: Vega-Lite sorts
# a legend (and the colours taken from the data) by that text, so these marks, in rising
# code point order, put the legend in rank order, OTHER last. They are default-ignorable
# characters: nothing shows them, and the legend drops them anyway.
RANK_MARKS = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064"


@functools.cache
def _template(coloured: bool = True) -> dict[str, Any]:
    """The chart's Vega-Lite spec, without its data: the same for every draw with bars
    (`coloured`); a chart with no bar at all has no colour legend and no spike layer (their
    empty legends would keep room above an empty chart).

    Streamlit's frontend draws a chart whose spec is byte-identical to the last one by
    handing the view its new datasets (a fraction of a new embed: no Vega-Lite compile, no
    new view), so nothing here depends on the data. The colours come from the data (each
    bar row carries its publication's colour; the legend lists the colour keys in rank
    order, without the rank), the y axis's headroom and the x axis's span from the FRAME
    dataset, and the spike legend appears only when there is a spike row.

    Altair builds and validates a chart in tens of milliseconds (most of it jsonschema), so
    the spec is made once. The tests validate it against Vega-Lite's schema; here Altair's
    debug validation is off, so the server never loads that schema.
    """
    # Day and hour; the day alone on a phone's narrow plot, and no label past its edges.
    x_axis = alt.Axis(
        title=None,
        format="%d %b %H:%M",
        labelExpr="width < 420 ? utcFormat(datum.value, '%d %b') : datum.label",
        labelAngle=0,
        tickCount=7,
        labelFlush=True,
        labelBound=True,
    )
    y_axis = alt.Axis(title="Headlines", tickMinStep=1)
    with alt.utils.schemapi.debug_mode(False):
        slot = alt.selection_point(
            name=SLOT, fields=["slot_start", "slot_end"], toggle=False, clear="dblclick"
        )
        brush = alt.selection_interval(name=BRUSH, encodings=["x"], clear="dblclick")
        colour: Any = alt.value(PALETTE[0])
        if coloured:
            colour = alt.Color(
                "publication:N",
                scale=alt.Scale(range=alt.FieldRange(field="colour")),
                # Two or three rows rather than one that runs off the right edge.
                # Four columns, two on a phone's narrow plot, names cut short with "…"
                # there rather than past the chart's edge.
                legend=alt.Legend(
                    title=None,
                    orient="top",
                    symbolType="square",
                    columns={"expr": "width < 420 ? 2 : 4"},
                    labelLimit={"expr": "width < 420 ? 125 : 200"},
                    labelExpr="substring(datum.label, 1)",
                ),
            )
        bars = (
            alt.Chart(alt.NamedData(name=BARS))
            .mark_bar()
            .encode(
                x=alt.X("start:T", scale=alt.Scale(type="utc"), axis=x_axis),
                x2="end:T",
                y=alt.Y("top:Q", scale=alt.Scale(nice=True), axis=y_axis),
                y2="base:Q",
                color=colour,
                opacity=alt.when(slot & brush).then(alt.value(1.0)).otherwise(alt.value(0.4)),
                tooltip=[
                    alt.Tooltip("label:N", title="Slot"),
                    alt.Tooltip("slot_total:Q", title="Headlines"),
                    alt.Tooltip("top_publications:N", title="Top publications"),
                    alt.Tooltip("name:N", title="This colour"),
                    alt.Tooltip("count:Q", title="Its headlines"),
                ],
            )
            .add_params(slot, brush)
        )
        spikes = (
            alt.Chart(alt.NamedData(name=SPIKES))
            .mark_point(filled=True, size=70, yOffset=-8, color=SPIKE_COLOUR, opacity=1)
            .encode(
                x=alt.X("mid:T"),  # shares the bars' scale
                y=alt.Y("slot_total:Q"),
                shape=alt.Shape(
                    "marker:N",
                    scale=alt.Scale(range=["triangle-down"]),
                    legend=alt.Legend(
                        title=None,
                        orient="top",
                        symbolFillColor=SPIKE_COLOUR,
                        symbolStrokeColor=SPIKE_COLOUR,
                    ),
                ),
                tooltip=[
                    alt.Tooltip("label:N", title="Spike"),
                    alt.Tooltip("slot_total:Q", title="Headlines"),
                    alt.Tooltip("top_publications:N", title="Top publications"),
                ],
            )
            .transform_calculate(marker=f"'{SPIKE_LEGEND}'")
        )
        # Two invisible points: the window's first and last instant, the second at the y
        # axis's top (room above the highest bar for its spike mark; 1 when empty).
        frame = (
            alt.Chart(alt.NamedData(name=FRAME))
            .mark_point(size=0, opacity=0)
            .encode(
                x=alt.X("start:T", scale=alt.Scale(type="utc"), axis=x_axis),
                y=alt.Y("top:Q", scale=alt.Scale(nice=True), axis=y_axis),
            )
        )
        # The range in force (chosen on the chart or given by a link), shaded behind the
        # bars: a link's range is seen, not only a range the viewer dragged just now.
        chosen = (
            alt.Chart(alt.NamedData(name=CHOSEN))
            .mark_rect(color=CHOSEN_COLOUR, opacity=0.12)
            .encode(x=alt.X("start:T", scale=alt.Scale(type="utc"), axis=x_axis), x2="end:T")
        )
        # Streamlit fits the whole chart, legend and axes included, into this height.
        # No bars, no spikes: the spike layer (and its empty legend's room) goes too.
        layers = [chosen, bars, spikes, frame] if coloured else [chosen, bars, frame]
        # The description is the chart's text alternative: Vega puts it on the SVG.
        chart = alt.layer(*layers).properties(height=190, description=DESCRIPTION)
        return chart.to_dict(validate=False)


def density_spec(
    data: Sequence[Slot] | Sequence[DensityRow],
    zone: tzinfo,
    chosen: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """Bars per slot stacked by publication, spikes marked, times wall-clock in `zone`.

    `data` is `lib.density.density(...)` slots or `density_rows(...)` rows; the result is a
    Vega-Lite spec for `st.vega_lite_chart` whose top-level `datasets` (BARS, SPIKES, FRAME)
    hold the rows (lists of dicts; `arrow_datasets` turns them into the Arrow tables
    Streamlit sends); everything else is the same for every draw (`_template`). The chart
    has the point selection `SLOT` (fields `slot_start`, `slot_end`: the slot's UTC bounds
    as ISO text) and the interval selection `BRUSH` (on x, in wall-clock epoch ms); read
    them with `selected_range`. Spike slots get a red triangle above the bar, with its own
    legend entry. `chosen`, the UTC range in force, is shaded (dataset CHOSEN).

    Publication names go in as they are: Vega draws legend and axis labels as SVG text and
    its tooltip escapes HTML, so they are plain text there (`literal_markdown`'s escapes
    would show as backslashes).
    """
    rows = _rows(data, zone)
    values = _chart_values(rows, zone)
    spikes: dict[float, dict[str, Any]] = {}
    for value in values:
        if value["is_spike"] and value["start"] not in spikes:
            spikes[value["start"]] = {
                "mid": (value["start"] + value["end"]) // 2,
                **{key: value[key] for key in ("label", "slot_total", "top_publications")},
            }
    domain, colours = _colours(rows)
    colour_of = dict(zip(domain, colours, strict=True))
    rank_of = {name: rank for rank, name in enumerate(domain)}
    bars = []
    for value in values:
        name = value["publication"]
        if name is None or not value["count"]:
            continue  # an empty slot: the FRAME spans the axis
        row = {key: value[key] for key in SCHEMAS[BARS] if key in value}
        row["publication"] = RANK_MARKS[rank_of[name]] + name
        row["name"] = name
        row["colour"] = colour_of[name]
        bars.append(row)
    highest = max((row["slot_total"] for row in rows), default=0)
    first = min((value["start"] for value in values), default=0)
    last = max((value["end"] for value in values), default=0)
    spec = copy.deepcopy(_template(bool(bars)))
    spec["datasets"] = {
        BARS: bars,
        **({SPIKES: list(spikes.values())} if bars else {}),
        CHOSEN: (
            [{"start": _wall_ms(chosen[0], zone), "end": _wall_ms(chosen[1], zone)}]
            if chosen
            else []
        ),
        # Room above the highest bar for its spike mark; an empty window still draws its axes.
        FRAME: [
            {"start": first, "top": 0},
            {"start": last, "top": max(1, round(highest * 1.15 + 0.5))},
        ],
    }
    return spec


def arrow_datasets(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with its datasets as Arrow IPC bytes of fixed columns (`SCHEMAS`), which
    Streamlit sends as they are (`lib.arrowipc`: no pyarrow or pandas in the server)."""
    streams = {name: ipc_stream(SCHEMAS[name], rows) for name, rows in spec["datasets"].items()}
    return {**spec, "datasets": streams}


def _as_wall(value: object) -> datetime | None:
    """A selection bound (epoch ms, or ISO text) as a naive wall-clock time, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if not _MIN_MS <= value <= _MAX_MS:  # also refuses NaN
            return None
        return _EPOCH + timedelta(milliseconds=value)
    if isinstance(value, str):
        # A wall-clock time labelled UTC (as Vega writes a Date) stays as written.
        return read_iso_wall(value)
    return None


def _as_utc(value: object) -> datetime | None:
    """A slot bound of the point selection (UTC ISO text) as an aware UTC datetime."""
    return read_iso_time(value, naive_is_utc=False)


def _localize(wall: datetime, zone: tzinfo, fold: int) -> datetime:
    return wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def _brush_range(brush: object, zone: tzinfo) -> tuple[datetime, datetime] | None:
    if not isinstance(brush, Mapping):
        return None
    for bounds in brush.values():
        if not isinstance(bounds, list | tuple) or len(bounds) != 2:
            continue
        first, second = _as_wall(bounds[0]), _as_wall(bounds[1])
        if first is None or second is None:
            continue
        low, high = min(first, second), max(first, second)
        try:
            # An hour that happens twice (clocks going back): take all of both.
            start, end = _localize(low, zone, 0), _localize(high, zone, 1)
        except (OverflowError, ValueError):
            continue
        if start < end:
            return start, end
    return None


def _slot_range(points: object) -> tuple[datetime, datetime] | None:
    if not isinstance(points, list | tuple):
        return None
    starts, ends = [], []
    for point in points:
        if not isinstance(point, Mapping):
            continue
        start, end = _as_utc(point.get("slot_start")), _as_utc(point.get("slot_end"))
        if start is not None and end is not None and start < end:
            starts.append(start)
            ends.append(end)
    if not starts:
        return None
    return min(starts), max(ends)


def snap_to_slots(
    picked: tuple[datetime, datetime], slots: Sequence[Slot]
) -> tuple[datetime, datetime]:
    """A dragged range widened to the edges of the slots it touches (the bars it covers,
    wholly or in part), so its bounds read as the chart's own ("12:00 16 Sep", not
    "16:17"). A range outside every slot is kept as it is."""
    start, end = picked
    touched = [slot for slot in slots if slot.start < end and start < slot.end]
    if not touched:
        return picked
    return min(slot.start for slot in touched), max(slot.end for slot in touched)


def selected_range(state: object, zone: tzinfo) -> tuple[datetime, datetime] | None:
    """The UTC range [start, end) the viewer picked on the chart, or None.

    `state` is what `st.altair_chart(..., on_select="rerun")` returned (or its `selection`
    part): `{"selection": {"slot": [{"slot_start": ..., "slot_end": ...}], "brush":
    {"start": [low, high]}}}`. A dragged range wins over a clicked slot (a click also leaves
    an empty brush behind); several clicked slots give the span from the first to the last.
    `zone` is the display zone the chart was drawn in. Malformed state gives None.
    """
    try:
        if not isinstance(state, Mapping):
            return None
        selection = state.get("selection", state)
        if not isinstance(selection, Mapping):
            return None
        picked = _brush_range(selection.get(BRUSH), zone) or _slot_range(selection.get(SLOT))
    except Exception:  # the state comes from the browser: never fail the page over it
        return None
    # A tampered selection at the calendar's ends would overflow when shown in the zone.
    return picked if picked and usable(picked[0]) and usable(picked[1]) else None
