"""The served model: loaded from the MLflow registry by name and alias, with its signature."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient

from .settings import Settings
from .validation import Feature

log = logging.getLogger(__name__)


class ModelError(RuntimeError):
    """The model cannot be served as the platform declared it."""


@dataclass
class ServedModel:
    name: str
    alias: str
    version: str
    features: list[Feature]
    pyfunc: Any

    def predict(self, frame: pd.DataFrame) -> list[Any]:
        out = self.pyfunc.predict(frame)
        if isinstance(out, pd.DataFrame):
            out = out.iloc[:, 0]
        return [v.item() if hasattr(v, "item") else v for v in list(out)]


def load(settings: Settings, attempts: int = 30, wait_seconds: float = 5) -> ServedModel:
    """Loads `models:/<name>@<alias>` through MLFLOW_TRACKING_URI, retrying while the registry is unreachable.

    Refuses a model without an input signature (requests could not be checked) or whose features are
    not the ones the platform declared (its drift rules would watch the wrong columns).
    """
    client = MlflowClient()
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            version = client.get_model_version_by_alias(settings.model_name, settings.model_alias)
            pyfunc = mlflow.pyfunc.load_model(settings.model_uri)
            break
        except ImportError as e:
            # Not going to change by waiting: the model needs a library this image does not have.
            raise ModelError(f"{settings.model_uri} needs {e.name or e}, which this image does not install; serve it from an image that does (docs/serving.md)") from e
        except Exception as e:  # noqa: BLE001 - the registry's errors vary; each is retried, then reported
            last = e
            log.warning("loading %s failed (attempt %d of %d): %s", settings.model_uri, attempt, attempts, e)
            time.sleep(wait_seconds)
    else:
        raise ModelError(f"cannot load {settings.model_uri}: {last}")
    schema = pyfunc.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        raise ModelError(f"{settings.model_uri} (version {version.version}) has no named input signature; log it with a signature (mlflow.models.infer_signature)")
    features = [Feature(spec.name, spec.type.name, spec.required) for spec in schema.inputs]
    names = tuple(f.name for f in features)
    if settings.features and sorted(names) != sorted(settings.features):
        raise ModelError(f"{settings.model_uri} (version {version.version}) takes {', '.join(names)}; the platform declares {', '.join(settings.features)} (cluster.yaml)")
    log.info("serving %s: version %s, features %s", settings.model_uri, version.version, ", ".join(names))
    return ServedModel(settings.model_name, settings.model_alias, str(version.version), features, pyfunc)
