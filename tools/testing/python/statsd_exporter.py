"""The real statsd_exporter (built by tools/install-tools.sh) with a rendered mapping, for the
Python projects' tests of what their programs send: start it, send StatsD lines to its UDP port,
read what Prometheus would scrape."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from readiness import wait_until_ok

STATSD_EXPORTER = Path(__file__).resolve().parents[3] / ".tools" / "bin" / "statsd_exporter"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningExporter:
    def __init__(self, udp: int, web: int) -> None:
        self.udp = udp
        self.web = web

    def send(self, lines: list[str]) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for line in lines:
                s.sendto(line.encode(), ("127.0.0.1", self.udp))

    def scrape(self, settle: float = 0.5) -> str:
        """The exposition text, once what was sent had time to arrive."""
        time.sleep(settle)
        return requests.get(f"http://127.0.0.1:{self.web}/metrics", timeout=5).text


@contextmanager
def statsd_exporter(mapping: str, folder: Path) -> Iterator[RunningExporter]:
    """statsd_exporter on loopback with `mapping` (the YAML text), ready to receive."""
    assert STATSD_EXPORTER.exists(), "run npm run tools:install (tools/install-tools.sh builds statsd_exporter)"
    config = folder / "statsd-mappings.yml"
    config.write_text(mapping)
    udp, web = _free_port(), _free_port()
    process = subprocess.Popen(
        [str(STATSD_EXPORTER), f"--statsd.mapping-config={config}", f"--statsd.listen-udp=127.0.0.1:{udp}", "--statsd.listen-tcp=", f"--web.listen-address=127.0.0.1:{web}"],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_ok(f"http://127.0.0.1:{web}/-/ready", process, 30, f"statsd_exporter with {config}")
        yield RunningExporter(udp, web)
    finally:
        process.terminate()
        process.wait(timeout=10)
