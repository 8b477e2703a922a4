"""The WSGI application gunicorn serves: settings from the environment, the model from the registry.

gunicorn preloads this module in its master (gunicorn_conf.py): the model is loaded once, before any
worker exists, and the workers share it. A worker that answers is therefore ready.
"""

from .app import create_app
from .logs import configure_logging
from .metrics import ModelMetrics, clear_multiprocess_dir
from .model import load
from .settings import Settings

configure_logging()
clear_multiprocess_dir()
settings = Settings.from_env()
model = load(settings)
metrics = ModelMetrics(model.name, [f.name for f in model.features], enabled=settings.metrics)
metrics.served(model.alias, model.version)
app = create_app(settings, model, metrics)
