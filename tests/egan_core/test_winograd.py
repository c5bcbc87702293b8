"""Winograd 3x3 convolutions (NNPACK): the same function and gradients as ``F.conv2d``."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from egan_core import winograd

needs_nnpack = pytest.mark.skipif(not winograd.available(),
                                  reason="this PyTorch build has no NNPACK (or the CPU lacks AVX2)")


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@needs_nnpack
@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("bias", [True, False])
def test_forward_and_gradients_match_conv2d(padding: int, bias: bool) -> None:
    gen = torch.Generator().manual_seed(padding)
    x = torch.randn(2, 5, 17, 22, generator=gen, requires_grad=True)
    w = torch.randn(7, 5, 3, 3, generator=gen, requires_grad=True)
    b = torch.randn(7, generator=gen, requires_grad=True) if bias else None
    x2, w2 = x.detach().clone().requires_grad_(), w.detach().clone().requires_grad_()
    b2 = b.detach().clone().requires_grad_() if b is not None else None
    ref = F.conv2d(x, w, b, padding=padding)
    got = winograd.conv2d(x2, w2, b2, padding)
    assert got.shape == ref.shape
    assert _rel(got, ref) < 1e-4
    grad = torch.randn(ref.shape, generator=gen)
    ref.backward(grad)
    got.backward(grad)
    assert _rel(x2.grad, x.grad) < 1e-4
    assert _rel(w2.grad, w.grad) < 1e-5
    if b is not None:
        assert _rel(b2.grad, b.grad) < 1e-5


@needs_nnpack
def test_frozen_weights_give_the_input_gradient_only() -> None:
    w = torch.randn(4, 3, 3, 3)
    x = torch.randn(1, 3, 9, 9, requires_grad=True)
    winograd.conv2d(x, w, None, 1).square().sum().backward()
    ref_x = x.detach().clone().requires_grad_()
    F.conv2d(ref_x, w, padding=1).square().sum().backward()
    assert x.grad is not None and _rel(x.grad, ref_x.grad) < 1e-4


def test_only_stride_one_3x3_zero_padded_convolutions_are_eligible() -> None:
    assert winograd.eligible(nn.Conv2d(3, 4, 3, padding=1))
    assert winograd.eligible(nn.Conv2d(3, 4, 3, padding=0))
    assert not winograd.eligible(nn.Conv2d(3, 4, 1))
    assert not winograd.eligible(nn.Conv2d(3, 4, 3, stride=2, padding=1))
    assert not winograd.eligible(nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"))
    assert not winograd.eligible(nn.Conv2d(4, 4, 3, padding=1, groups=2))
    assert not winograd.eligible(nn.Conv2d(3, 4, 3, padding=3))
    assert not winograd.eligible(nn.Conv2d(3, 4, 3, padding=1, dilation=2))
    assert not winograd.eligible(nn.Linear(3, 4))


@needs_nnpack
def test_swapped_network_keeps_its_weights_and_runs_both_ways() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1),
                        nn.Conv2d(8, 3, 1))
    swapped = copy.deepcopy(net)
    assert winograd.use_winograd(swapped) == 1
    assert type(swapped[0]) is winograd.WinogradConv2d and type(swapped[2]) is nn.Conv2d
    assert swapped.state_dict().keys() == net.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(swapped.state_dict().values(), net.state_dict().values(),
                                                strict=True))
    x = torch.rand(2, 3, 37, 40)
    with torch.no_grad():
        ref = net(x)
        assert torch.equal(swapped(x), ref)  # outside enabled(): the ordinary convolution
        with winograd.enabled():
            inside = swapped(x)
            assert winograd.active(x) and not winograd.active(x.double())
            with torch.autocast("cpu", dtype=torch.bfloat16):
                assert not winograd.active(x)
        assert not winograd.active(x)
    assert not torch.equal(inside, ref) and _rel(inside, ref) < 1e-4


def test_nothing_is_swapped_without_nnpack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(winograd, "_nnpack_ready", lambda: False)  # a build without NNPACK
    assert not winograd.available() and not winograd.available("cpu")
    net = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1))
    assert winograd.use_winograd(net) == 0 and type(net[0]) is nn.Conv2d


def test_winograd_runs_on_the_cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(winograd, "_nnpack_ready", lambda: True)  # a build with NNPACK
    assert winograd.available() and winograd.available(torch.device("cpu"))
    assert not winograd.available("cuda") and not winograd.available(torch.device("cuda", 0))
    assert not winograd.available("meta")


@needs_nnpack
def test_the_feature_losses_vgg_follows_the_switch() -> None:
    from egan_plugins.losses.vgg import build_vgg

    vgg = build_vgg("none")
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        ref = vgg(x, ["relu3_1"])[0]
        with winograd.enabled():
            got = vgg(x, ["relu3_1"])[0]
    assert not torch.equal(got, ref) and _rel(got, ref) < 1e-4


_IMAGE_THREADS = """
import sys, torch, torch.nn.functional as F
from egan_core import winograd
torch.set_num_threads(2)
first = sys.argv[1]
if first == "conv":  # a Winograd convolution first: NNPACK's pool exists, the mode cannot change
    winograd.conv2d(torch.randn(1, 2, 8, 8), torch.randn(2, 2, 3, 3))
took = winograd.image_threads()
gen = torch.Generator().manual_seed(0)
rel = lambda a, b: float((a - b).abs().max() / b.abs().max())
err = 0.0
for pad in (0, 1, 2):  # every output size the batch's output buffer is made for
    x = torch.randn(3, 4, 20, 24, generator=gen, requires_grad=True)
    w = torch.randn(6, 4, 3, 3, generator=gen, requires_grad=True)
    got = winograd.conv2d(x, w, None, pad)
    got.square().sum().backward()
    gx, gw = x.grad.clone(), w.grad.clone()
    x.grad = w.grad = None
    ref = F.conv2d(x, w, padding=pad)
    ref.square().sum().backward()
    assert got.shape == ref.shape, (got.shape, ref.shape)
    err = max(err, rel(got, ref), rel(gx, x.grad), rel(gw, w.grad))
x, w = torch.randn(3, 4, 20, 24, generator=gen), torch.randn(6, 4, 3, 3, generator=gen)
with torch.inference_mode():  # enhancement's mode: the workers write an inference tensor
    got = winograd.conv2d(x, w, None, 1)
err = max(err, rel(got, F.conv2d(x, w, padding=1)))
print(took, winograd.image_threads(), err < 1e-4)
"""


@needs_nnpack
@pytest.mark.parametrize("first, expected", [("mode", "True True True"), ("conv", "False False True")])
def test_image_threads_only_before_the_first_convolution_and_same_results(first: str, expected: str) -> None:
    """The images of a batch on threads of their own: the same function and gradients; the
    mode is taken only in a process whose NNPACK pool does not exist yet (a fresh one)."""
    done = subprocess.run([sys.executable, "-c", _IMAGE_THREADS, first], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == expected.split()
