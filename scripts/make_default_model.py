"""Turn a trained checkpoint into egan's shipped default model (fp16 safetensors).

    python scripts/make_default_model.py runs/distill_official/checkpoints/latest.pt

writes ``egan_plugins/weights/default.safetensors`` (weights in float16, BatchNorm counters
as they are) with the generator's name and kwargs in the file's metadata, so
``egan_core.model_loading.load_generator`` rebuilds it without any code from the file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from egan_core.checkpoint import load_checkpoint
from egan_core.fileio import atomic_write

OUT = Path(__file__).resolve().parent.parent / "egan_plugins" / "weights" / "default.safetensors"


def write_weights(checkpoint: Path, out: Path, *, half: bool, source: str,
                  expect: str | None = None) -> None:
    """Write a checkpoint's generator as shipped weights (safetensors; name and kwargs in metadata).

    Shared by the shipped models' scripts (``make_fast_model.py`` calls it too).
    """
    state = load_checkpoint(checkpoint)
    gen = state["generator"]
    if expect is not None and gen["name"] != expect:
        raise SystemExit(f"{checkpoint} holds a '{gen['name']}' generator, not {expect}")
    weights = {k: (v.half() if half and v.is_floating_point() else v).contiguous()
               for k, v in gen["state_dict"].items()}
    meta = {"name": gen["name"], "kwargs": json.dumps(gen["kwargs"]), "source": source,
            "step": str(state["step"])}

    def write(tmp: str) -> None:
        from safetensors.torch import save_file

        save_file(weights, tmp, metadata=meta)

    atomic_write(out, write)
    size = out.stat().st_size / 2**20
    print(f"wrote {out} ({size:.1f} MiB, step {state['step']}, {len(weights)} tensors)")


def weights_cli(description: str, out: Path, *, half: bool, source: str, expect: str | None = None) -> None:
    """``SCRIPT CHECKPOINT [--out FILE]``: the command line the shipped models' scripts share."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--out", type=Path, default=out)
    args = ap.parse_args()
    write_weights(args.checkpoint, args.out, half=half, expect=expect, source=source)


def main() -> None:
    weights_cli(__doc__.splitlines()[0], OUT, half=True,
                source="egan recipes/distill_official.yaml (see MODEL.md)")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
