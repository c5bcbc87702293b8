"""Turn a trained ``fast_grid`` checkpoint into the shipped ``fast`` model (fp32 safetensors).

    python scripts/make_fast_model.py runs/distill_fast_official/checkpoints/latest.pt

writes ``egan_plugins/weights/fast.safetensors`` with the generator's name and kwargs in the
file's metadata, so ``egan_core.model_loading.load_generator`` rebuilds it. The weights stay
in float32: the file is 1.4 MB either way, and float16 would cost PSNR for nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_default_model import weights_cli  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "egan_plugins" / "weights" / "fast.safetensors"


def main() -> None:
    weights_cli(__doc__.splitlines()[0], OUT, half=False, expect="fast_grid",
                source="egan recipes/distill_fast.yaml, then recipes/distill_fast_official.yaml "
                       "(see MODEL.md)")


if __name__ == "__main__":
    main()
