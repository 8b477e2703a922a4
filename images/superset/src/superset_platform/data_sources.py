"""The databases Superset queries, declared in code rather than typed into the UI.

A declared data source is registered by the start-up Job (superset_platform.init) with its
connection URI only; its password never enters Superset's metadata database. Superset asks
SQLALCHEMY_CUSTOM_PASSWORD_STORE for it at connect time, and this store reads it from the
environment variable the data source names, which Kubernetes fills from a Secret: a rotated
password takes effect when the pods restart, and a copy of the metadata database holds none.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.engine.url import URL


@dataclass(frozen=True)
class DataSource:
    """A PostgreSQL database Superset reads, and the role of the people who may query it."""

    name: str
    host: str
    port: int
    database: str
    username: str
    #: The environment variable that holds the password.
    password_env: str
    #: The Superset role that may query it; the start-up Job creates it.
    reader_role: str

    def uri(self) -> str:
        return str(URL.create("postgresql+psycopg2", username=self.username, host=self.host, port=self.port, database=self.database))

    def matches(self, url: URL) -> bool:
        return (url.host, url.port or 5432, url.database, url.username) == (self.host, self.port, self.database, self.username)


def password_store(sources: Sequence[DataSource]) -> Callable[[URL], str | None]:
    """SQLALCHEMY_CUSTOM_PASSWORD_STORE: the password of a declared data source, from its variable."""

    def lookup(url: URL) -> str | None:
        for source in sources:
            if source.matches(url):
                password = os.environ.get(source.password_env)
                if not password:
                    raise RuntimeError(f"data source {source.name}: the environment variable {source.password_env} is empty; the pod should get it from its Secret")
                return password
        # Not declared here: such a database has no password (set_sqlalchemy_uri stores none while a store is set).
        return None

    return lookup
