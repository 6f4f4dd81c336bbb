"""The Headline Density chart and its selection state, read back as a UTC range.

The selection shapes below are what Streamlit 1.67 returned in a real browser (chromium,
clicking a bar and dragging along the axis of this chart):

    click a bar:  {"selection": {"slot": [{"slot_start": "2024-09-11T11:00:00Z",
                                           "slot_end": "2024-09-11T17:00:00Z"}]}}
    drag:         {"selection": {"slot": {}, "brush": {"start": [1726161351838, 1726297879876]}}}
    nothing yet:  {"selection": {"brush": {}, "slot": {}}}

A point selection comes as a list of the clicked rows' fields; an interval selection as the
x field's [low, high] in the scale's own values (here wall-clock epoch milliseconds).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import altair as alt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.density import density, density_rows
from lib.model import Headline
from lib.times import usable
from ui.chart import (
    BARS,
    BRUSH,
    CHOSEN,
    FRAME,
    OTHER_COLOUR,
    PALETTE,
    RANK_MARKS,
    SCHEMAS,
    SELECTION_MODE,
    SLOT,
    SPIKE_COLOUR,
    SPIKES,
    arrow_datasets,
    density_spec,
    selected_range,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1)


def wall_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """A wall-clock time as the chart's x values hold it."""
    return int((datetime(year, month, day, hour, minute) - EPOCH) / timedelta(milliseconds=1))


def items(n: int, publications: int = 9) -> list[Headline]:
    # Unequal shares (P0 most, the last fewest), so the leaders stand out: no ties at the cut.
    shares = [k for k in range(publications) for _ in range(publications - k)]
    return [
        Headline(
            f"t{i}",
            None,
            f"P{shares[i % len(shares)]}",
            None,
            NOW - timedelta(seconds=(i * 7919) % (7 * 86_400)),
            "s",
            str(i),
        )
        for i in range(n)
    ]


# --- selected_range ------------------------------------------------------------------------


def test_a_clicked_slot_is_its_utc_bounds() -> None:
    state = {
        "selection": {
            SLOT: [{"slot_start": "2024-09-11T11:00:00Z", "slot_end": "2024-09-11T17:00:00Z"}]
        }
    }
    assert selected_range(state, LONDON) == (
        datetime(2024, 9, 11, 11, tzinfo=UTC),
        datetime(2024, 9, 11, 17, tzinfo=UTC),
    )


def test_a_brush_is_wall_clock_in_the_display_zone() -> None:
    state = {
        "selection": {
            SLOT: {},
            BRUSH: {"start": [wall_ms(2024, 9, 12, 6), wall_ms(2024, 9, 13, 18, 30)]},
        }
    }
    # 06:00 BST is 05:00 UTC.
    assert selected_range(state, LONDON) == (
        datetime(2024, 9, 12, 5, tzinfo=UTC),
        datetime(2024, 9, 13, 17, 30, tzinfo=UTC),
    )
    assert selected_range(state, UTC) == (
        datetime(2024, 9, 12, 6, tzinfo=UTC),
        datetime(2024, 9, 13, 18, 30, tzinfo=UTC),
    )


def test_a_brush_as_iso_text_and_reversed_is_read_too() -> None:
    state = {"selection": {BRUSH: {"start": ["2024-09-13T18:30:00.000Z", "2024-09-12T06:00:00"]}}}
    assert selected_range(state, UTC) == (
        datetime(2024, 9, 12, 6, tzinfo=UTC),
        datetime(2024, 9, 13, 18, 30, tzinfo=UTC),
    )


def test_a_brush_over_the_repeated_hour_takes_both() -> None:
    # 27 Oct 2024: London's clocks went back, so 01:00-02:00 happened twice.
    state = {BRUSH: {"start": [wall_ms(2024, 10, 27, 1), wall_ms(2024, 10, 27, 1, 59)]}}
    assert selected_range(state, LONDON) == (
        datetime(2024, 10, 27, 0, tzinfo=UTC),
        datetime(2024, 10, 27, 1, 59, tzinfo=UTC),
    )


