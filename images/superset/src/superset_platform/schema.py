"""Waits until Superset's metadata database is at the schema this image expects, so that the web
server, the worker and beat start only after the start-up Job has run `superset db upgrade`.
Exits 0 when the database is at the migrations' head, 1 after --timeout seconds otherwise.
Usage: python -m superset_platform.schema --timeout 600
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

import superset
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

VERSIONS = Path(superset.__file__).parent / "migrations" / "versions"


def _revisions(source: str) -> tuple[str, set[str]]:
    """A migration file's `revision` and `down_revision`s, read without importing it (the
    migrations import Superset's models, which need a started app)."""
    values: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and node.value is not None:
                    values[target.id] = ast.literal_eval(node.value)
    down = values.get("down_revision")
    return str(values["revision"]), set(down if isinstance(down, tuple | list) else [down] if down else [])


def expected_heads() -> set[str]:
    """The revisions no other migration builds on: what `superset db upgrade` leaves the database at."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        text = path.read_text()
        if "revision" not in text:
            continue
        revision, down = _revisions(text)
        revisions.add(revision)
        parents |= down
    return revisions - parents


def current_heads(uri: str) -> set[str]:
    engine = create_engine(uri)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=int, default=600, help="seconds to wait")
    args = parser.parse_args(argv)
    # The URI as the rendered superset_config.py sets it (SUPERSET_CONFIG_PATH), without starting Superset.
    from superset import config

    expected = expected_heads()
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            current = current_heads(config.SQLALCHEMY_DATABASE_URI)
            if current == expected:
                print(f"metadata database at {', '.join(sorted(current))}", flush=True)
                return 0
            state = f"at {', '.join(sorted(current)) or 'no revision'}, expected {', '.join(sorted(expected))}"
        except OperationalError as error:
            state = f"not reachable: {str(error.orig).strip()}"
        if time.monotonic() >= deadline:
            print(f"metadata database {state} after {args.timeout} s: has the start-up Job (superset db upgrade) run?", file=sys.stderr, flush=True)
            return 1
        print(f"waiting: metadata database {state}", flush=True)
        time.sleep(5)


if __name__ == "__main__":
    sys.exit(main())
