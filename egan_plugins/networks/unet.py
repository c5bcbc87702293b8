"""EnlightenGAN's generator: a self-regularised attention U-Net (``attention_unet``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from egan_core.checkpoint import describe_mismatch
from egan_core.errors import CheckpointError
from egan_core.weights import WeightsRecord
from egan_plugins.networks.init import init_weights, seeded
from egan_plugins.networks.padding import DIVISOR, crop, pad, pads_for


def _gate(x: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    """``x * attention`` in ``x``'s dtype.

    Under autocast the activations are bf16 while the attention map is float32; a plain
    product would promote the skip tensors (and the concatenations they go into) to
    float32, only for the next convolution to cast them back. Without autocast both are
    float32 and this is the plain product.
    """
    return x * attention.to(x.dtype)


def _act_norm(conv: nn.Module, norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """conv -> LeakyReLU(0.2) -> BatchNorm (the original normalises after the activation)."""
    return norm(F.leaky_relu(conv(x), 0.2))


class AttentionUNet(nn.Module):
    """EnlightenGAN generator (``Unet_resize_conv`` with self-attention, BatchNorm, skip).

    Submodules carry the original's names (``conv1_1``, ``bn1_1``, ``deconv5``, ...,
    ``conv10``), so original state dicts load key for key. 8,636,675 parameters at
    ``base_channels=32``.

    Args:
        base_channels: width of the first level (doubled at each of the 4 poolings).
        align_corners: bilinear upsampling mode; the original's torch 0.3.1 behaved as
            ``True``, later torch (and the public ONNX conversion) as ``False``.
        freeze_norm: BatchNorm keeps using (and never updates) its running statistics
            while training, so training optimises exactly the function ``egan enhance``
            runs in eval mode; meant for fine-tuning and distilling a trained model, where
            small batches of crops would otherwise pull the statistics around.
        seed: seed of the weight initialisation (injected from the recipe's ``seed``).
    """

    #: Inputs are padded to multiples of this (four 2x poolings).
    pad_multiple = DIVISOR
    #: An output pixel depends on the input no further than this (each side): a crop on the
    #: 16-pixel grid gives the whole frame's output exactly from this far inside its
    #: edges (tests/egan_plugins/networks/test_attention_unet.py), so tiles can equal a whole frame.
    receptive_field = 128

    def __init__(self, base_channels: int = 32, align_corners: bool = False,
                 freeze_norm: bool = False, seed: int = 0) -> None:
        super().__init__()
        if base_channels < 1:
            raise ValueError(f"base_channels must be >= 1, got {base_channels}")
        self.align_corners = align_corners
        self.freeze_norm = freeze_norm
        widths = [base_channels * 2**i for i in range(5)]
        self._block("1_1", 4, widths[0])
        self._block("1_2", widths[0], widths[0])
        for level in range(2, 6):
            self._block(f"{level}_1", widths[level - 2], widths[level - 1])
            self._block(f"{level}_2", widths[level - 1], widths[level - 1])
        for step in range(5, 9):  # decoder: deconv5 + conv6_x ... deconv8 + conv9_x
            wide, narrow = widths[9 - step], widths[8 - step]
            self.add_module(f"deconv{step}", nn.Conv2d(wide, narrow, 3, padding=1))
            self._block(f"{step + 1}_1", wide, narrow)
            self._block(f"{step + 1}_2", narrow, narrow, norm=step < 8)
        self.conv10 = nn.Conv2d(widths[0], 3, 1)
        init_weights(self, seeded(seed))
        self.train()  # a new module starts in training mode: apply freeze_norm from the start

    def _block(self, name: str, c_in: int, c_out: int, norm: bool = True) -> None:
        self.add_module(f"conv{name}", nn.Conv2d(c_in, c_out, 3, padding=1))
        if norm:
            self.add_module(f"bn{name}", nn.BatchNorm2d(c_out))

    def train(self, mode: bool = True) -> AttentionUNet:
        """Switch modes; with ``freeze_norm`` the BatchNorm layers stay in eval mode."""
        super().train(mode)
        if self.freeze_norm:
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self

    def _up(self, x: torch.Tensor, deconv: nn.Module, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=self.align_corners)
        return torch.cat((deconv(x), skip), 1)

    def forward(self, image: torch.Tensor,
                attention: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Enhance ``image``.

        Args:
            image: ``(N, 3, H, W)`` in [-1, 1], any H and W.
            attention: ``(N, 1, H, W)`` attention map of ``image``.

        Returns:
            ``(output, latent)``, both ``(N, 3, H, W)``: ``output = image + latent`` (not
            clipped) and ``latent = conv10(...) * attention``.
        """
        h, w = image.shape[-2:]
        pads = pads_for(h, w, self.pad_multiple)
        img, att = pad(image, pads), pad(attention, pads)
        att2 = F.max_pool2d(att, 2)
        att3 = F.max_pool2d(att2, 2)
        att4 = F.max_pool2d(att3, 2)
        att5 = F.max_pool2d(att4, 2)

        x = _act_norm(self.conv1_1, self.bn1_1, torch.cat((img, att), 1))
        conv1 = _act_norm(self.conv1_2, self.bn1_2, x)
        x = _act_norm(self.conv2_1, self.bn2_1, F.max_pool2d(conv1, 2))
        conv2 = _act_norm(self.conv2_2, self.bn2_2, x)
        x = _act_norm(self.conv3_1, self.bn3_1, F.max_pool2d(conv2, 2))
        conv3 = _act_norm(self.conv3_2, self.bn3_2, x)
        x = _act_norm(self.conv4_1, self.bn4_1, F.max_pool2d(conv3, 2))
        conv4 = _act_norm(self.conv4_2, self.bn4_2, x)
        x = _gate(_act_norm(self.conv5_1, self.bn5_1, F.max_pool2d(conv4, 2)), att5)
        x = _act_norm(self.conv5_2, self.bn5_2, x)

        x = self._up(x, self.deconv5, _gate(conv4, att4))
        x = _act_norm(self.conv6_1, self.bn6_1, x)
        x = _act_norm(self.conv6_2, self.bn6_2, x)
        x = self._up(x, self.deconv6, _gate(conv3, att3))
        x = _act_norm(self.conv7_1, self.bn7_1, x)
        x = _act_norm(self.conv7_2, self.bn7_2, x)
        x = self._up(x, self.deconv7, _gate(conv2, att2))
        x = _act_norm(self.conv8_1, self.bn8_1, x)
        x = _act_norm(self.conv8_2, self.bn8_2, x)
        x = self._up(x, self.deconv8, _gate(conv1, att))
        x = _act_norm(self.conv9_1, self.bn9_1, x)
        x = F.leaky_relu(self.conv9_2(x), 0.2)

        latent = self.conv10(x) * att
        output = latent + img
        return crop(output, pads, h, w), crop(latent, pads, h, w)

    def inference_form(self, dtype: torch.dtype, device: torch.device | str,
                       winograd: bool = False) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """An inference-only form of this generator (eval mode): ``[0, 1] -> [0, 1]``.

        The same function as ``from_model_range(self(to_model_range(x), A)[0])`` with
        fewer passes (folded BatchNorms, fused activations; see
        :mod:`egan_plugins.networks.unet_fused`). A snapshot: later weight changes are
        not seen. None off the CPU (the plain forward serves there). ``winograd``: its
        3x3 convolutions by Winograd's algorithm (fp32; :mod:`egan_core.winograd`).
        """
        if torch.device(device).type != "cpu" or self.training:
            return None
        from egan_plugins.networks.unet_fused import FusedAttentionUNet

        return FusedAttentionUNet(self, dtype, device, winograd=winograd)

    @classmethod
    def shipped_weights(cls) -> WeightsRecord:
        """The default model egan ships, which ``model.generator.init: default`` names (the
        ``gan`` enhancer's record, so both read the same file)."""
        from egan_plugins.enhancers import gan

        return gan.default_record()

    @classmethod
    def from_foreign_state_dict(cls, state_dict: Mapping[str, torch.Tensor], *,
                                align_corners: bool = False) -> AttentionUNet:
        """Build the generator from an original EnlightenGAN ``*_net_G_A.pth`` state dict.

        ``module.`` prefixes (DataParallel) and BatchNorm ``num_batches_tracked`` keys are
        optional; the width is read from ``conv1_1.weight``. ``align_corners`` as in the
        constructor.

        Raises:
            CheckpointError: the dict is not a state dict of this architecture.
        """
        if not isinstance(state_dict, Mapping) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()
        ):
            raise CheckpointError("not an EnlightenGAN generator state dict (expected a "
                                  "mapping of parameter names to tensors)")
        sd = {k.removeprefix("module."): v for k, v in state_dict.items()
              if not k.endswith("num_batches_tracked")}
        first = sd.get("conv1_1.weight")
        base = first.shape[0] if first is not None and first.dim() == 4 else 32
        model = cls(base_channels=base, align_corners=align_corners)
        expected = {k: v for k, v in model.state_dict().items()
                    if not k.endswith("num_batches_tracked")}
        problems = describe_mismatch(expected, sd)
        if problems:
            raise CheckpointError("state dict is not an EnlightenGAN attention U-Net "
                                  f"generator: {problems}")
        model.load_state_dict(sd, strict=False)  # only num_batches_tracked may be absent
        return model
