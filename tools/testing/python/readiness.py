"""Waiting for a program a test started to answer over HTTP."""

from __future__ import annotations

import subprocess
import time

import requests


def wait_until_ok(url: str, process: subprocess.Popen, seconds: float, what: str) -> None:
    """Returns once `url` answers 2xx; raises with `what` when `process` exits or `seconds` pass.
    Slow first answers count as not yet (npm test runs other projects' tests beside this one)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(url, timeout=5).ok:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise AssertionError(f"{what} did not answer {url} within {seconds:.0f} s")
        time.sleep(0.1)
