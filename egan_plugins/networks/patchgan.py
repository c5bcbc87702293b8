"""EnlightenGAN's discriminators: a global and a local no-norm PatchGAN (``global_local``)."""

from __future__ import annotations

import torch
from torch import nn

from egan_core.errors import EganError
from egan_plugins.networks.init import init_weights, seeded


class NoNormPatchGAN(nn.Module):
    """PatchGAN without normalisation: kernel 4, padding 2, LeakyReLU(0.2), no sigmoid.

    ``n_layers`` stride-2 convs (widths ``ndf * min(2**i, 8)``), a stride-1 conv to
    ``ndf * min(2**n_layers, 8)`` and a stride-1 conv to one channel. The layers sit in
    ``model`` like the original's ``NoNormDiscriminator``, so its state dicts load.

    Args:
        in_channels: channels of the input image.
        ndf: width of the first layer.
        n_layers: number of stride-2 convs.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        widths = [ndf * min(2**i, 8) for i in range(n_layers + 1)]
        layers: list[nn.Module] = []
        c_in = in_channels
        for i in range(n_layers + 1):
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(c_in, widths[i], 4, stride=stride, padding=2),
                       nn.LeakyReLU(0.2)]
            c_in = widths[i]
        layers.append(nn.Conv2d(c_in, 1, 4, stride=1, padding=2))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` images -> ``(N, 1, h, w)`` prediction map (unbounded)."""
        return self.model(x)


class GlobalLocalDiscriminator(nn.Module):
    """A whole-image PatchGAN plus one on random square patches (EnlightenGAN's D and D_P).

    Args:
        patches: extra random crops besides the first one (``num_patches = 1 + patches``).
        patch_size: side of the square crops.
        ndf: width of the first layer of both PatchGANs.
        global_layers: stride-2 layers of the global PatchGAN (11,154,369 parameters at 5).
        local_layers: stride-2 layers of the local PatchGAN (6,959,553 parameters at 4).
        seed: seed of the weight initialisation (injected from the recipe's ``seed``).
    """

    def __init__(self, patches: int = 5, patch_size: int = 32, ndf: int = 64,
                 global_layers: int = 5, local_layers: int = 4, seed: int = 0) -> None:
        super().__init__()
        if patches < 0 or patch_size < 1:
            raise EganError(f"model.discriminator: patches must be >= 0 and patch_size >= 1, "
                            f"got patches={patches}, patch_size={patch_size}")
        for key, value, low in (("ndf", ndf, 1), ("global_layers", global_layers, 0),
                                ("local_layers", local_layers, 0)):
            if value < low:
                raise EganError(f"model.discriminator.{key} must be >= {low}, got {value}")
        self.global_d = NoNormPatchGAN(3, ndf, global_layers)
        self.local_d = NoNormPatchGAN(3, ndf, local_layers)
        self.num_patches = 1 + patches
        self.patch_size = patch_size
        init_weights(self, seeded(seed))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """The global prediction map of ``image`` (the local one is ``local_d(crop(...))``)."""
        return self.global_d(image)

    def sample_patches(self, height: int, width: int,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """Random top-left corners of the ``num_patches`` crops.

        Each offset is drawn on its own, as the original's ``randint(0, W - s - 1)``.

        Returns:
            ``(P, 2)`` int64 ``(y, x)``, ``y`` in ``[0, H - s - 1]`` and ``x`` in
            ``[0, W - s - 1]``, inclusive (0 when the image is exactly ``s`` wide).

        Raises:
            EganError: the image is smaller than a patch.
        """
        s = self.patch_size
        if height < s or width < s:
            raise EganError(f"images of {height}x{width} are smaller than the discriminator's "
                            f"{s}x{s} patches; raise data.size or lower "
                            "model.discriminator.patch_size")
        ys = torch.randint(0, max(height - s, 1), (self.num_patches,), generator=generator)
        xs = torch.randint(0, max(width - s, 1), (self.num_patches,), generator=generator)
        return torch.stack((ys, xs), 1)

    def crop(self, x: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
        """Cut the patches at ``coords`` out of every image of ``x``.

        Args:
            x: ``(N, C, H, W)`` batch.
            coords: ``(P, 2)`` ``(y, x)`` offsets from :meth:`sample_patches`.

        Returns:
            ``(P * N, C, s, s)``, patch-major: patch 0 of every image, then patch 1, ...
        """
        s = self.patch_size
        return torch.cat([x[:, :, y:y + s, x0:x0 + s] for y, x0 in coords.tolist()], 0)
