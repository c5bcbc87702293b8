"""From losses to optimizer steps: gradient accumulation, clipping and loss scaling."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch


class OptimizerStepper:
    """Backward passes of one run; the optimizers step once per ``accumulate`` steps.

    Losses are divided by ``accumulate`` (the window's gradients sum to its mean), scaled
    when a ``scaler`` is given (fp16), and clipped to ``grad_clip`` on the true (unscaled)
    gradients before each optimizer step.
    """

    def __init__(self, optimizers: Mapping[str, torch.optim.Optimizer], accumulate: int,
                 grad_clip: float | None, scaler: torch.amp.GradScaler | None) -> None:
        self.optimizers, self.accumulate = optimizers, accumulate
        self.grad_clip, self.scaler = grad_clip, scaler

    def backward(self, step: int) -> Callable[[torch.Tensor, str], None]:
        """The ``backward(loss, optimizer_name)`` that a method's step calls at ``step``."""
        window_closes = step % self.accumulate == 0

        def backward(loss: torch.Tensor, name: str) -> None:
            scaled = loss / self.accumulate
            if self.scaler is not None:
                scaled = self.scaler.scale(scaled)
            scaled.backward()
            if window_closes:
                self._step(self.optimizers[name])

        return backward

    def _step(self, opt: torch.optim.Optimizer) -> None:
        if self.grad_clip is not None:  # train.grad_clip: on the true (unscaled) gradients
            if self.scaler is not None:
                self.scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(
                [p for group in opt.param_groups for p in group["params"]], self.grad_clip)
        if self.scaler is not None:
            self.scaler.step(opt)
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)

    def end_step(self, step: int) -> None:
        """After every step: the scaler updates once per window, after its optimizer steps."""
        if self.scaler is not None and step % self.accumulate == 0:
            self.scaler.update()

    def set_lr(self, lr: float) -> None:
        """Every optimizer's learning rate (the schedule sets it once per epoch)."""
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr
