"""The service's parts on their own: settings, request validation, the metrics' arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from prediction_api.baseline import cluster_yaml, compute
from prediction_api.metrics import ModelMetrics
from prediction_api.settings import Settings, SettingsError
from prediction_api.validation import Feature, RequestError, validate

FEATURES = [Feature("tenure", "double"), Feature("calls", "long"), Feature("plan", "string"), Feature("discount", "double", required=False)]


def refused(payload, max_rows: int = 10) -> tuple[int, str, str]:
    with pytest.raises(RequestError) as e:
        validate(payload, FEATURES, max_rows)
    return e.value.status, e.value.where, e.value.message


def test_settings_come_from_the_environment_and_refuse_what_cannot_work():
    env = {"MODEL_NAME": "churn", "MODEL_ALIAS": "champion", "MODEL_FEATURES": '["a", "b"]'}
    settings = Settings.from_env(env)
    assert (settings.model_uri, settings.features, settings.max_rows, settings.metrics) == ("models:/churn@champion", ("a", "b"), 1000, True)
    with pytest.raises(SettingsError, match="MODEL_ALIAS is not set"):
        Settings.from_env({**env, "MODEL_ALIAS": " "})
    with pytest.raises(SettingsError, match="MODEL_FEATURES: expected a JSON list of feature names"):
        Settings.from_env({**env, "MODEL_FEATURES": '{"a": 1}'})
    with pytest.raises(SettingsError, match="MAX_ROWS: expected a positive integer, found '0'"):
        Settings.from_env({**env, "MAX_ROWS": "0"})
    with pytest.raises(SettingsError, match="PREDICTION_METRICS: expected on or off"):
        Settings.from_env({**env, "PREDICTION_METRICS": "yes"})


def test_a_valid_batch_becomes_a_frame_in_the_signature_order_and_types():
    batch = validate({"rows": [{"plan": "pro", "calls": 2, "tenure": 3}, {"tenure": 1.5, "calls": 0, "plan": "basic", "discount": 0.1}]}, FEATURES, 10)
    assert list(batch.frame.columns) == ["tenure", "calls", "plan", "discount"]
    assert (str(batch.frame.tenure.dtype), str(batch.frame.calls.dtype)) == ("float64", "int64")
    # The optional feature missing from the first row is counted, not refused.
    assert dict(batch.missing) == {"discount": 1}
    # What the metrics watch: the numeric columns, NaN where missing; strings have no mean.
    assert list(batch.numeric) == ["tenure", "calls", "discount"]
    assert np.array_equal(batch.numeric["discount"], [np.nan, 0.1], equal_nan=True)


def test_each_refusal_names_the_first_wrong_field():
    good = {"tenure": 1.0, "calls": 1, "plan": "pro"}
    assert refused({"rows": [good, {**good, "calls": None}]}) == (400, "rows[1].calls", "missing; the model needs this feature in every row")
    assert refused({"rows": [{**good, "tenure": float("inf")}]}) == (400, "rows[0].tenure", "expected a finite number, found the number inf")
    assert refused({"rows": [{**good, "plan": 3}]}) == (400, "rows[0].plan", "expected a string, found the number 3")
    assert refused({"rows": [good, "tenure=1"]}) == (400, "rows[1]", "expected an object of feature values, found the string 'tenure=1'")
    assert refused({"rows": {"0": good}}) == (400, "rows", "expected a non-empty list of objects, found a mapping")
    assert refused({"rows": [good] * 11}) == (413, "rows", "11 rows, at most 10 per request")


def test_a_refused_request_still_counts_the_missing_values_it_saw():
    with pytest.raises(RequestError) as e:
        validate({"rows": [{"tenure": 1.0, "plan": "pro"}, {"tenure": 2.0, "plan": "pro"}]}, FEATURES, 10)
    assert dict(e.value.missing) == {"calls": 2, "discount": 2}


def samples(metrics: ModelMetrics) -> dict[tuple, float]:
    text = metrics.exposition().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def test_the_metrics_keep_sums_that_only_grow(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    metrics = ModelMetrics("m", ["x", "plan"])
    metrics.observe_features({"x": np.array([3.0, -2.0, np.nan, 1.0])})
    metrics.observe_predictions([1, 0, 0, True])
    got = samples(metrics)
    x = (("feature", "x"), ("model", "m"))
    assert got[("prediction_feature_values_total", x)] == 3
    assert got[("prediction_feature_value_sum_positive_total", x)] == 4.0
    # The negative part as a magnitude: a counter never falls.
    assert got[("prediction_feature_value_sum_negative_total", x)] == 2.0
    assert got[("prediction_feature_value_sum_squares_total", x)] == 14.0
    # A feature without values (strings have no mean) still has its series, at 0: rates over quiet windows are 0.
    assert got[("prediction_feature_values_total", (("feature", "plan"), ("model", "m")))] == 0
    assert got[("prediction_predictions_total", (("class", "0"), ("model", "m")))] == 2
    assert got[("prediction_predictions_total", (("class", "1"), ("model", "m")))] == 1
    assert got[("prediction_predictions_total", (("class", "true"), ("model", "m")))] == 1


def test_a_regressor_is_watched_through_its_predictions(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    metrics = ModelMetrics("price", [])
    metrics.observe_predictions([10.5, 20.0])
    got = samples(metrics)
    assert got[("prediction_feature_values_total", (("feature", "prediction"), ("model", "price")))] == 2
    assert got[("prediction_feature_value_sum_positive_total", (("feature", "prediction"), ("model", "price")))] == 30.5
    assert not any(k[0] == "prediction_predictions_total" for k in got)


def test_the_benchmark_switch_turns_the_model_metrics_off(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    metrics = ModelMetrics("m", ["x"], enabled=False)
    metrics.observe_features({"x": np.array([1.0])})
    metrics.request("POST", 200, 0.01)
    got = samples(metrics)
    assert got[("prediction_feature_values_total", (("feature", "x"), ("model", "m")))] == 0
    assert got[("prediction_http_request_total", (("method", "POST"), ("status", "200")))] == 1


def test_the_baseline_is_the_training_data_and_prints_as_cluster_yaml():
    frame = pd.DataFrame({"x": [1.0, 3.0], "plan": ["a", "b"]})
    baseline = compute(frame, pd.Series([1, 0]), positive_class=1)
    assert baseline == {"features": {"x": {"mean": 2.0, "std": 1.0}}, "positiveClass": "1", "positiveShare": 0.5}
    assert cluster_yaml(baseline) == 'drift:\n  baseline:\n    positiveClass: "1"\n    positiveShare: 0.5\n    features:\n      x: { mean: 2.0, std: 1.0 }\n'
