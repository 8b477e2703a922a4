"""The platform's model-monitoring contract, as Prometheus metrics (libs/core/src/model-monitoring.ts).

Everything is a counter that only grows, so PromQL's increase() gives exact sums over any window
and any number of workers and pods: per feature a count, a sum (as its positive and negative parts,
because a counter must not shrink) and a sum of squares, which make the mean and the variance; per
class the predictions, which make the shares; per feature the missing values. Under gunicorn the
workers write to PROMETHEUS_MULTIPROC_DIR and /metrics adds their files up.
"""

from __future__ import annotations

import collections
import os
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

# Latency buckets for a batch of up to a few hundred rows, in seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The name of the pseudo-feature under which a regressor's predictions are watched.
PREDICTION_FEATURE = "prediction"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def clear_multiprocess_dir() -> None:
    """Empties the multiprocess folder; only gunicorn's master calls it, before any worker exists.

    The folder is an emptyDir, which outlives a container restart: files of the previous
    container's processes would otherwise be added to the new ones (an old model version too).
    """
    shared = multiprocess_dir()
    if not shared:
        return
    for entry in os.scandir(shared):
        if entry.is_file() and entry.name.endswith(".db"):
            os.unlink(entry.path)


class ModelMetrics:
    """The service's metrics; one instance per process (gunicorn's master creates it before forking)."""

    def __init__(self, model: str, features: list[str], enabled: bool = True) -> None:
        self.model = model
        self.enabled = enabled
        shared = multiprocess_dir()
        # In multiprocess mode values live in files and /metrics reads them all; alone, a registry of our own.
        self.registry = None if shared else CollectorRegistry()
        r = self.registry
        self.requests = Counter("prediction_http_request", "Requests by method and status", ["method", "status"], registry=r)
        self.latency = Histogram("prediction_http_request_duration_seconds", "Request duration", ["method"], buckets=LATENCY_BUCKETS, registry=r)
        self.predictions = Counter("prediction_predictions", "Predictions by class", ["model", "class"], registry=r)
        self.values = Counter("prediction_feature_values", "Non-missing values seen per feature", ["model", "feature"], registry=r)
        self.sum_positive = Counter("prediction_feature_value_sum_positive", "Sum of the positive values per feature", ["model", "feature"], registry=r)
        self.sum_negative = Counter("prediction_feature_value_sum_negative", "Sum of the magnitudes of the negative values per feature", ["model", "feature"], registry=r)
        self.sum_squares = Counter("prediction_feature_value_sum_squares", "Sum of the squared values per feature", ["model", "feature"], registry=r)
        self.missing = Counter("prediction_feature_missing", "Missing values per feature", ["model", "feature"], registry=r)
        self.info = Gauge("prediction_model_info", "The model version served (always 1)", ["model", "alias", "version"], multiprocess_mode="max", registry=r)
        self._feature_children: dict[str, tuple] = {}
        # Every series exists from the start, so a rate over a quiet window is 0, not absent.
        for feature in features:
            for counter in (self.values, self.sum_positive, self.sum_negative, self.sum_squares, self.missing):
                counter.labels(model, feature).inc(0)

    def served(self, alias: str, version: str) -> None:
        self.info.labels(self.model, alias, version).set(1)

    def request(self, method: str, status: int, seconds: float) -> None:
        self.requests.labels(method, str(status)).inc()
        self.latency.labels(method).observe(seconds)

    def observe_missing(self, missing: dict[str, int]) -> None:
        if not self.enabled:
            return
        for feature, n in missing.items():
            self.missing.labels(self.model, feature).inc(n)

    def observe_features(self, numeric: dict[str, np.ndarray]) -> None:
        """Adds a batch's numeric feature columns (NaN where missing); strings have no mean to watch."""
        if not self.enabled or not numeric:
            return
        self._observe_values(list(numeric), np.column_stack(list(numeric.values())))

    def observe_predictions(self, predictions: list[Any]) -> None:
        if not self.enabled or not predictions:
            return
        if all(isinstance(p, float) for p in predictions):
            # A regressor: its predictions are watched like a feature.
            self._observe_values([PREDICTION_FEATURE], np.asarray(predictions, dtype="float64").reshape(-1, 1))
            return
        for label, n in collections.Counter(str(p).lower() if isinstance(p, bool) else str(p) for p in predictions).items():
            self.predictions.labels(self.model, label).inc(n)

    def _observe_values(self, features: list[str], values: np.ndarray) -> None:
        """Adds one column of `values` (rows × features, NaN where missing) to each feature's counters, in one pass."""
        present = ~np.isnan(values)
        counts = present.sum(axis=0)
        x = np.where(present, values, 0.0)
        positive = np.where(x > 0, x, 0.0).sum(axis=0)
        negative = -np.where(x < 0, x, 0.0).sum(axis=0)
        squares = np.square(x).sum(axis=0)
        for i, feature in enumerate(features):
            if counts[i] == 0:
                continue
            n, pos, neg, sq = self._children(feature)
            n.inc(int(counts[i]))
            pos.inc(float(positive[i]))
            neg.inc(float(negative[i]))
            sq.inc(float(squares[i]))

    def _children(self, feature: str) -> tuple:
        """The four counters of `feature`, looked up once: labels() takes a lock and builds a key each time."""
        children = self._feature_children.get(feature)
        if children is None:
            children = tuple(c.labels(self.model, feature) for c in (self.values, self.sum_positive, self.sum_negative, self.sum_squares))
            self._feature_children[feature] = children
        return children

    def exposition(self) -> bytes:
        """The text /metrics serves: every worker's values added up, or this process's own."""
        if self.registry is not None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
