"""Turn a trained zoo checkpoint into a shipped enhancer's weights: ``zero_dce_pp`` or ``pairlie``.

    python scripts/make_zoo_model.py runs/zero_dce_pp_long/checkpoints/epoch_0014.pt
    python scripts/make_zoo_model.py --model pairlie runs/pairlie_cpu/checkpoints/latest.pt

writes ``egan_plugins/weights/<model>.safetensors`` (float32) with the generator's name and
kwargs in the file's metadata. Both were trained on SICE images (CC BY-NC 4.0): the weights
are for research use only. Each model's facts are its record in ``egan_plugins.shipped``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_default_model import weights_cli  # noqa: E402

from egan_plugins.shipped import PAIRLIE_MODEL, ZERO_DCE_PP_MODEL  # noqa: E402

MODELS = {"zero_dce_pp": ZERO_DCE_PP_MODEL, "pairlie": PAIRLIE_MODEL}


def main() -> None:
    name = "zero_dce_pp"
    if len(sys.argv) > 2 and sys.argv[1] == "--model":
        name = sys.argv.pop(2)
        sys.argv.pop(1)
    if name not in MODELS:
        sys.exit(f"error: --model must be one of {', '.join(MODELS)}, got '{name}'")
    weights_cli(__doc__.splitlines()[0], MODELS[name], half=False)


if __name__ == "__main__":
    main()