def test_a_drag_wins_over_a_click_and_an_empty_brush_does_not() -> None:
    clicked = [{"slot_start": "2024-09-11T11:00:00Z", "slot_end": "2024-09-11T17:00:00Z"}]
    brush = {"start": [wall_ms(2024, 9, 12), wall_ms(2024, 9, 13)]}
    both = selected_range({"selection": {SLOT: clicked, BRUSH: brush}}, UTC)
    assert both == (datetime(2024, 9, 12, tzinfo=UTC), datetime(2024, 9, 13, tzinfo=UTC))
    flat = {"start": [wall_ms(2024, 9, 12), wall_ms(2024, 9, 12)]}
    assert selected_range({"selection": {SLOT: clicked, BRUSH: flat}}, UTC) == (
        datetime(2024, 9, 11, 11, tzinfo=UTC),
        datetime(2024, 9, 11, 17, tzinfo=UTC),
    )


def test_several_clicked_slots_give_their_span() -> None:
    clicked = [
        {"slot_start": "2024-09-12T11:00:00Z", "slot_end": "2024-09-12T17:00:00Z"},
        {"slot_start": "2024-09-11T05:00:00Z", "slot_end": "2024-09-11T11:00:00Z"},
    ]
    assert selected_range({"selection": {SLOT: clicked}}, UTC) == (
        datetime(2024, 9, 11, 5, tzinfo=UTC),
        datetime(2024, 9, 12, 17, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "state",
    [
        None,
        "slot",
        [],
        {},
        {"selection": None},
        {"selection": {SLOT: {}, BRUSH: {}}},
        {"selection": {SLOT: [], BRUSH: {"start": []}}},
        {"selection": {SLOT: [{"slot_start": "x", "slot_end": "2024-09-11T17:00:00Z"}]}},
        {"selection": {SLOT: [{"slot_start": "2024-09-11T11:00:00"}]}},  # no end, no zone
        {"selection": {SLOT: [{"slot_start": 5, "slot_end": 6}]}},
        {
            "selection": {
                SLOT: [{"slot_start": "2024-09-11T17:00Z", "slot_end": "2024-09-11T11:00Z"}]
            }
        },
        {"selection": {SLOT: ["2024-09-11T11:00:00Z"]}},
        {"selection": {BRUSH: {"start": [1, 2, 3]}}},
        {"selection": {BRUSH: {"start": [float("nan"), 5]}}},
        {"selection": {BRUSH: {"start": [True, 5]}}},
        {"selection": {BRUSH: {"start": [-1e300, 1e300]}}},
        {"selection": {BRUSH: {"start": "2024"}}},
        {"selection": {BRUSH: [1, 2]}},
        {"selection": {BRUSH: {"start": [None, 5]}}},
        # At the calendar's ends: once a range that overflowed when the chip showed it.
        {"selection": {SLOT: [{"slot_start": "0001-01-01T00Z", "slot_end": "0001-01-02T00:00Z"}]}},
        {"selection": {SLOT: [{"slot_start": "9999-12-30T00Z", "slot_end": "9999-12-31T00:00Z"}]}},
        {"selection": {BRUSH: {"start": [-62135596800000, -62135596700000]}}},
        {"selection": {BRUSH: {"start": [253402200000000, 253402300799000]}}},
    ],
)
def test_malformed_state_is_no_range(state: object) -> None:
    assert selected_range(state, LONDON) is None


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=12,
    ),
    st.sampled_from([SLOT, BRUSH, "selection"]),
)
def test_any_state_never_raises(value: object, key: str) -> None:
    for state in (value, {key: value}, {"selection": {key: value}}):
        result = selected_range(state, LONDON)
        assert result is None or (result[0] < result[1] and usable(result[0]) and usable(result[1]))


# --- the chart -----------------------------------------------------------------------------


def spec(data: object, chosen: tuple[datetime, datetime] | None = None) -> dict:
    """The spec the page draws for `data`, after checking it against Vega-Lite's schema."""
    out = density_spec(data, LONDON, chosen)  # type: ignore[arg-type]
    alt.LayerChart.from_dict(json.loads(json.dumps(out)))  # raises when the spec is invalid
    return out


def layer(out: dict, name: str) -> dict:
    """The layer of the spec that draws the dataset `name`."""
    (found,) = [item for item in out["layer"] if item["data"] == {"name": name}]
    return found


def data(out: dict, name: str) -> list[dict]:
    """The rows of one of the chart's datasets."""
    return out["datasets"][name]


def test_an_empty_window_still_draws_its_axes() -> None:
    out = spec(density([], NOW, LONDON, timedelta(days=7)))
    assert data(out, BARS) == [] and SPIKES not in out["datasets"]
    # The frame spans the window (29 six-hour slots) and gives the y axis its top of 1.
    first, last = data(out, FRAME)
    assert last["start"] - first["start"] == 29 * 6 * 3600 * 1000
    assert (first["top"], last["top"]) == (0, 1)
    assert {p["name"] for p in out["params"]} == {SLOT, BRUSH}


