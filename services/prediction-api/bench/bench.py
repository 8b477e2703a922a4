"""The reference service's speed, and what its model metrics cost.

Two copies of the service run the dev cluster's rendered command with one gunicorn worker each
(so the figures are per worker), one with the model metrics on, one with them off
(PREDICTION_METRICS=off), against a real MLflow with the reference model. One client sends the
same 100-row batch to each in turn, so both see the same machine. Prints requests per second and
p50/p99 latency for each, and the metrics' share of the latency; exits 1 when that share is 10% or
more (issue 14's budget).

    npm run bench:serving [-- --requests 400]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from harness import mlflow_server, prediction_service, register_reference_model, rendered_container  # noqa: E402

from prediction_api.reference_model import customers  # noqa: E402

BUDGET = 0.10


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="measured requests per service (after 30 to warm up)")
    args = parser.parse_args()
    frame, _ = customers(100, seed=21)
    body = {"rows": [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in frame.to_dict("records")]}
    container = rendered_container("dev")
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        tmp = Path(scratch)
        url = stack.enter_context(mlflow_server(tmp))
        register_reference_model(url, tmp)
        services = {
            mode: stack.enter_context(prediction_service(container, url, tmp, WEB_CONCURRENCY="1", PREDICTION_METRICS=mode))
            for mode in ("on", "off")
        }  # fmt: skip
        latencies: dict[str, list[float]] = {mode: [] for mode in services}
        elapsed = dict.fromkeys(services, 0.0)
        session = requests.Session()
        for i in range(30 + args.requests):
            for mode, base in services.items():
                started = time.perf_counter()
                response = session.post(f"{base}/predict", json=body, timeout=30)
                took = time.perf_counter() - started
                response.raise_for_status()
                if i >= 30:
                    latencies[mode].append(took)
                    elapsed[mode] += took
    print(f"prediction-api benchmark: {args.requests} requests of 100 rows per service, one gunicorn worker each, interleaved")
    for mode, values in latencies.items():
        print(
            f"  metrics {mode:<3}  {args.requests / elapsed[mode]:7.1f} requests/s per worker"
            f"  p50 {statistics.median(values) * 1000:6.2f} ms  p99 {percentile(values, 0.99) * 1000:6.2f} ms"
        )
    cost = statistics.median(latencies["on"]) / statistics.median(latencies["off"]) - 1
    verdict = "within" if cost < BUDGET else "OVER"
    print(f"  model metrics cost {cost * 100:+.1f}% of the p50 latency: {verdict} the {BUDGET * 100:.0f}% budget")
    return 0 if cost < BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
