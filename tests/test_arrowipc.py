"""lib.arrowipc against pyarrow's reader (Streamlit's own dependency)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.arrowipc import ipc_stream

COLUMNS = {"text": "text", "float": "float", "int": "int", "bool": "bool"}
TYPES = [pa.string(), pa.float64(), pa.int64(), pa.bool_()]

row = st.fixed_dictionaries(
    {
        "text": st.text(),
        "float": st.floats(allow_nan=False),
        "int": st.integers(-(2**63), 2**63 - 1),
        "bool": st.booleans(),
    }
)


@given(st.lists(row, max_size=40))
def test_pyarrow_reads_back_every_row(rows: list[dict[str, object]]) -> None:
    table = pa.ipc.open_stream(ipc_stream(COLUMNS, rows)).read_all()
    assert table.schema.names == list(COLUMNS) and table.schema.types == TYPES
    assert table.to_pylist() == rows


def test_an_empty_table_keeps_its_columns() -> None:
    table = pa.ipc.open_stream(ipc_stream({"a": "float", "b": "text"}, [])).read_all()
    assert table.num_rows == 0 and table.schema.names == ["a", "b"]


def test_the_stream_is_aligned_and_ends_with_the_end_marker() -> None:
    stream = ipc_stream(COLUMNS, [{"text": "é", "float": 1.0, "int": 2, "bool": True}])
    assert len(stream) % 8 == 0 and stream.endswith(b"\xff\xff\xff\xff\0\0\0\0")


def test_a_missing_value_is_refused() -> None:
    with pytest.raises(KeyError):
        ipc_stream({"a": "int"}, [{"b": 1}])
