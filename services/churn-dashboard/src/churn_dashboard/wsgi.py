"""gunicorn's entry point: gunicorn churn_dashboard.wsgi:server (with gunicorn.conf.py in the working directory)."""

from churn_dashboard.app import create_app

app = create_app()
server = app.server
