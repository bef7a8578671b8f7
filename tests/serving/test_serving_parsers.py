"""Property tests of the tabular fast path against pandas and MLflow's own schema enforcement."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.models.utils import _enforce_schema
from mlflow.pyfunc.scoring_server import infer_and_parse_data
from mlflow.types import ColSpec, Schema

from serving.errors import ServingError
from serving.protocols.mlflow_scoring import parse_content_type
from serving.tabular import TabularSchema

SCHEMA = Schema([ColSpec("long", "count"), ColSpec("double", "amount"), ColSpec("string", "label"),
                 ColSpec("boolean", "flag")])
TABLE = TabularSchema.from_mlflow(SCHEMA)
row = st.fixed_dictionaries({
    "count": st.integers(-2**63, 2**63 - 1),
    "amount": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-2**53, 2**53), st.none()),
    "label": st.text(max_size=8),
    "flag": st.booleans(),
})
rows = st.lists(row, min_size=1, max_size=20)


@given(rows)
def test_records_build_the_frame_mlflows_scoring_server_would_predict_on(records):
    ours = TABLE.frame([TABLE.from_records(records)])
    theirs = _enforce_schema(infer_and_parse_data({"dataframe_records": records}, SCHEMA), SCHEMA)
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=True)


@given(rows)
def test_split_and_records_and_columns_agree(records):
    names = list(TABLE.names)
    by_records = TABLE.frame([TABLE.from_records(records)])
    by_split = TABLE.frame([TABLE.from_split(names, [[r[n] for n in names] for r in records])])
    by_columns = TABLE.frame([TABLE.check({n: [r[n] for r in records] for n in names})])
    pd.testing.assert_frame_equal(by_records, by_split)
    pd.testing.assert_frame_equal(by_records, by_columns)


@given(st.lists(rows, min_size=1, max_size=5))
def test_joined_requests_equal_one_request_with_all_rows(requests):
    joined = TABLE.frame([TABLE.from_records(part) for part in requests])
    whole = TABLE.frame([TABLE.from_records([r for part in requests for r in part])])
    pd.testing.assert_frame_equal(joined, whole)


anything = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                     max_size=3), max_leaves=8)


@given(rows, st.sampled_from(list(TABLE.names)), anything)
def test_any_value_is_either_accepted_as_its_column_type_or_refused_with_400(records, column, value):
    records = [dict(records[0], **{column: value})]
    try:
        frame = TABLE.frame([TABLE.from_records(records)])
    except ServingError as error:
        assert error.status == 400 and column in error.message
    else:
        _enforce_schema(frame, SCHEMA)  # whatever passes our checks also passes MLflow's


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_any_content_type_header_is_a_supported_type_or_a_415(header):
    try:
        assert parse_content_type(header) in {"text/csv", "application/json", "application/vnd.apache.parquet"}
    except ServingError as error:
        assert error.status == 415


@pytest.mark.parametrize("schema", [
    None,
    Schema([ColSpec("datetime", "when")]),
    Schema([ColSpec("long", "count", required=False)]),
])
def test_schemas_the_fast_path_cannot_serve_go_to_mlflows_parser(schema):
    assert TabularSchema.from_mlflow(schema) is None
