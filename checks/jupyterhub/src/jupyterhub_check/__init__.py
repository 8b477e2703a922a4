"""Checks a rendered jupyterhub_config.py with the JupyterHub release the hub image runs."""

from .check import Problem, Result, Spawned, check

__all__ = ["Problem", "Result", "Spawned", "check"]
