"""Entry point for ``python -m playground``."""

import os
import sys

# On a shared CPU, OpenMP threads that spin while waiting collapse throughput when other
# processes compete for the cores (measured here: 2 spinning threads ran at a quarter of the
# speed of 1); passive waiting keeps 2 threads at least as fast as 1. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from playground.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
