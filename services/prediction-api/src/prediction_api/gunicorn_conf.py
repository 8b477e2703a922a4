"""gunicorn's settings for the service (gunicorn -c python:prediction_api.gunicorn_conf prediction_api.wsgi:app)."""

import os

from prometheus_client import multiprocess

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# The master loads the model once; workers fork with it (copy on write) and only then answer.
preload_app = True
timeout = 60
graceful_timeout = 30
keepalive = 5
# Heartbeat files in memory, not on the node's disk (the root filesystem is read-only anyway).
worker_tmp_dir = "/dev/shm"
logconfig_dict = {
    "version": 1,
    "formatters": {"json": {"()": "prediction_api.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # Requests are counted and timed in the metrics; an access line per probe would drown the rest.
        "gunicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}


def child_exit(server, worker):
    # A dead worker's gauge files go; its counters stay, so totals never fall back.
    multiprocess.mark_process_dead(worker.pid)
