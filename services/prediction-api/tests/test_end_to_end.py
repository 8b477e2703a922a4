"""The reference service end to end, for real.

A real MLflow tracking server (SQLite and a folder) gets the reference model, trained on
generated customers, with its baseline. The service starts with the dev cluster's rendered command
and environment and two gunicorn workers, and loads models:/churn@champion from it. Good and bad
requests go in; the metrics it exports must count exactly what was sent. Those metrics then go
through the rendered drift rules in promtool, which must compute the same means, variances and
shares as Python does from the sent rows, and fire exactly the alerts Python expects: none for
traffic like the training data, a mean shift for customers whose monthly charges went up.
A planted mistake in the rules or in the metrics makes that comparison fail.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
import yaml
from harness import ALIAS, MODEL, ROOT, mlflow_server, prediction_service, register_reference_model, rendered_container
from prometheus_client.parser import text_string_to_metric_families

from prediction_api.reference_model import FEATURES, customers

PROMTOOL = ROOT / ".tools" / "bin" / "promtool"
SERVICE_LABELS = {"namespace": "serving", "job": "predict-churn", "pod": "predict-churn-7d9f-abcde"}


@dataclass
class Registry:
    url: str
    version: str
    baseline: dict
    # What dev's registering Job printed on its first run.
    registered: str


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("mlflow")
    with mlflow_server(tmp) as url:
        yield Registry(url, *register_reference_model(url, tmp))


@pytest.fixture(scope="module")
def service(registry: Registry, tmp_path_factory: pytest.TempPathFactory):
    with prediction_service(rendered_container("dev"), registry.url, tmp_path_factory.mktemp("service")) as base:
        yield base


def predict(base: str, rows: list[dict], **kwargs) -> requests.Response:
    return requests.post(f"{base}/predict", json={"rows": rows}, timeout=30, **kwargs)


def scrape(base: str) -> dict[tuple, float]:
    """/metrics as {(name, sorted labels): value}."""
    text = requests.get(f"{base}/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(text) for s in family.samples}


def rows_of(frame: pd.DataFrame) -> list[dict]:
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in frame.to_dict("records")]


@dataclass
class Traffic:
    """What was sent (the accepted rows and the refused request's missing values) and the counters it added."""

    frame: pd.DataFrame
    predictions: list
    missing: dict[str, int]
    counters: dict[tuple, float] = field(default_factory=dict)


def send(base: str, frame: pd.DataFrame, batch: int = 50) -> Traffic:
    """Sends `frame` in batches from 4 clients at once, plus one request refused for 3 rows without age."""
    before = scrape(base)
    batches = [frame.iloc[i : i + batch] for i in range(0, len(frame), batch)]
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda b: predict(base, rows_of(b)), batches))
    assert [r.status_code for r in responses] == [200] * len(batches), responses[0].text
    refused = rows_of(frame.iloc[:3].drop(columns=["age"]))
    assert predict(base, refused).status_code == 400
    after = scrape(base)
    counters = {k: v - before.get(k, 0.0) for k, v in after.items() if k[0].endswith("_total")}
    return Traffic(frame, [p for r in responses for p in r.json()["predictions"]], {"age": 3}, counters)


@pytest.fixture(scope="module")
def steady(service: str) -> Traffic:
    """1000 customers like the training data, from another seed."""
    return send(service, customers(1000, seed=11)[0])


@pytest.fixture(scope="module")
def drifted(service: str, steady: Traffic) -> Traffic:
    """1000 customers whose monthly charges went up by 80 (four standard deviations)."""
    return send(service, customers(1000, seed=12, shift=80)[0])


def test_the_clusters_declare_the_baseline_training_logged(registry: Registry):
    for cluster in ("dev", "stage", "prod"):
        config = yaml.safe_load((ROOT / "clusters" / cluster / "cluster.yaml").read_text())
        [churn] = config["components"]["serving"]["models"]
        assert churn["drift"]["baseline"] == registry.baseline, f"clusters/{cluster}/cluster.yaml: paste the baseline of the current reference model"
        assert churn["features"] == FEATURES


def test_the_registering_job_registers_once(registry: Registry, tmp_path: Path):
    assert registry.registered.splitlines()[-1] == f"registered {MODEL} version 1 as @{ALIAS}"
    # A Job may run again (a retry, a new revision): the alias then stays where it is.
    assert register_reference_model(registry.url, tmp_path)[2].splitlines() == [f"{MODEL}@{ALIAS} is version 1: nothing to do"]


