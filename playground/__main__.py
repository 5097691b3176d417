"""Entry point for ``python -m playground`` (the same commands as the ``cnn-playground`` script)."""

import sys

from playground.cli import main

if __name__ == "__main__":
    sys.exit(main())
