"""Turn a trained ``fast_grid`` checkpoint into the shipped ``fast`` model (fp32 safetensors).

    python scripts/make_fast_model.py runs/distill_fast_official/checkpoints/latest.pt

writes ``egan_plugins/weights/fast.safetensors`` with the generator's name and kwargs in the
file's metadata, so ``egan_core.model_loading.load_generator`` rebuilds it. The weights stay
in float32: the file is 1.4 MB either way, and float16 would cost PSNR for nothing. The
model's facts are its record, ``egan_plugins.shipped.FAST_MODEL``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_default_model import weights_cli  # noqa: E402

from egan_plugins.shipped import FAST_MODEL  # noqa: E402


def main() -> None:
    weights_cli(__doc__.splitlines()[0], FAST_MODEL, half=False)


if __name__ == "__main__":
    main()
