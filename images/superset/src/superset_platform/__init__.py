"""The platform's additions to Superset: GitLab sign-in, data sources declared in code, and the
start-up step that registers them. The rendered superset_config.py (libs/superset) imports them."""

#: Settings of superset_config.py that this package reads (Superset itself knows the others).
PLATFORM_SETTINGS = frozenset({"PLATFORM_DATA_SOURCES"})
