"""Serves the operator's real metric definitions, with some activity, for the Prometheus test.

The operator itself needs a Kubernetes API server; its metrics object does not.
Usage: ``python tests/observability/operator_metrics.py PORT`` (runs until terminated).
"""

from __future__ import annotations

import sys
import time

from telesniff.operator.metrics import OperatorMetrics


def main() -> None:
    metrics = OperatorMetrics()
    metrics.serve("127.0.0.1", int(sys.argv[1]))
    for name in ("demo-1", "demo-2"):
        metrics.observe_group("demo", name, "Running")
        metrics.reconciles.labels(result="ok").inc()
    metrics.rejections.labels(reason="invalid_spec").inc()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