def test_bars_stack_by_publication_with_other_last_in_grey() -> None:
    out = spec(density_rows(items(300), NOW, LONDON, timedelta(days=7)))
    bars = data(out, BARS)
    colour = {row["name"]: row["colour"] for row in bars}
    # The legend sorts the colour field: the rank marks put it in rank order, Other last.
    legend = [key[1:] for key in sorted({row["publication"] for row in bars})]
    assert legend[-1] == "Other" and len(legend) == 6
    assert [colour[name] for name in legend] == [*PALETTE[:5], OTHER_COLOUR]
    assert all(row["publication"][0] in RANK_MARKS for row in bars)
    for slot_start in {v["slot_start"] for v in bars}:
        stack = sorted((v for v in bars if v["slot_start"] == slot_start), key=lambda v: v["base"])
        assert stack[0]["base"] == 0 and stack[-1]["top"] == stack[0]["slot_total"]
        assert all(a["top"] == b["base"] for a, b in pairwise(stack))
    encoding = layer(out, BARS)["encoding"]
    tooltips = {t["title"] for t in encoding["tooltip"]}
    assert {"Slot", "Headlines", "Top publications", "This colour"} <= tooltips
    assert encoding["color"]["scale"]["range"] == {"field": "colour"}


def test_the_same_data_gives_the_same_colours() -> None:
    first = spec(density(items(200), NOW, LONDON, timedelta(days=7)))
    again = spec(density(items(200)[::-1], NOW, LONDON, timedelta(days=7)))
    assert {(r["publication"], r["colour"]) for r in data(first, BARS)} == {
        (r["publication"], r["colour"]) for r in data(again, BARS)
    }


def test_times_are_wall_clock_in_the_display_zone() -> None:
    one = [Headline("t", None, "P", None, datetime(2024, 9, 17, 14, 21, tzinfo=UTC), "s", "g")]
    (bar,) = data(spec(density(one, NOW, LONDON, timedelta(days=7))), BARS)
    # 14:21 UTC is 15:21 BST, in the 12:00-18:00 London slot; drawn as 12:00 on a UTC scale.
    assert bar["start"] == wall_ms(2024, 9, 17, 12) and bar["end"] == wall_ms(2024, 9, 17, 18)
    assert (bar["slot_start"], bar["slot_end"]) == ("2024-09-17T11:00:00Z", "2024-09-17T17:00:00Z")
    assert bar["label"] == "12:00–18:00, 17 Sep"


def test_spikes_are_marked_with_a_legend() -> None:
    burst = [
        Headline("t", None, "P", None, NOW - timedelta(hours=30), "s", str(i)) for i in range(9)
    ]
    out = spec(density(items(40) + burst, NOW, LONDON, timedelta(days=7)))
    marks = layer(out, SPIKES)
    assert marks["mark"]["type"] == "point" and marks["mark"]["color"] == SPIKE_COLOUR
    assert marks["encoding"]["shape"]["scale"]["range"] == ["triangle-down"]
    assert marks["transform"] == [{"calculate": "'Spike'", "as": "marker"}]
    (spike,) = data(out, SPIKES)
    assert spike["slot_total"] == max(row["slot_total"] for row in data(out, BARS))
    # The y axis leaves room above the spike for its mark.
    assert data(out, FRAME)[1]["top"] > spike["slot_total"]


def test_ten_thousand_headlines_make_a_small_chart() -> None:
    bars = data(spec(density(items(10_000, 50), NOW, LONDON, timedelta(days=7))), BARS)
    assert len(bars) <= 29 * 6
    assert sum(v["count"] for v in bars) == 10_000


def test_the_spec_is_the_same_for_any_data() -> None:
    """Only the datasets change between draws, so the browser updates the chart's data in
    place instead of embedding a new chart (Streamlit compares the spec's text)."""
    burst = [
        Headline("t", None, "P", None, NOW - timedelta(hours=30), "s", str(i)) for i in range(9)
    ]
    drawn = [
        spec(density(headlines, NOW, LONDON, timedelta(days=7)))
        for headlines in (items(3, 3), items(40) + burst, items(10_000, 50), items(1))
    ]
    shapes = {json.dumps({k: v for k, v in out.items() if k != "datasets"}) for out in drawn}
    assert len(shapes) == 1
    assert len({json.dumps(out["datasets"]) for out in drawn}) == len(drawn)


