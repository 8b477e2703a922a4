"""The last step of Superset's start-up Job, after `superset db upgrade` and `superset init`:
registers the declared data sources (PLATFORM_DATA_SOURCES) read-only, and gives each a role
that may query it. Running it again changes nothing; a data source removed from the config stays
in Superset (dashboards may use it) and loses nothing. Usage: python -m superset_platform.init
"""

from __future__ import annotations

import logging
import sys

from superset_platform.data_sources import DataSource

log = logging.getLogger("superset_platform.init")


def register(sources: list[DataSource]) -> list[str]:
    """Registers `sources` in the app context's metadata database; returns what it did, one line each."""
    # Superset's modules need an app context: imported here, not at the top.
    from superset import db, security_manager
    from superset.utils.database import get_or_create_db

    done: list[str] = []
    for source in sources:
        database = get_or_create_db(source.name, source.uri())
        # People read; the database role may not write either (analytics_reader).
        database.expose_in_sqllab = True
        database.allow_run_async = True
        database.allow_dml = False
        database.allow_ctas = False
        database.allow_cvas = False
        database.allow_file_upload = False
        db.session.flush()
        view = database.perm
        security_manager.add_permission_view_menu("database_access", view)
        role = security_manager.find_role(source.reader_role) or security_manager.add_role(source.reader_role)
        security_manager.add_permission_role(role, security_manager.find_permission_view_menu("database_access", view))
        done.append(f"data source {source.name}: {source.uri()} (read-only), queried by role {source.reader_role}")
    db.session.commit()
    return done


def main() -> int:
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        sources = app.config.get("PLATFORM_DATA_SOURCES", [])
        for line in register(list(sources)):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
