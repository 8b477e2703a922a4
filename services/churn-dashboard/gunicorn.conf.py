"""The app's own gunicorn settings, read from the working directory (/opt/churn-dashboard in the
image): JSON logs and the metrics hooks. The platform passes bind, workers and timeouts in
GUNICORN_CMD_ARGS (libs/dash), which win over this file."""

import os

from prometheus_client import multiprocess

# Alone (outside the platform): Dash's port, two workers, heartbeats in memory.
bind = "0.0.0.0:8050"
workers = 2
worker_tmp_dir = "/dev/shm"
logconfig_dict = {
    "version": 1,
    "formatters": {
        "json": {"()": "pythonjsonlogger.json.JsonFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s", "rename_fields": {"levelname": "level", "asctime": "time"}}
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # Requests are counted and timed in the metrics; an access line per probe would drown the rest.
        "gunicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}


def on_starting(server):
    # The metrics folder is an emptyDir that outlives a container restart: start it empty.
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if shared:
        for entry in os.scandir(shared):
            if entry.name.endswith(".db"):
                os.unlink(entry.path)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
