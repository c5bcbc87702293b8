"""Turn a trained ``zero_dce_pp`` checkpoint into the shipped ``zero_dce_pp`` enhancer's weights.

    python scripts/make_zoo_model.py /tmp/zoo/runs/zero_dce_pp_long/checkpoints/epoch_0014.pt

writes ``egan_plugins/weights/zero_dce_pp.safetensors`` (float32, 45 KB) with the generator's
name and kwargs in the file's metadata. Trained on SICE images (CC BY-NC 4.0): the weights
are for research use only (MODEL.md, *Zero-reference zoo*).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_default_model import weights_cli  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "egan_plugins" / "weights" / "zero_dce_pp.safetensors"


def main() -> None:
    weights_cli(__doc__.splitlines()[0], OUT, half=False, expect="zero_dce_pp",
                source="egan recipes/zero_dce_pp.yaml, 128 px CPU shortening, SICE (CC BY-NC 4.0; "
                       "research only; see MODEL.md)")


if __name__ == "__main__":
    main()
