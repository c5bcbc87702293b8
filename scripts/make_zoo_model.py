"""Turn a trained ``zero_dce_pp`` checkpoint into the shipped ``zero_dce_pp`` enhancer's weights.

    python scripts/make_zoo_model.py runs/zero_dce_pp_long/checkpoints/epoch_0014.pt

writes ``egan_plugins/weights/zero_dce_pp.safetensors`` (float32, 45 KB) with the generator's
name and kwargs in the file's metadata. Trained on SICE images (CC BY-NC 4.0): the weights
are for research use only (MODEL.md, *Zero-reference zoo*). The model's facts are its
record, ``egan_plugins.shipped.ZERO_DCE_PP_MODEL``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_default_model import weights_cli  # noqa: E402

from egan_plugins.shipped import ZERO_DCE_PP_MODEL  # noqa: E402


def main() -> None:
    weights_cli(__doc__.splitlines()[0], ZERO_DCE_PP_MODEL, half=False)


if __name__ == "__main__":
    main()
