"""The fast path for models whose signature is a table of named scalar columns.

The schema is compiled once at load time; a request is checked value by value in plain Python
and kept as columns of lists, so requests can be joined by list concatenation and one typed
DataFrame is built per model call, not per request.  What this path does not recognise goes
through MLflow's own parser instead (see protocols.mlflow_scoring).
"""

import math
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from serving.errors import ServingError, bad_request, invalid_input

if TYPE_CHECKING:
    from mlflow.types import Schema

# What pandas makes of a column of Python strings: `str` from pandas 3, object before.  Strings are built
# with it directly, which saves inferring it again on every request.
STRING_DTYPE = pd.Series(np.array(["a"], dtype=object)).dtype


@dataclass(frozen=True)
class ColumnKind:
    dtype: np.dtype | pd.api.extensions.ExtensionDtype
    accepts: tuple[type, ...]
    nullable: bool
    label: str

    @cached_property
    def plain_types(self) -> frozenset[type]:
        """The value types taken as they are, without a closer look: null too where the column is nullable."""
        return frozenset(self.accepts + ((type(None),) if self.nullable else ()))

    @property
    def integer_bounds(self) -> tuple[int, int] | None:
        if self.dtype.kind != "i":
            return None
        info = np.iinfo(self.dtype)
        return int(info.min), int(info.max)


# bool is a subclass of int in Python: the checks below compare exact types so True is no integer.
KINDS = {
    "long": ColumnKind(np.dtype("int64"), (int,), False, "long"),
    "integer": ColumnKind(np.dtype("int32"), (int,), False, "integer"),
    "double": ColumnKind(np.dtype("float64"), (float, int), True, "double"),
    "float": ColumnKind(np.dtype("float32"), (float, int), True, "float"),
    "string": ColumnKind(STRING_DTYPE, (str,), True, "string"),
    "boolean": ColumnKind(np.dtype("bool"), (bool,), False, "boolean"),
}
STRING = KINDS["string"]


@dataclass(frozen=True)
class TabularInput:
    """One request's rows, as a list of values per schema column."""

    columns: dict[str, list[Any]]
    rows: int


