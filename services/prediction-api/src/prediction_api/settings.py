"""What the service is told by its environment (the rendered Deployment sets every variable)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass


class SettingsError(ValueError):
    """An environment variable is missing or malformed: the service does not start."""


@dataclass(frozen=True)
class Settings:
    # The registered model and the alias that names the version to serve: models:/<name>@<alias>.
    model_name: str
    model_alias: str
    # The features the platform expects the model to take (cluster.yaml); the service refuses to
    # become ready when the model's signature differs, because the drift rules are made for them.
    features: tuple[str, ...]
    max_rows: int
    max_bytes: int
    # Model-monitoring metrics on (the default) or off (only for the benchmark's comparison).
    metrics: bool

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_name}@{self.model_alias}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)

        def need(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise SettingsError(f"{name} is not set")
            return value

        def positive_int(name: str, default: int) -> int:
            raw = env.get(name, str(default))
            if not raw.isdigit() or int(raw) < 1:
                raise SettingsError(f"{name}: expected a positive integer, found {raw!r}")
            return int(raw)

        raw_features = env.get("MODEL_FEATURES", "")
        try:
            features = json.loads(raw_features) if raw_features else []
        except json.JSONDecodeError as e:
            raise SettingsError(f"MODEL_FEATURES: expected a JSON list of feature names, found {raw_features!r}") from e
        if not isinstance(features, list) or not all(isinstance(f, str) and f for f in features):
            raise SettingsError(f"MODEL_FEATURES: expected a JSON list of feature names, found {raw_features!r}")
        metrics = env.get("PREDICTION_METRICS", "on")
        if metrics not in ("on", "off"):
            raise SettingsError(f"PREDICTION_METRICS: expected on or off, found {metrics!r}")
        return cls(
            model_name=need("MODEL_NAME"),
            model_alias=need("MODEL_ALIAS"),
            features=tuple(features),
            max_rows=positive_int("MAX_ROWS", 1000),
            max_bytes=positive_int("MAX_BYTES", 1_048_576),
            metrics=metrics == "on",
        )
