"""The frozen VGG16 feature extractor shared by the feature losses (``vgg.weights``).

As in EnlightenGAN, there is no max-pool after relu4_3: relu3_3 is at 1/4 of the input
resolution, relu4_x and relu5_x at 1/8. The input preprocessing follows the weights' kind
(:class:`Preprocess`), recorded with them, so it is never chosen by hand.
"""

from __future__ import annotations

import os
import socket
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

import torch
import torch.nn.functional as F
from torch import nn

from egan_core import winograd
from egan_core.checkpoint import load_file
from egan_core.errors import CheckpointError, EganError, folded

#: Layer plan: conv names in order; "pool" = 2x2 max-pool. None after conv4_3.
PLAN = ("conv1_1", "conv1_2", "pool", "conv2_1", "conv2_2", "pool",
        "conv3_1", "conv3_2", "conv3_3", "pool", "conv4_1", "conv4_2", "conv4_3",
        "conv5_1", "conv5_2", "conv5_3")
CONVS = tuple(step for step in PLAN if step != "pool")
WIDTHS = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
LAYERS = tuple("relu" + name[4:] for name in CONVS)
#: ``torchvision.models.vgg16().features`` index of each conv, in :data:`CONVS` order.
TORCHVISION_INDEX = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_DOWNLOAD_TIMEOUT_S = 60.0


class Preprocess(nn.Module):
    """``[-1, 1]`` RGB -> the input the weights expect: ``x[:, order] * scale + shift``.

    Args:
        kind: ``"imagenet"`` (torchvision: ``((x+1)/2 - mean) / std``) or ``"caffe"``
            (the original's ``vgg16.weight``: RGB->BGR, ``(x+1) * 127.5``, no mean).
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        if kind == "imagenet":
            scale = [0.5 / s for s in IMAGENET_STD]
            shift = [(0.5 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)]
        elif kind == "caffe":  # channel order reversed in forward
            scale, shift = [127.5] * 3, [127.5] * 3
        else:
            raise ValueError(f"unknown VGG preprocessing {kind!r}")
        self.kind = kind
        self.register_buffer("scale", torch.tensor(scale).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", torch.tensor(shift).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [-1, 1] -> preprocessed ``(N, 3, H, W)`` (same memory format)."""
        if self.kind == "caffe":
            x = x.flip(1)  # RGB -> BGR (flip keeps channels_last, index_select does not)
        return x * self.scale + self.shift


def _autocast_dtype(device_type: str) -> torch.dtype | None:
    """The autocast dtype in force for ``device_type`` (None when autocast is off)."""
    try:
        if torch.is_autocast_enabled(device_type):
            return torch.get_autocast_dtype(device_type)
        return None
    except (TypeError, AttributeError):  # torch < 2.4: per-device functions
        if device_type == "cpu" and torch.is_autocast_cpu_enabled():
            return torch.get_autocast_cpu_dtype()
        if device_type == "cuda" and torch.is_autocast_enabled():
            return torch.get_autocast_gpu_dtype()
        return None