def test_ready_with_the_version_the_alias_names(service: str, registry: Registry):
    assert requests.get(f"{service}/healthz", timeout=5).json() == {"status": "alive"}
    assert requests.get(f"{service}/readyz", timeout=5).json() == {"status": "ready", "model": MODEL, "alias": ALIAS, "version": registry.version}
    frame, _ = customers(5, seed=3)
    response = predict(service, rows_of(frame))
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == MODEL and body["model_version"] == registry.version
    assert len(body["predictions"]) == 5 and set(body["predictions"]) <= {0, 1}


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        # cluster.yaml's features and the model's signature disagree: the drift rules would watch the wrong columns.
        ({"MODEL_FEATURES": '["tenure_months", "income"]'}, "takes tenure_months, monthly_charges, support_calls, age; the platform declares tenure_months, income"),
        ({"MAX_ROWS": "many"}, "MAX_ROWS: expected a positive integer, found 'many'"),
    ],
)
def test_a_broken_rendered_environment_keeps_the_service_from_starting(overrides: dict, refusal: str, registry: Registry, tmp_path: Path):
    with pytest.raises(RuntimeError, match="exited with") as e, prediction_service(rendered_container("dev"), registry.url, tmp_path, **overrides):
        pass
    assert refusal in str(e.value)


GOOD = {"tenure_months": 12.0, "monthly_charges": 80.5, "support_calls": 2, "age": 40.0}