def test_a_chart_without_bars_has_no_colour_legend() -> None:
    empty = spec(density([], NOW, LONDON, timedelta(days=7)))
    assert layer(empty, BARS)["encoding"]["color"] == {"value": PALETTE[0]}
    some = spec(density(items(3), NOW, LONDON, timedelta(days=7)))
    names = [{"name": CHOSEN}, {"name": BARS}, {"name": FRAME}]
    assert [item["data"] for item in empty["layer"]] == names
    assert empty["layer"][-1] == some["layer"][-1]
    assert set(empty["datasets"]) == {BARS, FRAME, CHOSEN}


def test_the_datasets_go_to_streamlit_as_arrow_with_fixed_columns() -> None:
    import pyarrow as pa  # Streamlit's dependency: reads back what lib.arrowipc wrote

    kinds = {"text": pa.string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
    for headlines in ([], items(300)):
        out = spec(density(headlines, NOW, LONDON, timedelta(days=7)))
        streams = arrow_datasets(out)["datasets"]
        for name, stream in streams.items():
            table = pa.ipc.open_stream(stream).read_all()
            assert table.schema.names == list(SCHEMAS[name])
            assert table.schema.types == [kinds[kind] for kind in SCHEMAS[name].values()]
            assert table.to_pylist() == [
                {key: row[key] for key in SCHEMAS[name]} for row in data(out, name)
            ]
    full = spec(density(items(300), NOW, LONDON, timedelta(days=7)))
    assert arrow_datasets(full)["layer"] == full["layer"]


def _chart_app() -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    import streamlit as st  # noqa: TID251 - an AppTest script of UI code

    from lib.density import density
    from ui.chart import SELECTION_MODE, arrow_datasets, density_spec, selected_range

    zone = ZoneInfo("Europe/London")
    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    event = st.vega_lite_chart(
        arrow_datasets(density_spec(density([], now, zone, timedelta(days=7)), zone)),
        key="density",
        on_select="rerun",
        selection_mode=SELECTION_MODE,
    )
    st.text(repr(dict(event["selection"])))
    st.text(repr(selected_range(event, zone)))


def test_streamlit_accepts_the_selections() -> None:
    from streamlit.testing.v1 import AppTest  # noqa: TID251 - ui/chart.py is UI code

    app = AppTest.from_function(_chart_app).run()
    assert not app.exception
    assert app.text[0].value in ("{'slot': {}, 'brush': {}}", "{'brush': {}, 'slot': {}}")
    assert app.text[1].value == "None"
    assert set(SELECTION_MODE) == {SLOT, BRUSH}


def test_the_range_in_force_is_shaded_and_the_spec_stays_the_same() -> None:
    slots = density(items(300), NOW, LONDON, timedelta(days=7))
    chosen = (datetime(2024, 9, 16, 5, tzinfo=UTC), datetime(2024, 9, 16, 11, tzinfo=UTC))
    shaded, plain = spec(slots, chosen), spec(slots)
    # 06:00–12:00 BST as wall-clock ms (the chart's axis reads in the display zone).
    wall = datetime(2024, 9, 16, 6) - datetime(1970, 1, 1)
    start = wall // timedelta(milliseconds=1)
    assert data(shaded, CHOSEN) == [{"start": start, "end": start + 6 * 3600 * 1000}]
    assert data(plain, CHOSEN) == []
    assert layer(shaded, CHOSEN)["mark"]["type"] == "rect"
    assert {k: v for k, v in shaded.items() if k != "datasets"} == {
        k: v for k, v in plain.items() if k != "datasets"
    }


def test_a_drag_is_widened_to_the_slots_it_touches() -> None:
    from ui.chart import snap_to_slots

    slots = density(items(300), NOW, LONDON, timedelta(days=7))
    dragged = (datetime(2024, 9, 16, 5, 17, tzinfo=UTC), datetime(2024, 9, 16, 13, 59, tzinfo=UTC))
    start, end = snap_to_slots(dragged, slots)
    # Slots are six hours of London time: 06:00–12:00 and 12:00–18:00 BST are touched.
    assert (start, end) == (
        datetime(2024, 9, 16, 5, tzinfo=UTC),
        datetime(2024, 9, 16, 17, tzinfo=UTC),
    )
    assert snap_to_slots((start, end), slots) == (start, end)  # slot edges stay
    outside = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC))
    assert snap_to_slots(outside, slots) == outside
