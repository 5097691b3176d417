"""Pre-train the bundled backbone (assets/shapes_resnet8.safetensors); see playground/labs/pretrain.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playground.labs.pretrain import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
