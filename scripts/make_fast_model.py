"""Turn a trained ``fast_grid`` checkpoint into the shipped ``fast`` model (fp32 safetensors).

    python scripts/make_fast_model.py runs/distill_fast/checkpoints/latest.pt

writes ``egan_plugins/weights/fast.safetensors`` with the generator's name and kwargs in the
file's metadata, so ``egan_core.model_loading.load_generator`` rebuilds it. The weights stay
in float32: the file is 1.4 MB either way, and float16 would cost PSNR for nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from egan_core.checkpoint import atomic_write, load_checkpoint

OUT = Path(__file__).resolve().parent.parent / "egan_plugins" / "weights" / "fast.safetensors"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    state = load_checkpoint(args.checkpoint)
    gen = state["generator"]
    if gen["name"] != "fast_grid":
        raise SystemExit(f"{args.checkpoint} holds a '{gen['name']}' generator, not fast_grid")
    weights = {k: v.float().contiguous() for k, v in gen["state_dict"].items()}
    meta = {"name": gen["name"], "kwargs": json.dumps(gen["kwargs"]),
            "source": "egan recipes/distill_fast.yaml (see MODEL.md)", "step": str(state["step"])}

    def write(tmp: str) -> None:
        from safetensors.torch import save_file

        save_file(weights, tmp, metadata=meta)

    atomic_write(args.out, write)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, step {state['step']})")


if __name__ == "__main__":
    main()
