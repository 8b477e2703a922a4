"""Requests by route and status, and their duration, as Prometheus metrics (the platform's Dash
app contract, docs/dash.md). Under gunicorn the workers write to PROMETHEUS_MULTIPROC_DIR and
/metrics adds their files up."""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Dash's own endpoints are few and fixed; anything else is counted as "other" (no label per URL).
ROUTES = ("/_dash-layout", "/_dash-dependencies", "/_dash-update-component", "/healthz", "/readyz", "/metrics")


def route_of(path: str, prefix: str) -> str:
    local = "/" + path[len(prefix) :] if path.startswith(prefix) else path
    if local in ("/", ""):
        return "/"
    return local if local in ROUTES else "other"


def instrument(server: Flask, prefix: str) -> None:
    """Counts and times every request of `server`; serves /metrics."""
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    registry = None if shared else CollectorRegistry()
    requests_total = Counter("dash_http_requests", "Requests by route and status", ["route", "status"], registry=registry)
    duration = Histogram("dash_http_request_duration_seconds", "Request duration by route", ["route"], buckets=BUCKETS, registry=registry)

    @server.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @server.after_request
    def _count(response: Response) -> Response:
        route = route_of(request.path, prefix)
        requests_total.labels(route, str(response.status_code)).inc()
        duration.labels(route).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @server.get("/metrics")
    def _metrics() -> Response:
        if shared:
            collected = CollectorRegistry()
            multiprocess.MultiProcessCollector(collected)
        else:
            collected = registry
        return Response(generate_latest(collected), mimetype=CONTENT_TYPE_LATEST)
