"""``pairlie``: PairLIE (Fu et al., CVPR 2023), learning from two low-light shots of one scene.

Three small networks (see :mod:`egan_plugins.networks.pairlie`) split each shot into a
denoised image ``X = N(I)``, an illumination ``L`` and a reflectance ``R`` of ``X``. The
reflectance of a scene does not depend on its exposure, so the two shots must give the
same ``R``; nothing else ties the output to a well-lit image, and no pretrained network
is used. The objective, as the paper defines it, for shots ``I1``, ``I2``:

- consistency: ``mse(R1, R2)``;
- Retinex: ``mse(L1 R1, X1) + mse(R1, X1 / L1)`` (``L1`` held fixed in the second term)
  ``+ mse(L1, max_c I1) + tv(L1)`` (the illumination starts from the brightest channel
  and is smooth);
- projection: ``mse(I1, X1)``, weighted 500: ``N`` removes only what does not fit.

Enhancement is ``L ** gamma * R`` (the generator's ``gamma``, 0.2). The paper trains with
Adam 1e-4 (betas 0.9, 0.999), batch 1, 128-pixel crops, 400 epochs, halving the learning
rate every 100; :attr:`PairLIEMethod.lr_step_epochs` and ``lr_factor`` give that schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from egan_core.errors import TrainingError
from egan_core.generator_io import enhance_with, from_model_range
from egan_core.recipe import TrainSpec
from egan_core.training.method import DiscriminatorUse, Method, StepContext
from egan_core.training.step import Parts, backward_sum


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference over two pixels, down plus across (the paper's ``tv``)."""
    down = (x[:, :, 2:, :] - x[:, :, :-2, :]).abs().mean()
    across = (x[:, :, :, 2:] - x[:, :, :, :-2]).abs().mean()
    return down + across


def pairlie_losses(shot1: torch.Tensor, parts1: Mapping[str, torch.Tensor],
                   parts2: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The three unweighted terms from the decompositions of two shots (images in [0, 1])."""
    light, refl, clean = parts1["illumination"], parts1["reflectance"], parts1["denoised"]
    brightest = shot1.amax(dim=1, keepdim=True)
    retinex = (F.mse_loss(light * refl, clean) + F.mse_loss(refl, clean / light.detach())
               + F.mse_loss(light, brightest) + total_variation(light))
    return {"consistency": F.mse_loss(refl, parts2["reflectance"]), "retinex": retinex,
            "projection": F.mse_loss(shot1, clean)}


class PairLIEMethod(Method):
    """PairLIE's training: a decomposition of two shots of one scene, tied by their reflectance.

    Args:
        consistency: weight of ``mse(R1, R2)`` (the paper: 1).
        retinex: weight of the Retinex terms (1).
        projection: weight of ``mse(I1, X1)`` (500).
        lr_step_epochs: multiply the learning rate by ``lr_factor`` every this many
            epochs (the paper: 100 of 400); 0 keeps ``train.lr``.
        lr_factor: that factor (0.5).
    """

    defaults: ClassVar[Mapping[str, Any]] = {
        "model": {"generator": {"name": "pairlie"}, "discriminator": None},
        "losses": {},
    }
    discriminator: ClassVar[DiscriminatorUse] = "none"
    takes_losses: ClassVar[bool] = False

    def __init__(self, consistency: float = 1.0, retinex: float = 1.0, projection: float = 500.0,
                 lr_step_epochs: int = 100, lr_factor: float = 0.5) -> None:
        for name, value in (("consistency", consistency), ("retinex", retinex),
                            ("projection", projection)):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if lr_step_epochs < 0:
            raise ValueError(f"lr_step_epochs must be >= 0, got {lr_step_epochs}")
        if not 0 < lr_factor <= 1:
            raise ValueError(f"lr_factor must be in (0, 1], got {lr_factor}")
        self.weights = {"consistency": consistency, "retinex": retinex, "projection": projection}
        self.lr_step_epochs, self.lr_factor = lr_step_epochs, lr_factor

    def step(self, parts: Parts, batch: dict[str, torch.Tensor], ctx: StepContext
             ) -> dict[str, torch.Tensor]:
        """Both shots through the three networks, the weighted terms, one optimizer step."""
        if "pair" not in batch:
            raise TrainingError("method 'pairlie' trains on two shots of one scene: set"
                                " data.dataset: scene_pairs (a dataset whose samples carry 'pair')")
        shot1, shot2 = from_model_range(batch["input"]), from_model_range(batch["pair"])
        with ctx.autocast():
            _, parts1 = enhance_with(parts.generator_fwd, shot1)
            _, parts2 = enhance_with(parts.generator_fwd, shot2)
            raw = pairlie_losses(shot1, parts1, parts2)
            terms = {name: value * self.weights[name] for name, value in raw.items()}
        terms["g_total"] = backward_sum(terms, ctx, shot1)
        return {k: v.detach().float() for k, v in terms.items()}

    def learning_rate(self, train: TrainSpec, epoch: int) -> float:
        """``train.lr`` times ``lr_factor`` once per ``lr_step_epochs`` epochs completed."""
        if self.lr_step_epochs == 0:
            return train.lr
        return train.lr * self.lr_factor ** ((epoch - 1) // self.lr_step_epochs)
