"""The Dash app: churn rate and customers per contract type over time, and the latest day's
figures, from the analytics database. Every page load reads the contract types afresh, so a new
day loaded by the pipeline shows without a restart."""

from __future__ import annotations

import logging

import plotly.express as px
from dash import Dash, Input, Output, dcc, html
from flask import Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from churn_dashboard import data
from churn_dashboard.metrics import instrument

log = logging.getLogger("churn_dashboard")
TITLE = "Churn by contract type"


def layout(engine: Engine) -> html.Div:
    # The page loads even while the database cannot answer (Dash also builds it once at its first
    # request, health checks included); it says so instead of failing.
    try:
        options, problem = data.contracts(engine), None
    except SQLAlchemyError as error:
        log.warning("analytics database not reachable: %s", error.__class__.__name__)
        options, problem = [], "The analytics database cannot be read right now; reload the page in a minute."
    return html.Div(
        [
            html.H1(TITLE),
            html.P("Loaded every day by the churn_pipeline DAG into the analytics database (table churn_by_contract)."),
            *([html.P(problem, className="problem")] if problem else []),
            dcc.Dropdown(id="contracts", options=options, value=options, multi=True, placeholder="Contract types"),
            dcc.Graph(id="churn-rate"),
            dcc.Graph(id="customers"),
            html.H2("Latest day"),
            html.Div(id="latest"),
        ]
    )


def latest_table(frame) -> html.Table | html.P:
    if frame.empty:
        return html.P("No data for these contract types yet.")
    day = frame["day"].max()
    rows = frame[frame["day"] == day]
    header = html.Tr([html.Th(h) for h in ("Contract", "Customers", "Churn rate", "Mean monthly charges", "Mean tenure (months)")])
    body = [
        html.Tr(
            [html.Td(r.contract), html.Td(f"{r.customers:,}"), html.Td(f"{r.churn_rate:.1%}"), html.Td(f"{r.mean_monthly_charges:.2f}"), html.Td(f"{r.mean_tenure_months:.1f}")]
        )
        for r in rows.itertuples()
    ]
    return html.Table([html.Caption(f"{day:%Y-%m-%d}"), header, *body])


def create_app(engine: Engine | None = None) -> Dash:
    """The app; its paths come from DASH_URL_BASE_PATHNAME or DASH_REQUESTS_PATHNAME_PREFIX and
    DASH_ROUTES_PATHNAME_PREFIX, which Dash reads from the environment."""
    engine = engine or data.engine_from_environment()
    app = Dash(__name__, title=TITLE, serve_locally=True)
    # A function: evaluated at every page load.
    app.layout = lambda: layout(engine)

    @app.callback(Output("churn-rate", "figure"), Output("customers", "figure"), Output("latest", "children"), Input("contracts", "value"))
    def update(selected: list[str] | None):
        frame = data.history(engine, selected or [])
        rate = px.line(frame, x="day", y="churn_rate", color="contract", markers=True, labels={"churn_rate": "churn rate", "day": ""}, title="Churn rate")
        rate.update_yaxes(tickformat=".0%")
        customers = px.bar(frame, x="day", y="customers", color="contract", labels={"day": ""}, title="Customers")
        return rate, customers, latest_table(frame)

    server = app.server

    @server.get("/healthz")
    def healthz() -> Response:
        return Response("ok\n", mimetype="text/plain")

    @server.get("/readyz")
    def readyz() -> Response:
        try:
            data.ping(engine)
        except SQLAlchemyError as error:
            log.warning("analytics database not reachable: %s", error.__class__.__name__)
            return Response("analytics database not reachable\n", status=503, mimetype="text/plain")
        return Response("ok\n", mimetype="text/plain")

    instrument(server, app.config.requests_pathname_prefix)
    return app
