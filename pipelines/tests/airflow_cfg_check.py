"""Loads an airflow.cfg with Airflow itself and prints what Airflow would not accept, one problem a
line: a section or option that neither Airflow nor an installed provider defines, a renamed or
deprecated option, a value Airflow cannot read as the option's type.

    python airflow_cfg_check.py <airflow.cfg>      (exit 1 when there is a problem)

Run in a process of its own: Airflow reads AIRFLOW_CONFIG once, when it is first imported.
"""

from __future__ import annotations

import configparser
import os
import sys
import tempfile
from pathlib import Path


def problems(path: str) -> list[str]:
    os.environ["AIRFLOW_CONFIG"] = path
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-cfg-check-"))
    import yaml
    from airflow import configuration
    from airflow.configuration import conf
    from airflow.providers_manager import ProvidersManager

    # What Airflow defines (its config.yml) and what the installed providers add: not the
    # fallback defaults Airflow keeps for providers that are not installed.
    core = yaml.safe_load((Path(configuration.__file__).parent / "config_templates" / "config.yml").read_text())
    known: dict[str, dict] = {section: dict(spec.get("options", {})) for section, spec in core.items()}
    for provider in ProvidersManager().provider_configs:
        for section, spec in provider[1].items():
            known.setdefault(section, {}).update(spec.get("options", {}))

    raw = configparser.ConfigParser(interpolation=None, strict=True)
    raw.read(path)
    found: list[str] = []
    for section in raw.sections():
        if section not in known:
            found.append(f"[{section}]: Airflow has no such section")
            continue
        for option in raw.options(section):
            spec = known[section].get(option)
            if (section, option) in conf.inversed_deprecated_options:
                new_section, new_option = conf.inversed_deprecated_options[(section, option)]
                found.append(f"[{section}] {option}: renamed to [{new_section}] {new_option}")
            elif spec is None:
                close = [o for o in known[section] if o[:4] == option[:4]]
                found.append(f"[{section}] {option}: [{section}] has no such option{f' (did you mean {close[0]}?)' if close else ''}")
            elif spec.get("version_deprecated"):
                found.append(f"[{section}] {option}: deprecated since {spec['version_deprecated']}")
            else:
                getter = {"boolean": conf.getboolean, "integer": conf.getint, "float": conf.getfloat}.get(spec.get("type", "string"))
                if getter:
                    try:
                        getter(section, option)
                    except Exception as e:  # noqa: BLE001 (Airflow raises its own and ValueErrors)
                        found.append(f"[{section}] {option}: {e}")
    return found


if __name__ == "__main__":
    found = problems(sys.argv[1])
    print("\n".join(found) or "ok")
    sys.exit(1 if found else 0)
