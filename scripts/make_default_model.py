"""Turn a trained checkpoint into egan's shipped default model (fp16 safetensors).

    python scripts/make_default_model.py runs/distill_official_mse/checkpoints/latest.pt

writes ``egan_plugins/weights/default.safetensors`` (weights in float16, BatchNorm counters
as they are) with the generator's name and kwargs in the file's metadata, so
``egan_core.model_loading.load_generator`` rebuilds it without any code from the file. The
model's facts (generator, kwargs, data, licence, sha256) are its record,
``egan_plugins.shipped.DEFAULT_MODEL``: a new file needs its printed sha256 copied there.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from egan_core.checkpoint import load_checkpoint
from egan_core.weights import WeightsRecord, file_sha256, save_weights
from egan_plugins.shipped import DEFAULT_MODEL


def write_weights(checkpoint: Path, record: WeightsRecord, out: Path | None = None, *, half: bool) -> Path:
    """Write a checkpoint's generator as ``record``'s shipped weights (at ``out``, default
    ``record.file``); the checkpoint must hold the record's generator with its kwargs.

    Shared by the shipped models' scripts (``make_fast_model.py``, ``make_zoo_model.py``).
    """
    state = load_checkpoint(checkpoint)
    gen = state["generator"]
    if gen["name"] != record.generator or dict(gen["kwargs"]) != dict(record.kwargs):
        raise SystemExit(f"{checkpoint} holds generator '{gen['name']}' with kwargs {dict(gen['kwargs'])};"
                         f" the '{record.name}' record names '{record.generator}' with"
                         f" {dict(record.kwargs)}: fix the record in egan_plugins/shipped.py first")
    weights = {k: (v.half() if half and v.is_floating_point() else v).contiguous()
               for k, v in gen["state_dict"].items()}
    path = save_weights(record, weights, out, metadata={"step": str(state["step"])})
    size = path.stat().st_size / 2**20
    print(f"wrote {path} ({size:.1f} MiB, step {state['step']}, {len(weights)} tensors)")
    digest = file_sha256(path)
    note = "as recorded" if digest == record.sha256 else "new: copy it into egan_plugins/shipped.py"
    print(f"sha256 {digest} ({note})")
    return path


def weights_cli(description: str, record: WeightsRecord, *, half: bool) -> None:
    """``SCRIPT CHECKPOINT [--out FILE]``: the command line the shipped models' scripts share."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--out", type=Path, default=record.file)
    args = ap.parse_args()
    write_weights(args.checkpoint, record, args.out, half=half)


def main() -> None:
    weights_cli(__doc__.splitlines()[0], DEFAULT_MODEL, half=True)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