@dataclass(frozen=True)
class TabularSchema:
    names: tuple[str, ...]
    kinds: tuple[ColumnKind, ...]
    bounds: tuple[tuple[int, int] | None, ...]

    @classmethod
    def from_mlflow(cls, schema: "Schema | None") -> "TabularSchema | None":
        """None unless every input is a required, named column of a basic scalar type."""
        if schema is None or not schema.has_input_names() or schema.is_tensor_spec():
            return None
        names, kinds = [], []
        for spec in schema.inputs:
            kind = KINDS.get(getattr(getattr(spec, "type", None), "name", ""))
            if kind is None or not spec.required:
                return None
            assert spec.name is not None, "has_input_names() holds for every input"
            names.append(spec.name)
            kinds.append(kind)
        return cls(tuple(names), tuple(kinds), tuple(kind.integer_bounds for kind in kinds))

    @cached_property
    def column_index(self) -> pd.Index:
        return pd.Index(self.names)

    @cached_property
    def name_list(self) -> list[str]:
        return list(self.names)

    def check(self, columns: dict[str, list[Any]]) -> TabularInput:
        missing = [name for name in self.names if name not in columns]
        if missing:
            extra = [name for name in columns if name not in self.names]
            raise invalid_input(f"Model is missing inputs {missing}. Note that there were extra inputs: {extra}.")
        picked = [columns[name] for name in self.names]
        lengths = {len(values) for values in picked}
        if len(lengths) != 1:
            raise invalid_input(f"All columns must have the same number of rows; got lengths {sorted(lengths)}.")
        return self._checked(picked, lengths.pop())

    def _checked(self, columns: list[list[Any]], rows: int) -> TabularInput:
        """The columns, one per schema name in its order, once every value fits its column."""
        for name, kind, bounds, values in zip(self.names, self.kinds, self.bounds, columns, strict=True):
            # The value types are collected in C; a closer look per value only when one is not plainly right.
            if not set(map(type, values)) <= kind.plain_types:
                _check_values(name, kind, bounds, values)
            if bounds is not None and values:
                _check_bounds(name, kind, bounds, values)
        return TabularInput(dict(zip(self.names, columns, strict=True)), rows)

    def from_records(self, records: list[Any]) -> TabularInput:
        if not all(type(record) is dict for record in records):
            raise invalid_input("Every record must be a JSON object mapping column names to values.")
        present = {key for record in records for key in record}
        # A key absent from some records is null there, as when pandas builds a frame from records.
        columns = {name: [record.get(name) for record in records] for name in self.names if name in present}
        columns.update((key, []) for key in present - set(self.names))
        return self.check(columns)

    def from_split(self, column_names: list[Any], data: list[Any]) -> TabularInput:
        in_schema_order = column_names == self.name_list  # the usual request: no names to match up
        if not in_schema_order and len(set(column_names)) != len(column_names):
            raise bad_request(f"Column names must be unique; got {column_names}.")
        width = len(column_names)
        if not all(type(row) is list and len(row) == width for row in data):
            raise invalid_input(f"Every row of 'data' must be a list of {width} values, one per column.")
        # Transposed by zip in C: a comprehension per column cost 100-row requests a Python loop per value.
        columns = [list(column) for column in zip(*data, strict=True)] if data else [[] for _ in column_names]
        if in_schema_order:
            return self._checked(columns, len(data))
        return self.check(dict(zip(column_names, columns, strict=True)))

    def frame(self, parts: list[TabularInput]) -> pd.DataFrame:
        """One typed DataFrame holding the rows of every part, in order.

        Built with pandas' `_from_arrays`, which takes the columns as they are.  `pd.DataFrame(dict)` would
        check and convert each one again: 0.25 ms of a lone request's 0.3 ms here.  The parity tests compare
        the result with the frame MLflow's schema enforcement makes, so a change in pandas shows there."""
        arrays = []
        for name, kind in zip(self.names, self.kinds, strict=True):
            values = parts[0].columns[name] if len(parts) == 1 else list(chain.from_iterable(
                part.columns[name] for part in parts))
            arrays.append(pd.array(values, dtype=kind.dtype) if kind is STRING else np.array(values, dtype=kind.dtype))
        index = pd.RangeIndex(len(arrays[0]))
        return pd.DataFrame._from_arrays(arrays, columns=self.column_index, index=index, verify_integrity=False)


class Unconverted(ServingError):
    """A value this path does not convert, though MLflow's parser might (a numeric string, a boolean in a number
    column): the scoring protocol hands the request to MLflow's parser, the V2 protocol answers this 400."""


def _check_values(name: str, kind: ColumnKind, bounds: tuple[int, int] | None, values: list[Any]) -> None:
    """Each value that is not plainly of its column's type: accepted where MLflow converts it exactly, else refused."""
    whole_floats_allowed = bounds is not None
    for value in values:
        if type(value) in kind.accepts or (value is None and kind.nullable):
            continue
        if whole_floats_allowed and type(value) is float and math.isfinite(value):
            if value.is_integer():  # MLflow casts 2.0 to an integer column
                continue
            raise invalid_input(f"Incompatible input types for column {name}. Can not safely convert {value} to "
                                f"{kind.label}: it is not a whole number, which MLflow would truncate.")
        if kind is STRING and type(value) in (int, float, bool):
            raise invalid_input(f"Incompatible input types for column {name}. A {type(value).__name__} in a string "
                                "column would reach the model unconverted; send it as a string.")
        shown = "null" if value is None else type(value).__name__
        raise Unconverted(400, "INVALID_PARAMETER_VALUE",
                          f"Incompatible input types for column {name}. Can not safely convert {shown} to {kind.label}.")


def _check_bounds(name: str, kind: ColumnKind, bounds: tuple[int, int], values: list[Any]) -> None:
    low, high = bounds
    smallest, largest = min(values), max(values)  # in C: a generator over 100 values cost 5x more
    # A float at a bound may be an integer past it that the JSON parser rounded to a float: refused too.
    at_a_bound = smallest in (low, high) or largest in (low, high)
    if smallest < low or largest > high or (at_a_bound and any(type(v) is float and v in (low, high) for v in values)):
        raise bad_request(f"Column {name} has a value outside the range of {kind.label}, which MLflow would "
                          "wrap around or refuse.")