@pytest.mark.parametrize(
    ("body", "status", "where", "message"),
    [
        ({"rows": [GOOD, {k: v for k, v in GOOD.items() if k != "age"}]}, 400, "rows[1].age", "missing; the model needs this feature in every row"),
        ({"rows": [{**GOOD, "support_calls": "two"}]}, 400, "rows[0].support_calls", "expected an integer, found the string 'two'"),
        ({"rows": [{**GOOD, "support_calls": 2.5}]}, 400, "rows[0].support_calls", "expected an integer, found the number 2.5"),
        ({"rows": [{**GOOD, "age": True}]}, 400, "rows[0].age", "expected a finite number, found the boolean true"),
        ({"rows": [{**GOOD, "income": 1}]}, 400, "rows[0].income", "not a feature of this model (features: tenure_months, monthly_charges, support_calls, age)"),
        ({"rows": []}, 400, "rows", "expected a non-empty list of objects, found a list"),
        ({"rows": [GOOD], "model": "other"}, 400, "model", 'unknown key; the body holds "rows" only'),
        ({"rows": [GOOD] * 1001}, 413, "rows", "1001 rows, at most 1000 per request"),
        ([GOOD], 400, "(body)", 'expected a JSON object {"rows": [{feature: value, ...}, ...]}'),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(service: str, body, status: int, where: str, message: str):
    response = requests.post(f"{service}/predict", json=body, timeout=10)
    assert (response.status_code, response.json()) == (status, {"error": {"field": where, "message": message}})


def test_a_body_that_is_not_json_or_too_large_is_refused(service: str):
    def refused(response: requests.Response) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["message"]

    assert refused(requests.post(f"{service}/predict", data="tenure=1", headers={"Content-Type": "text/plain"}, timeout=10)) == (415, "expected Content-Type: application/json")
    assert refused(requests.post(f"{service}/predict", data="{rows", headers={"Content-Type": "application/json"}, timeout=10)) == (400, "not valid JSON")
    # NaN is not JSON, but Python's parser reads it: the service refuses it like any non-number.
    assert refused(requests.post(f"{service}/predict", data='{"rows": [{"tenure_months": NaN}]}', headers={"Content-Type": "application/json"}, timeout=10))[0] == 400
    assert refused(requests.post(f"{service}/predict", data=b"{" + b" " * (1024 * 1024) + b"}", headers={"Content-Type": "application/json"}, timeout=10)) == (
        413,
        "larger than 1048576 bytes",
    )
    assert refused(requests.get(f"{service}/predict", timeout=10))[0] == 405


def counter(traffic: Traffic, name: str, **labels: str) -> float:
    key = tuple(sorted({"model": MODEL, **labels}.items()))
    return traffic.counters.get((name, key), 0.0)


def test_the_metrics_count_exactly_what_was_sent_across_workers(service: str, steady: Traffic, registry: Registry):
    frame = steady.frame
    for feature in FEATURES:
        values = frame[feature].to_numpy(dtype="float64")
        assert counter(steady, "prediction_feature_values_total", feature=feature) == len(values)
        assert counter(steady, "prediction_feature_value_sum_positive_total", feature=feature) == pytest.approx(values[values > 0].sum(), rel=1e-12)
        assert counter(steady, "prediction_feature_value_sum_negative_total", feature=feature) == pytest.approx(-values[values < 0].sum(), abs=1e-9)
        assert counter(steady, "prediction_feature_value_sum_squares_total", feature=feature) == pytest.approx(np.square(values).sum(), rel=1e-12)
        assert counter(steady, "prediction_feature_missing_total", feature=feature) == steady.missing.get(feature, 0)
    # The classes the model predicted, as the service answered them.
    for label in ("0", "1"):
        assert counter(steady, "prediction_predictions_total", **{"class": label}) == sum(str(p) == label for p in steady.predictions)
    # 20 batches accepted, 1 refused (no model label on the HTTP series).
    http = {dict(k[1])["status"]: v for k, v in steady.counters.items() if k[0] == "prediction_http_request_total"}
    assert (http.get("200"), http.get("400")) == (20, 1)
    info = [dict(k[1]) for k, v in scrape(service).items() if k[0] == "prediction_model_info" and v == 1]
    assert info == [{"model": MODEL, "alias": ALIAS, "version": registry.version}]


def test_both_workers_served_and_metrics_adds_them_up(service: str, steady: Traffic, tmp_path_factory: pytest.TempPathFactory):
    metrics_dir = next(Path(tmp_path_factory.getbasetemp()).glob("service*/metrics-*"))
    pids = {f.stem.rsplit("_", 1)[-1] for f in metrics_dir.glob("counter_*.db")}
    # The master's file (series created at start) and both workers'.
    assert len(pids) >= 3, pids


# --- The rendered drift rules, run by promtool on what the service exported ---------------------


def rendered_rules(tmp: Path) -> None:
    config = yaml.safe_load((ROOT / "dist-manifests/dev/10-platform/monitoring/configmap-prometheus-config.yaml").read_text())
    for name in ("alerting-rules.yml", "model-baselines.yml"):
        (tmp / name).write_text(config["data"][name])


def input_series(traffic: Traffic) -> list[dict]:
    """Each counter as a scraped series growing steadily to its total over an hour, then on."""
    series = []
    for (name, labels), total in sorted(traffic.counters.items()):
        if not name.startswith("prediction_") or name.startswith("prediction_http"):
            continue
        selector = ", ".join(f'{k}="{v}"' for k, v in sorted({**dict(labels), **SERVICE_LABELS}.items()))
        series.append({"series": f"{name}{{{selector}}}", "values": " ".join(repr(total * i / 60) for i in range(121))})
    return series


def expected(traffic: Traffic, baseline: dict, thresholds: dict) -> tuple[dict, set]:
    """What the rules must compute, by Python from the sent rows, and the alerts that must fire."""
    frame, predictions = traffic.frame, traffic.predictions
    stats = {}
    firing = set()
    for feature in FEATURES:
        x = frame[feature].to_numpy(dtype="float64")
        mean, variance = float(x.mean()), float(np.square(x).mean() - x.mean() ** 2)
        missing = traffic.missing.get(feature, 0) / (traffic.missing.get(feature, 0) + len(x))
        stats[feature] = {"mean": mean, "variance": variance, "missing": missing}
        b = baseline["features"][feature]
        if abs(mean - b["mean"]) / b["std"] > thresholds["meanShiftSigma"]:
            firing.add(("ModelFeatureMeanShift", feature))
        ratio = variance / b["std"] ** 2
        if ratio > thresholds["varianceRatio"] or ratio < 1 / thresholds["varianceRatio"]:
            firing.add(("ModelFeatureVarianceChanged", feature))
        if missing > thresholds["missingShare"]:
            firing.add(("ModelFeatureMissingValues", feature))
    share = sum(str(p) == baseline["positiveClass"] for p in predictions) / len(predictions)
    if abs(share - baseline["positiveShare"]) > thresholds["positiveShareDelta"]:
        firing.add(("ModelPositiveShareMoved", None))
    return {"features": stats, "share": share}, firing


def promtool_test(traffic: Traffic, registry: Registry, tmp: Path, plant=None) -> subprocess.CompletedProcess:
    """Writes and runs a promtool test: the recorded series equal Python's figures, ALERTS the expected alerts."""
    assert PROMTOOL.exists(), f"{PROMTOOL} is missing: run 'bash tools/install-tools.sh'"
    rendered_rules(tmp)
    defaults = {"meanShiftSigma": 3, "varianceRatio": 2, "positiveShareDelta": 0.1, "missingShare": 0.05}
    figures, firing = expected(traffic, registry.baseline, defaults)
    service = 'namespace="serving", job="predict-churn"'

    def close(series: str, value: float, labels: dict) -> dict:
        # Relative: the counters are sums of floats, added in another order by each worker.
        return {
            "expr": f"abs({series} - {value!r}) <= bool {abs(value) * 1e-9 + 1e-12!r}",
            "eval_time": "100m",
            "exp_samples": [{"labels": "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}", "value": 1}],
        }

    checks = []
    for feature, f in figures["features"].items():
        labels = {"feature": feature, "job": "predict-churn", "namespace": "serving"}
        checks.append(close(f'model:feature_mean:1h{{{service}, feature="{feature}"}}', f["mean"], labels))
        checks.append(close(f'model:feature_variance:1h{{{service}, feature="{feature}"}}', f["variance"], labels))
        checks.append(close(f'model:feature_missing_share:1h{{{service}, feature="{feature}"}}', f["missing"], labels))
    checks.append(close(f"model:positive_share:1h{{{service}}}", figures["share"], {"job": "predict-churn", "namespace": "serving"}))
    alerts = []
    for alertname, feature in sorted(firing, key=str):
        labels = {
            "alertname": alertname,
            "alertstate": "firing",
            "job": "predict-churn",
            "namespace": "serving",
            "severity": "warning",
            **({"feature": feature} if feature else {}),
        }
        alerts.append({"labels": "ALERTS{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}", "value": 1})
    checks.append({"expr": 'ALERTS{alertname=~"Model.*", alertstate="firing"}', "eval_time": "100m", "exp_samples": alerts})
    series = input_series(traffic)
    if plant:
        plant(tmp, series)
    test = {
        "rule_files": ["alerting-rules.yml", "model-baselines.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": checks}],
    }
    (tmp / "drift.test.yml").write_text(yaml.safe_dump(test, sort_keys=False, width=1 << 16))
    return subprocess.run([str(PROMTOOL), "test", "rules", "drift.test.yml"], cwd=tmp, capture_output=True, text=True)


def test_the_rendered_rules_compute_what_was_sent_and_stay_quiet_on_steady_traffic(steady: Traffic, registry: Registry, tmp_path: Path):
    assert expected(steady, registry.baseline, {"meanShiftSigma": 3, "varianceRatio": 2, "positiveShareDelta": 0.1, "missingShare": 0.05})[1] == set()
    result = promtool_test(steady, registry, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rendered_rules_fire_on_drifted_traffic(drifted: Traffic, registry: Registry, tmp_path: Path):
    assert ("ModelFeatureMeanShift", "monthly_charges") in expected(
        drifted, registry.baseline, {"meanShiftSigma": 3, "varianceRatio": 2, "positiveShareDelta": 0.1, "missingShare": 0.05}
    )[1]
    result = promtool_test(drifted, registry, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def swap_sum_parts(tmp: Path, series: list[dict]) -> None:
    """A broken rule: the mean subtracts the positive part instead of the negative one."""
    rules = tmp / "alerting-rules.yml"
    text = rules.read_text()
    assert "prediction_feature_value_sum_positive_total" in text
    rules.write_text(
        text.replace("prediction_feature_value_sum_positive_total", "SWAP")
        .replace("prediction_feature_value_sum_negative_total", "prediction_feature_value_sum_positive_total")
        .replace("SWAP", "prediction_feature_value_sum_negative_total")
    )


def count_squares_twice(tmp: Path, series: list[dict]) -> None:
    """A broken exporter: the sum of squares counted twice."""
    for s in series:
        if s["series"].startswith("prediction_feature_value_sum_squares_total"):
            s["values"] = " ".join(repr(2 * float(v)) for v in s["values"].split())


@pytest.mark.parametrize("plant", [swap_sum_parts, count_squares_twice])
def test_a_planted_mistake_in_the_rules_or_the_metrics_fails(plant, steady: Traffic, registry: Registry, tmp_path: Path):
    result = promtool_test(steady, registry, tmp_path, plant)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr, result.stdout + result.stderr


def test_the_json_error_shape_is_what_docs_serving_md_shows():
    doc = (ROOT / "docs/serving.md").read_text()
    assert json.dumps({"error": {"field": "rows[1].age", "message": "missing; the model needs this feature in every row"}}) in doc
