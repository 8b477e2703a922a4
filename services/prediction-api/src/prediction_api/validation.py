"""Request bodies checked against the model's signature: a bad request gets a 4xx naming the field."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

# MLflow's column types (mlflow.types.DataType), what JSON must carry for each, and the dtype
# MLflow's schema enforcement accepts for it (it refuses a narrowing cast, such as int64 to int32).
INTEGRAL = {"integer", "long"}
REAL = {"float", "double"}
NUMERIC = INTEGRAL | REAL | {"boolean"}
DTYPES = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32", "boolean": "bool", "string": "object"}


@dataclass(frozen=True)
class Feature:
    """One input column of the model's signature."""

    name: str
    kind: str
    required: bool = True


class RequestError(Exception):
    """A request the service refuses; `missing` counts the absent values it saw first (for the metrics)."""

    def __init__(self, status: int, where: str, message: str, missing: Counter | None = None) -> None:
        super().__init__(f"{where}: {message}")
        self.status = status
        self.where = where
        self.message = message
        self.missing = missing or Counter()


@dataclass
class Batch:
    """A valid batch: the rows as the model takes them, and the missing values of optional features."""

    frame: pd.DataFrame
    missing: Counter = field(default_factory=Counter)
    # The numeric columns' values as sent (None where missing), for the metrics.
    numeric_columns: dict[str, list] = field(default_factory=dict)

    @cached_property
    def numeric(self) -> dict[str, np.ndarray]:
        """The numeric columns as float arrays, NaN where missing: cheaper for the metrics than the frame's columns."""
        return {name: np.array([np.nan if v is None else float(v) for v in values]) for name, values in self.numeric_columns.items()}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return f"a {'list' if isinstance(value, list) else 'mapping' if isinstance(value, dict) else type(value).__name__}"


def _check_value(feature: Feature, value: Any) -> str | None:
    """Why `value` does not fit `feature`, or None when it does."""
    if feature.kind in REAL:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"expected a finite number, found {_describe(value)}"
    elif feature.kind in INTEGRAL:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer, found {_describe(value)}"
    elif feature.kind == "boolean":
        if not isinstance(value, bool):
            return f"expected true or false, found {_describe(value)}"
    elif feature.kind == "string":
        if not isinstance(value, str):
            return f"expected a string, found {_describe(value)}"
    return None


def validate(payload: Any, features: list[Feature], max_rows: int) -> Batch:
    """The rows of `{"rows": [{feature: value, ...}, ...]}` as a DataFrame in the signature's column order."""
    if not isinstance(payload, dict) or "rows" not in payload:
        raise RequestError(400, "(body)", 'expected a JSON object {"rows": [{feature: value, ...}, ...]}')
    unknown_keys = sorted(set(payload) - {"rows"})
    if unknown_keys:
        raise RequestError(400, unknown_keys[0], 'unknown key; the body holds "rows" only')
    rows = payload["rows"]
    if not isinstance(rows, list) or not rows:
        raise RequestError(400, "rows", f"expected a non-empty list of objects, found {_describe(rows)}")
    if len(rows) > max_rows:
        raise RequestError(413, "rows", f"{len(rows)} rows, at most {max_rows} per request")
    known = {f.name: f for f in features}
    missing: Counter = Counter()
    problem: RequestError | None = None
    columns: dict[str, list] = {f.name: [] for f in features}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise RequestError(400, f"rows[{i}]", f"expected an object of feature values, found {_describe(row)}", missing)
        for key in row:
            if key not in known:
                raise RequestError(400, f"rows[{i}].{key}", f"not a feature of this model (features: {', '.join(known)})", missing)
        for f in features:
            value = row.get(f.name)
            columns[f.name].append(value)
            if value is None:
                missing[f.name] += 1
                if f.required and problem is None:
                    problem = RequestError(400, f"rows[{i}].{f.name}", "missing; the model needs this feature in every row")
                continue
            reason = _check_value(f, value)
            if reason and problem is None:
                problem = RequestError(400, f"rows[{i}].{f.name}", reason)
    if problem:
        problem.missing = missing
        raise problem
    # A complete column gets the signature's dtype; one with missing values is left to pandas' inference.
    frame = pd.DataFrame({f.name: np.array(columns[f.name], dtype=DTYPES[f.kind]) if f.kind in DTYPES and not missing[f.name] else columns[f.name] for f in features})
    return Batch(frame, missing, {f.name: columns[f.name] for f in features if f.kind in NUMERIC})