class VGG16Features(nn.Module):
    """VGG16 convolutions (named ``conv1_1`` ... ``conv5_3``) with ReLU taps.

    Args:
        preprocess: ``"imagenet"`` or ``"caffe"``, matching the weights (see
            :class:`Preprocess`).
    """

    def __init__(self, preprocess: str = "imagenet") -> None:
        super().__init__()
        self.preprocess = Preprocess(preprocess)
        c_in = 3
        for name, width in zip(CONVS, WIDTHS, strict=True):
            self.add_module(name, nn.Conv2d(c_in, width, 3, padding=1))
            c_in = width
        #: (dtype, layout, device) -> (weight versions, prepared (weight, bias) pairs)
        self._prepared: dict[tuple[object, ...],
                             tuple[tuple[object, ...], list[tuple[torch.Tensor, torch.Tensor]]]]
        self._prepared = {}

    def _weights(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
        """The frozen weights in the dtype and memory format ``x`` will be computed in.

        Under autocast that is the autocast dtype, and channels_last for a channels_last
        ``x``: converted once and kept (autocast would cast frozen weights again on every
        call, and mixed layouts make every convolution reorder its data). The copy is
        remade when a weight changes (new tensor or in-place update). None while some
        weight requires a gradient (then the modules themselves run).
        """
        convs = [self.get_submodule(name) for name in CONVS]
        params = [p for conv in convs for p in (conv.weight, conv.bias)]
        if any(p.requires_grad for p in params):
            return None
        dtype = params[0].dtype
        autocast = _autocast_dtype(x.device.type)
        if autocast is not None and dtype == torch.float32:
            dtype = autocast
        layout = (torch.channels_last if x.dim() == 4 and not x.is_contiguous()
                  and x.is_contiguous(memory_format=torch.channels_last)
                  else torch.contiguous_format)
        key = (dtype, layout, x.device)
        versions = tuple((p.data_ptr(), p._version) for p in params)
        cached = self._prepared.get(key)
        if cached is None or cached[0] != versions:
            prepared = [(conv.weight.detach().to(x.device, dtype).contiguous(memory_format=layout),
                         conv.bias.detach().to(x.device, dtype)) for conv in convs]
            cached = self._prepared[key] = (versions, prepared)
        return cached[1]

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> list[torch.Tensor]:
        """Features of ``x`` at ``layers`` (names from :data:`LAYERS`, e.g. ``relu5_1``).

        Args:
            x: ``(N, 3, H, W)`` in [-1, 1].
            layers: the taps wanted; computation stops after the deepest one.

        Returns:
            One ``(N, C, h, w)`` tensor per name, in the order asked.
        """
        wanted, found = set(layers), {}
        h = self.preprocess(x)
        prepared = self._weights(h)
        index = 0
        for step in PLAN:
            if step == "pool":
                h = F.max_pool2d(h, 2, 2)
                continue
            if prepared is None:
                h = F.relu(self.get_submodule(step)(h))
            elif winograd.active(h):
                h = F.relu(winograd.conv2d(h, *prepared[index], padding=1))
            else:
                h = F.relu(F.conv2d(h, *prepared[index], padding=1))
            index += 1
            tap = "relu" + step[4:]
            if tap in wanted:
                found[tap] = h
                if len(found) == len(wanted):
                    break
        return [found[name] for name in layers]


def check_layers(layers: Sequence[str]) -> None:
    """Raise ``ValueError`` for a layer name :class:`VGG16Features` does not tap."""
    unknown = [name for name in layers if name not in LAYERS]
    if unknown:
        raise ValueError(f"unknown VGG16 layer(s) {unknown}; known: {', '.join(LAYERS)}")


def _from_state_dict(sd: Mapping[str, torch.Tensor], where: str) -> VGG16Features:
    """A VGG from a torchvision ``vgg16`` state dict or the original's Caffe ``vgg16.weight``."""
    sd = {str(k).removeprefix("module."): v for k, v in sd.items()}
    if "features.0.weight" in sd:
        vgg, mapped = VGG16Features("imagenet"), {}
        for name, idx in zip(CONVS, TORCHVISION_INDEX, strict=True):
            for p in ("weight", "bias"):
                mapped[f"{name}.{p}"] = sd.get(f"features.{idx}.{p}")
    elif "conv1_1.weight" in sd:
        vgg, mapped = VGG16Features("caffe"), {f"{n}.{p}": sd.get(f"{n}.{p}")
                                               for n in CONVS for p in ("weight", "bias")}
    else:
        raise CheckpointError(f"vgg.weights: '{where}' is neither a torchvision VGG16 state dict "
                              "(features.N.weight) nor the original's vgg16.weight "
                              "(conv1_1.weight ...)")
    try:
        missing = [k for k, v in mapped.items() if v is None]
        if missing:
            raise RuntimeError(f"missing {', '.join(missing[:3])}")
        vgg.load_state_dict(mapped)
    except (RuntimeError, TypeError, AttributeError) as exc:
        first = folded(exc, 200)
        raise CheckpointError(f"vgg.weights: '{where}' is not a usable VGG16 ({first})") from exc
    return vgg


def _imagenet_file() -> Path:
    """torchvision's VGG16 ImageNet weights file in torch's hub cache (downloaded if absent)."""
    from torchvision.models import VGG16_Weights

    url = VGG16_Weights.IMAGENET1K_V1.url
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)
    if not path.is_file():
        previous = socket.getdefaulttimeout()
        try:
            socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT_S)
            path.parent.mkdir(parents=True, exist_ok=True)
            match = torch.hub.HASH_REGEX.search(path.name)
            torch.hub.download_url_to_file(url, str(path), match.group(1) if match else None,
                                           progress=False)
        except Exception as exc:
            raise EganError(
                f"vgg.weights: imagenet: cannot download torchvision's VGG16 weights from "
                f"{url} ({type(exc).__name__}: {str(exc)[:120]}); put that file at '{path}', "
                "or set vgg.weights to a local VGG16 file (--set vgg.weights=PATH), or "
                "use 'vgg.weights: none' (random weights, tests only)") from exc
        finally:
            socket.setdefaulttimeout(previous)
    return path


def _random_vgg() -> VGG16Features:
    warnings.warn("vgg.weights: none gives a VGG16 with random weights: feature losses are "
                  "meaningless (for tests only)", UserWarning, stacklevel=3)
    vgg, gen = VGG16Features("imagenet"), torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name in CONVS:
            conv = vgg.get_submodule(name)
            conv.weight.normal_(0.0, (2.0 / conv.weight[0].numel()) ** 0.5, generator=gen)
            conv.bias.zero_()
    return vgg


def build_vgg(weights: str) -> VGG16Features:
    """A new frozen, eval-mode VGG16 for ``weights``: ``imagenet``, ``none`` or a file path.

    Raises:
        EganError: the weights cannot be had (no download, missing or unfit file).
    """
    if weights == "none":
        vgg = _random_vgg()
    else:
        path = _imagenet_file() if weights == "imagenet" else Path(weights).expanduser()
        if not path.is_file():
            raise EganError(f"vgg.weights: '{weights}' is neither 'imagenet', 'none' nor an "
                            "existing file; give the path of a VGG16 state dict")
        try:
            sd = load_file(path)
        except CheckpointError as exc:
            raise CheckpointError(f"vgg.weights: {exc}") from exc
        if not isinstance(sd, Mapping):
            raise CheckpointError(f"vgg.weights: '{weights}' holds no state dict")
        vgg = _from_state_dict(sd, weights)
    vgg.eval().requires_grad_(False)
    return vgg


_CACHE: dict[str, VGG16Features] = {}


def shared_vgg(weights: str) -> VGG16Features:
    """The process-wide frozen VGG16 for a ``vgg.weights`` spec (built once, then shared)."""
    key = weights if weights in ("imagenet", "none") else str(Path(weights).expanduser().resolve())
    if key not in _CACHE:
        _CACHE[key] = build_vgg(weights)
    return _CACHE[key]
