"""The Flask application: /predict, the probes and /metrics."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .metrics import ModelMetrics
from .model import ServedModel
from .settings import Settings
from .validation import RequestError, validate

log = logging.getLogger(__name__)


def create_app(settings: Settings, model: ServedModel, metrics: ModelMetrics) -> Flask:
    """The service for a model already loaded: it is ready from its first request."""
    app = Flask("prediction_api")
    # Werkzeug refuses a larger body before the service reads it.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_bytes

    def error(status: int, where: str, message: str) -> Response:
        response = jsonify(error={"field": where, "message": message})
        response.status_code = status
        return response

    @app.before_request
    def started() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def measured(response: Response) -> Response:
        if request.endpoint == "predict":
            metrics.request(request.method, response.status_code, time.perf_counter() - g.started)
        return response

    @app.get("/healthz")
    def healthz():
        return {"status": "alive"}

    @app.get("/readyz")
    def readyz():
        # Workers exist only once the model is loaded (gunicorn preloads it): a worker that answers is ready.
        return {"status": "ready", "model": model.name, "alias": model.alias, "version": model.version}

    @app.get("/metrics")
    def prometheus():
        return Response(metrics.exposition(), mimetype="text/plain; version=0.0.4; charset=utf-8")

    @app.post("/predict")
    def predict():
        if not request.is_json:
            return error(415, "(body)", "expected Content-Type: application/json")
        payload = request.get_json(silent=True)
        if payload is None:
            return error(400, "(body)", "not valid JSON")
        try:
            batch = validate(payload, model.features, settings.max_rows)
        except RequestError as e:
            metrics.observe_missing(e.missing)
            return error(e.status, e.where, e.message)
        metrics.observe_missing(batch.missing)
        metrics.observe_features(batch.numeric)
        predictions = model.predict(batch.frame)
        metrics.observe_predictions(predictions)
        return {"predictions": predictions, "model": model.name, "model_version": model.version}

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_: RequestEntityTooLarge):
        return error(413, "(body)", f"larger than {settings.max_bytes} bytes")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        return error(e.code or 500, "(request)", e.description or e.name)

    @app.errorhandler(Exception)
    def failed(e: Exception):
        # Not the request's fault: the model or the service failed. Logged with its trace.
        log.exception("prediction failed")
        return error(500, "(model)", f"the model failed: {type(e).__name__}")

    return app
