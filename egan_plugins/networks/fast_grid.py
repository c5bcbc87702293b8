"""A real-time generator (``fast_grid``): a low-res CNN predicts a grid of tone transforms.

The heavy part runs on a fixed-size downscaled copy of the image, so its cost does not grow
with the photo; at full resolution each pixel only gets its coefficients by bilinear
interpolation of a coarse grid and applies them (a few tens of operations). The idea is
that of HDRNet (Gharbi et al., SIGGRAPH 2017), with the bilateral grid's luma axis replaced
by a quadratic in luma, which needs no 3-D slicing (slow on CPUs) and keeps the
coefficient maps at 8 channels. Per pixel, with ``x`` the [0, 1] RGB and ``L`` its luma::

    out_c = a_c * x_c + b_c + (s + t * L) * L          (c = r, g, b)

``a``, ``b`` (3 each), ``s`` and ``t`` vary smoothly over the image: a per-region colour gain
and offset plus a per-region tone curve in luma.

That transform cannot make the fine texture a GAN draws. The optional *detail branch*
(``detail``: box-filter radii, ``fast`` v2) adds it back at full resolution from the input's
own high frequencies: differences of box blurs of the input's luma and of its colour
(``x - L``), each band scaled per pixel by a gain that a tiny per-pixel network predicts
from the local brightening (log of output over input luma), the output's luma and the
input's::

    out = T(x) + sum_i g_i * (Y_{i-1} - Y_i) + sum_i h_i * (C_{i-1} - C_i)

with ``Y_0 = L``, ``Y_i = box_{r_i}(L)``, ``C_0 = x - L``, ``C_i = box_{r_i}(x - L)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from egan_core.generator_io import LUMA
from egan_core.threads import on_serial_thread, on_serial_threads, serial_if_small
from egan_plugins.networks.bands import BAND_PIXELS
from egan_plugins.networks.fast_grid_onnx import write_banded_onnx, write_traced_onnx
from egan_plugins.networks.init import seeded

#: Coefficient channels: a_r, a_g, a_b, b_r, b_g, b_b, s, t.
COEFFS = 8
#: Up to this many pixels :meth:`FastGridNet.enhance_uint8` computes the low-resolution copy
#: from a float copy of the image (:meth:`FastGridNet.low_res_float`, fastest); above, from
#: the few pixels it samples (:meth:`FastGridNet.low_res_uint8`: no full-size float copy).
FLOAT_COPY_PIXELS = 1 << 22
#: ``load(n, start, stop, buf)`` of :meth:`FastGridNet._bands`: a band's ``(3, h, W)`` float pixels.
Loader = Callable[[int, int, int, torch.Tensor], torch.Tensor]
#: ``source(n, top, bottom)``: rows of image ``n`` as ``(rows, W, 3)`` float32 RGB (the detail branch).
Source = Callable[[int, int, int], np.ndarray]
#: ``consume(n, start, stop, band)``: receives each enhanced band (see :meth:`FastGridNet.enhance_uint8`).
Consumer = Callable[[int, int, int, torch.Tensor], None]


def interpolation_matrix(n_out: int, n_in: int, device: torch.device | None = None) -> torch.Tensor:
    """``(n_out, n_in)`` weights of PyTorch's 1-D linear resize (``align_corners=False``).

    Training upsamples the grid as two small matrix products instead of
    ``F.interpolate``, whose backward pass (a scatter) is many times slower on CPUs; the
    forward values are the same.
    """
    src = ((torch.arange(n_out, dtype=torch.float64) + 0.5) * (n_in / n_out) - 0.5).clamp(min=0)
    first = src.floor().long().clamp(max=n_in - 1)
    frac = src - first
    out = torch.zeros(n_out, n_in, dtype=torch.float64)
    rows = torch.arange(n_out)
    out.index_put_((rows, first), 1 - frac, accumulate=True)
    out.index_put_((rows, (first + 1).clamp(max=n_in - 1)), frac, accumulate=True)
    return out.float().to(device)


def _bilinear_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """Source indices (first, second) and weight of the second, per output sample, of
    PyTorch's 1-D linear resize (``align_corners=False``), as ``F.interpolate`` computes them."""
    src = ((np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * np.float32(n_in / n_out)
           - np.float32(0.5)).clip(min=0)
    first = src.astype(np.int64).clip(max=n_in - 1)
    return first, np.minimum(first + 1, n_in - 1), torch.from_numpy(src - first.astype(np.float32))


#: Offset in the detail branch's log gain ``log((L_out + eps) / (L_in + eps))``: black
#: pixels get a finite gain.
DETAIL_EPS = 0.02


def box_blur(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the ``(2 radius + 1)^2`` square around each pixel, edges replicated (as
    ``cv2.blur`` with ``BORDER_REPLICATE``, which the banded pass uses)."""
    return F.avg_pool2d(F.pad(x, (radius,) * 4, mode="replicate"), 2 * radius + 1, stride=1)


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)


class FastGridNet(nn.Module):
    """Low-res CNN -> grid of per-region colour/tone coefficients -> full-res application.

    Args:
        size: side of the square, downscaled copy the CNN sees (any aspect is squashed to it,
            as HDRNet does), a multiple of 64; the grid is ``size / 16`` cells a side.
        width: channels of the CNN's deepest layers.
        seed: seed of the weight initialisation (injected from the recipe's ``seed``).
        detail: radii of the detail branch's box blurs, increasing (``fast`` v2: 1, 2, 4);
            empty: no detail branch (``fast`` v1, a pure per-region transform).
        detail_width: hidden channels of the detail branch's per-pixel network.
    """

    #: Works on [0, 1] images, needs no attention map and pads nothing (any size runs as is).
    value_range = "unit"
    needs_attention = False
    pad_multiple = 1

    def __init__(self, size: int = 256, width: int = 64, seed: int = 0, detail: Sequence[int] = (),
                 detail_width: int = 8) -> None:
        super().__init__()
        if size < 64 or size % 64:
            raise ValueError(f"size must be a multiple of 64; got {size}")
        if width < 8:
            raise ValueError(f"width must be at least 8, got {width}")
        radii = tuple(int(r) for r in detail)
        if any(r < 1 for r in radii) or list(radii) != sorted(set(radii)):
            raise ValueError(f"detail must be increasing radii >= 1, got {list(detail)}")
        if radii and detail_width < 1:
            raise ValueError(f"detail_width must be >= 1, got {detail_width}")
        self.detail_radii = radii
        self.size, self.width = size, width
        w4, w2 = width // 4, width // 2
        self.splat = nn.ModuleList([_conv(3, w4, 2), _conv(w4, w2, 2), _conv(w2, width, 2),
                                    _conv(width, width, 2)])
        self.local = nn.ModuleList([_conv(width, width), _conv(width, width)])
        self.glob = nn.ModuleList([_conv(width, width, 2), _conv(width, width, 2)])
        cells = (size // 64) ** 2  # of the global branch's last feature map
        self.fc = nn.Sequential(nn.Linear(width * cells, 2 * width), nn.ReLU(), nn.Linear(2 * width, width))
        self.head = nn.Conv2d(width, COEFFS, 1)
        self.register_buffer("luma", torch.tensor(LUMA).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("identity", torch.tensor([1.0, 1, 1, 0, 0, 0, 0, 0]).view(1, COEFFS, 1, 1),
                             persistent=False)
        gen = seeded(seed)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=gen)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.head.weight, std=1e-3, generator=gen)  # start near the identity
        self.detail: nn.Sequential | None = None
        if radii:  # after v1's initialisation, which it leaves as it was
            self.detail = nn.Sequential(nn.Conv2d(3, detail_width, 1), nn.ReLU(),
                                        nn.Conv2d(detail_width, 2 * len(radii), 1))
            nn.init.kaiming_normal_(self.detail[0].weight, nonlinearity="relu", generator=gen)
            nn.init.zeros_(self.detail[0].bias)
            nn.init.zeros_(self.detail[2].weight)  # no detail until trained: v1's output
            nn.init.zeros_(self.detail[2].bias)

    def low_res(self, x: torch.Tensor) -> torch.Tensor:
        """The fixed-size copy the CNN sees: ``(N, 3, size, size)``.

        Bilinear sampling at twice the size then 2x2 averaging: a cheap anti-aliased
        downscale (a fixed number of samples whatever the photo's size) that exports to ONNX.
        """
        twice = F.interpolate(x, size=(2 * self.size, 2 * self.size), mode="bilinear",
                              align_corners=False)
        return F.avg_pool2d(twice, 2)

    def low_res_uint8(self, image: np.ndarray) -> torch.Tensor:
        """:meth:`low_res` of an ``(N, H, W, 3)`` uint8 array, read as ``uint8 / 255``.

        Only the pixels the bilinear sampling reads (two rows and two columns per sample)
        are gathered and converted, so no full-size float copy of the image is made. The
        values equal :meth:`low_res` of the float image up to float rounding (the same
        samples and weights, summed in another order).
        """
        n2 = 2 * self.size
        (y0, y1, wy), (x0, x1, wx) = (_bilinear_taps(image.shape[k], n2) for k in (1, 2))
        rows = np.take(image, np.concatenate([y0, y1]), axis=1)
        taps = torch.from_numpy(np.take(rows, np.concatenate([x0, x1]), axis=2).astype(np.float32))
        taps.div_(255)  # (N, 2 * 2S, 2 * 2S, 3): the four neighbours of every sample
        wx = wx.view(1, 1, -1, 1)
        top = torch.lerp(taps[:, :n2, :n2], taps[:, :n2, n2:], wx)  # x first, then y
        bottom = torch.lerp(taps[:, n2:, :n2], taps[:, n2:, n2:], wx)
        return F.avg_pool2d(torch.lerp(top, bottom, wy.view(1, -1, 1, 1)).permute(0, 3, 1, 2), 2)

    def low_res_float(self, image: np.ndarray) -> torch.Tensor:
        """:meth:`low_res` of one ``(H, W, 3)`` uint8 image, by OpenCV on a float copy of it.

        ``cv2.resize``'s bilinear mode samples the same pixels with the same weights as
        ``F.interpolate`` (no antialiasing either) and its area mode at exactly half size
        is the 2x2 average: equal to :meth:`low_res` up to float rounding, and faster on
        ``HxWx3`` pixels (no layout change first; docs/benchmarks.md).
        """
        x = np.divide(image.astype(np.float32), np.float32(255), dtype=np.float32)
        twice = cv2.resize(x, (2 * self.size, 2 * self.size), interpolation=cv2.INTER_LINEAR)
        low = cv2.resize(twice, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return torch.from_numpy(low).permute(2, 0, 1)[None].contiguous()

    def grid(self, x: torch.Tensor) -> torch.Tensor:
        """Coefficient grid ``(N, 8, size/16, size/16)`` of a [0, 1] image (any size)."""
        return self.coefficients(self.low_res(x))

    def coefficients(self, low: torch.Tensor) -> torch.Tensor:
        """The coefficient grid from the fixed-size copy ``low`` (see :meth:`low_res`)."""
        feats = low * 2 - 1
        for conv in self.splat:
            feats = F.relu(conv(feats))
        local = self.local[1](F.relu(self.local[0](feats)))
        g = feats
        for conv in self.glob:
            g = F.relu(conv(g))
        g = g.flatten(1)  # (size / 64)^2 cells of global features
        fused = F.relu(local + self.fc(g)[:, :, None, None])
        return self.head(fused) + self.identity

    @staticmethod
    def _transform(x: torch.Tensor, coef: torch.Tensor, luma: torch.Tensor) -> torch.Tensor:
        """``a * x + b + (s + t L) L`` with full-size (or broadcastable) coefficients."""
        lum = (x * luma).sum(1, keepdim=True)
        tone = torch.addcmul(coef[:, 6:7], coef[:, 7:8], lum) * lum
        return torch.addcmul(coef[:, 3:6], coef[:, 0:3], x) + tone

    def enhance(self, x: torch.Tensor, grid: torch.Tensor | None = None, detail: bool = True) -> torch.Tensor:
        """Enhance ``(N, 3, H, W)`` in [0, 1] -> [0, 1] (not clipped), differentiable.

        ``grid``: coefficients to apply instead of :meth:`grid`'s (video smooths them over time).
        ``detail``: False leaves out the detail branch (the per-region transform alone).
        """
        grid = self.grid(x) if grid is None else grid
        if torch.is_grad_enabled() and not torch.jit.is_tracing():
            rows = interpolation_matrix(x.shape[-2], grid.shape[-2], x.device)
            cols = interpolation_matrix(x.shape[-1], grid.shape[-1], x.device)
            coef = rows @ (grid @ cols.T)
        else:
            coef = F.interpolate(grid, size=x.shape[-2:], mode="bilinear", align_corners=False)
        out = self._transform(x, coef, self.luma)
        if detail and self.detail is not None:
            out = out + self.detail_residual(x, out)
        return out

    def detail_gains(self, lum_in: torch.Tensor, lum_out: torch.Tensor) -> torch.Tensor:
        """The detail branch's per-pixel gains ``(N, 2 len(detail), ...)`` from the input's
        and the (clipped) output's luma, ``(N, 1, ...)`` each."""
        assert self.detail is not None
        gain = torch.log((lum_out + DETAIL_EPS) / (lum_in + DETAIL_EPS))
        return self.detail(torch.cat([gain, lum_out, lum_in.clamp(min=0).sqrt()], 1))

    def detail_residual(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """What the detail branch adds to the transform's output ``out`` of ``x`` (see the
        module docstring), whole frame, differentiable."""
        lum = (x * self.luma).sum(1, keepdim=True)
        gains = self.detail_gains(lum, (out.clamp(0.0, 1.0) * self.luma).sum(1, keepdim=True))
        colour = x - lum
        n = len(self.detail_radii)
        residual = torch.zeros_like(x)
        finer_lum, finer_colour = lum, colour
        for i, radius in enumerate(self.detail_radii):
            low_lum, low_colour = box_blur(lum, radius), box_blur(colour, radius)
            residual = (residual + gains[:, i:i + 1] * (finer_lum - low_lum)
                        + gains[:, n + i:n + i + 1] * (finer_colour - low_colour))
            finer_lum, finer_colour = low_lum, low_colour
        return residual

    @torch.no_grad()
    def enhance_banded(self, x: torch.Tensor, grid: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`enhance` for inference, in bands of rows on one intra-op thread (:meth:`_bands`).

        The output has the input's layout (channels-last views stay channels-last). The
        thread count is restored afterwards.
        """
        with serial_if_small(0):
            if (torch.jit.is_tracing() or x.shape[-1] * x.shape[-2] <= BAND_PIXELS
                    or x.dtype != torch.float32 or (self.detail is not None and x.device.type != "cpu")):
                return self.enhance(x, grid)
            grid = self.grid(x) if grid is None else grid
            out = torch.empty_like(x)
            last = x.permute(0, 2, 3, 1).is_contiguous() and x.device.type == "cpu"

            def source(n: int, top: int, bottom: int) -> np.ndarray:
                return x[n, :, top:bottom].permute(1, 2, 0).contiguous().numpy()

            if not last:
                self._bands_split(grid, x.shape[-2:], lambda n, a, b, buf: x[n, :, a:b], lambda *_: None,
                                  out, source)
                return out
            # channels-last views of HxWx3 arrays: bands are split and merged with OpenCV
            src, dst = x.permute(0, 2, 3, 1).numpy(), out.permute(0, 2, 3, 1).numpy()

            def load(n: int, start: int, stop: int, buf: torch.Tensor) -> torch.Tensor:
                for c, plane in enumerate(cv2.split(src[n, start:stop])):
                    buf[c].copy_(torch.from_numpy(plane))
                return buf

            def merge(n: int, start: int, stop: int, band: torch.Tensor) -> None:
                cv2.merge([plane.numpy() for plane in band], dst=dst[n, start:stop])

            self._bands_split(grid, x.shape[-2:], load, merge, None, source)
            return out

    @torch.no_grad()
    def grid_uint8(self, image: np.ndarray) -> torch.Tensor:
        """:meth:`grid` of one ``(H, W, 3)`` uint8 image, as :meth:`enhance_uint8` computes it."""
        h, w = image.shape[:2]
        if h * w <= BAND_PIXELS:
            x = torch.from_numpy(image.astype(np.float32)).div_(255)
            return self.grid(x.permute(2, 0, 1)[None])
        if h * w <= FLOAT_COPY_PIXELS:
            return self.coefficients(self.low_res_float(image))
        return self.coefficients(self.low_res_uint8(image[None]))

    @torch.no_grad()
    def grid_ycc(self, planes: Sequence[np.ndarray], to_rgb: np.ndarray) -> torch.Tensor:
        """:meth:`grid` of one frame given as Y'CbCr planes (uint8, chroma at any size).

        Each plane is resampled to the CNN's input as :meth:`low_res` samples the image and
        converted to RGB there: the conversion is affine, so it commutes with the
        resampling (up to the uint8 rounding of the resampled planes and the clipping of
        out-of-gamut colours, which here happens after it).
        """
        n2 = 2 * self.size
        twice = cv2.merge([cv2.resize(p, (n2, n2), interpolation=cv2.INTER_LINEAR) for p in planes])
        rgb = cv2.transform(twice.astype(np.float32), (to_rgb / 255).astype(np.float32))
        low = cv2.resize(np.clip(rgb, 0.0, 1.0, out=rgb), (self.size, self.size),
                         interpolation=cv2.INTER_AREA)
        return self.coefficients(torch.from_numpy(low).permute(2, 0, 1)[None].contiguous())

    @torch.no_grad()
    def enhance_ycc(self, planes: Sequence[np.ndarray], to_rgb: np.ndarray, grid: torch.Tensor,
                    finish: Consumer) -> None:
        """:meth:`enhance_uint8` of one frame given as full-size Y'CbCr planes (uint8), with
        the coefficient ``grid`` (:meth:`grid_ycc`): each band of rows is converted to RGB
        (clipped to [0, 1]) as it is loaded. On a worker thread with one intra-op thread."""
        h, w = planes[0].shape
        matrix = (to_rgb / 255).astype(np.float32)
        # each RGB channel as OpenCV's weighted sums of the uint8 planes that it depends on
        # (BT.601 and 709: R and B on two, G on three), read and converted in one pass each
        terms = [[(j, float(matrix[c, j])) for j in range(3) if matrix[c, j] != 0] or [(0, 0.0)]
                 for c in range(3)]

        def load(_: int, start: int, stop: int, buf: torch.Tensor) -> torch.Tensor:
            rows = [plane[start:stop] for plane in planes]
            for c, dst in enumerate(buf.numpy()):
                (j, a), *rest = terms[c]
                k, b = rest.pop(0) if rest else (j, 0.0)
                cv2.addWeighted(rows[j], a, rows[k], b, float(matrix[c, 3]), dst=dst, dtype=cv2.CV_32F)
                for k, b in rest:
                    cv2.addWeighted(dst, 1.0, rows[k], b, 0.0, dst=dst, dtype=cv2.CV_32F)
            return buf.clamp_(0.0, 1.0)

        def source(_: int, top: int, bottom: int) -> np.ndarray:
            rgb = cv2.transform(cv2.merge([plane[top:bottom] for plane in planes]).astype(np.float32), matrix)
            return np.clip(rgb, 0.0, 1.0, out=rgb)

        on_serial_thread(lambda: self._bands(grid, (h, w), load, finish, source=source))

    @torch.no_grad()
    def enhance_uint8(self, image: np.ndarray, finish: Consumer, grid: torch.Tensor | None = None) -> None:
        """:meth:`enhance_banded` of an ``(N, H, W, 3)`` uint8 array (read as ``uint8 / 255``).

        ``finish(n, start, stop, band)`` receives rows ``start:stop`` of image ``n``
        enhanced, as ``(3, stop - start, W)`` float32 planes (not clipped) in a buffer that
        the next band reuses (it may change it in place). No full-size float copy of the
        result is made (nor of the image above :data:`FLOAT_COPY_PIXELS`): memory stays near
        the uint8 input and output. Runs on a worker thread of its own that has one
        intra-op thread (``finish`` too; see :func:`egan_core.threads.on_serial_thread`).
        """
        def run() -> None:
            for n in range(image.shape[0]):
                self._enhance_one_uint8(image[n], lambda _, a, b, band, n=n: finish(n, a, b, band),
                                        None if grid is None else grid[n:n + 1])

        on_serial_thread(run)

    def _enhance_one_uint8(self, image: np.ndarray, finish: Consumer, grid: torch.Tensor | None) -> None:
        """:meth:`enhance_uint8` of one ``(H, W, 3)`` image (``finish`` gets ``n = 0``)."""
        h, w = image.shape[:2]
        if h * w <= BAND_PIXELS:  # one band: the whole-frame pass
            x = torch.from_numpy(image.astype(np.float32)).div_(255)
            finish(0, 0, h, self.enhance(x.permute(2, 0, 1)[None], grid)[0])
            return
        if grid is None:
            grid = self.grid_uint8(image)

        def load(_: int, start: int, stop: int, buf: torch.Tensor) -> torch.Tensor:
            for c, plane in enumerate(cv2.split(image[start:stop])):
                buf[c].copy_(torch.from_numpy(plane))
            return buf.div_(255)

        def source(_: int, top: int, bottom: int) -> np.ndarray:
            return np.divide(image[top:bottom], np.float32(255), dtype=np.float32)

        self._bands_split(grid, (h, w), load, finish, None, source)

    def _bands_split(self, grid: torch.Tensor, size: tuple[int, int], load: Loader, consume: Consumer,
                     out: torch.Tensor | None, source: Source) -> None:
        """:meth:`_bands` of a still image. Without the detail branch, on this thread. With it,
        the top and bottom halves of the rows on two threads of one intra-op thread each
        (:func:`on_serial_threads`), since the branch's blurs and products are heavy enough to
        use both cores: ``load`` and ``consume`` must then be safe to call from two threads on
        different rows."""
        if self.detail is None:
            self._bands(grid, size, load, consume, out)
            return
        h = size[0]
        halves = [(0, h // 2), (h // 2, h)]
        on_serial_threads([lambda rows=rows: self._bands(grid, size, load, consume, out, source, rows)
                           for rows in halves])

    def _bands(self, grid: torch.Tensor, size: tuple[int, int], load: Loader, consume: Consumer,
               out: torch.Tensor | None = None, source: Source | None = None,
               rows_range: tuple[int, int] | None = None) -> None:
        """The banded pass: the same function as :meth:`enhance`, on one intra-op thread.

        The coefficient maps are interpolated along x once (``grid rows x W``, small); each
        band of rows (within one grid interval) interpolates them along y and applies them
        in planar layout (every operation on contiguous rows, vectorised), so no full-size
        8-channel map is ever allocated and the band buffers stay in the CPU caches.
        ``load(n, start, stop, buf)`` returns the band's ``(3, h, W)`` float pixels (in
        ``buf`` or a view); the result goes to ``out[n, :, start:stop]`` when ``out`` is
        given, else to a reused buffer, and then to ``consume(n, start, stop, result)``.
        ``source(n, top, bottom)``: rows of image ``n`` as ``(rows, W, 3)`` float32 RGB, for the
        detail branch (which needs a few rows around each band); None leaves the branch out.
        ``rows_range``: only the rows ``(first, end)`` (default: all).

        The caller runs it on one intra-op thread: each band's operations are small and
        memory-bound, and splitting every one across threads makes it wait for all the
        workers, which on a busy machine means a descheduled worker per operation. Without
        the detail branch, Python threads on parts of the rows do not help either: the
        per-operation overhead holds the GIL (figures in docs/benchmarks.md, *The fast
        model*); with it, each band's work is heavy enough (:meth:`_bands_split`).
        """
        h, w = size
        gh = grid.shape[-2]
        rows = F.interpolate(grid, size=(gh, w), mode="bilinear", align_corners=False).contiguous()
        # PyTorch's bilinear source row for output row i: max(0, (i + 0.5) * gh / h - 0.5)
        src = ((torch.arange(h, dtype=torch.float64) + 0.5) * (gh / h) - 0.5).clamp(min=0)
        first_t = src.floor().long().clamp(max=gh - 1)
        frac = (src - first_t).float().to(grid.device)
        first = first_t.tolist()
        step = max(1, BAND_PIXELS // w)
        luma = self.luma.view(1, 3)
        new = {"device": grid.device, "dtype": torch.float32}
        pix_buf, coef_buf = torch.empty(3, step * w, **new), torch.empty(COEFFS, step * w, **new)
        out_buf = torch.empty(3, step * w, **new)
        lo, hi = (0, h) if rows_range is None else rows_range
        for n in range(grid.shape[0]):
            start = lo
            while start < hi:
                i0 = first[start]
                stop = start
                while stop < hi and stop - start < step and first[stop] == i0:
                    stop += 1
                i1 = min(i0 + 1, gh - 1)
                band = (stop - start) * w
                x = load(n, start, stop, pix_buf[:, :band].view(3, -1, w))
                coef = torch.lerp(rows[n, :, i0:i0 + 1], rows[n, :, i1:i1 + 1],
                                  frac[start:stop].view(1, -1, 1), out=coef_buf[:, :band].view(COEFFS, -1, w))
                lum = torch.mm(luma, x.reshape(3, band)).view(-1, w)
                tone = torch.addcmul(coef[6], coef[7], lum).mul_(lum)
                dst = out_buf[:, :band].view(3, -1, w) if out is None else out[n, :, start:stop]
                torch.addcmul(coef[3:6], coef[0:3], x, out=dst)
                dst.add_(tone)
                if source is not None and self.detail is not None:
                    self._detail_band(source, n, start, stop, h, x, dst)
                consume(n, start, stop, dst)
                start = stop

    def _detail_band(self, source: Source, n: int, start: int, stop: int, height: int,
                     x: torch.Tensor, out: torch.Tensor) -> None:
        """Add :meth:`detail_residual` of rows ``start:stop`` to ``out`` (the band's
        transform output, ``(3, rows, W)``; ``x`` its input).

        The rows of ``source`` around the band (as far as the widest blur reaches) are
        blurred in OpenCV with edges replicated, so the band's rows equal the whole frame's.
        The sum over blur levels is regrouped so each level is read once::

            sum_i d_i (Y_{i-1} - Y_i) = d_1 Y_0 + sum_{0<j<n} (d_{j+1} - d_j) Y_j - d_n Y_n

        and the colour terms ``C = x - L`` become terms of ``x`` and of ``L`` (blurs are linear).
        """
        assert self.detail is not None
        reach = self.detail_radii[-1]
        top, bottom = max(0, start - reach), min(height, stop + reach)
        rgb = source(n, top, bottom)  # (rows, W, 3) float32
        lum_all = cv2.transform(rgb, self.luma.view(1, 3).numpy())
        planes = cv2.split(rgb)
        inner = slice(start - top, stop - top)
        rows, w = stop - start, rgb.shape[1]
        lum = torch.from_numpy(lum_all[inner]).view(1, -1)
        lum_out = torch.mm(self.luma.view(1, 3), out.clamp(0.0, 1.0).view(3, -1))
        first, last = self.detail[0], self.detail[2]
        feats = torch.cat([torch.log((lum_out + DETAIL_EPS) / (lum + DETAIL_EPS)), lum_out,
                           lum.clamp(min=0).sqrt()])
        hidden = torch.addmm(first.bias[:, None], first.weight.flatten(1), feats).relu_()
        gains = torch.addmm(last.bias[:, None], last.weight.flatten(1), hidden).view(-1, rows, w)
        count = len(self.detail_radii)
        colour = gains[count:]
        luma_only = gains[:count].sub_(colour)
        # level 0 (the pixels themselves) weighs g_1, level j g_{j+1} - g_j, the last -g_n
        out.addcmul_(colour[0], x)
        lum_sum = luma_only[0] * lum.view(rows, w)
        for j, radius in enumerate(self.detail_radii, start=1):
            k = (2 * radius + 1, 2 * radius + 1)
            colour_w = colour[j] - colour[j - 1] if j < count else colour[j - 1].neg()
            luma_w = luma_only[j] - luma_only[j - 1] if j < count else luma_only[j - 1].neg()
            for c, plane in enumerate(planes):
                low = cv2.blur(plane, k, borderType=cv2.BORDER_REPLICATE)[inner]
                out[c].addcmul_(colour_w, torch.from_numpy(low))
            low = cv2.blur(lum_all, k, borderType=cv2.BORDER_REPLICATE)[inner]
            lum_sum.addcmul_(luma_w, torch.from_numpy(low))
        out.add_(lum_sum)

    def write_onnx(self, path: str, example: torch.Tensor, dynamic: bool, opset: int,
                   input_name: str, output_name: str) -> None:
        """``egan export``'s ONNX form: the grid traced, the full-resolution part banded
        (:mod:`egan_plugins.networks.fast_grid_onnx`), as fast in onnxruntime as
        :meth:`enhance_banded` in PyTorch; with the detail branch, the whole model traced."""
        write = write_banded_onnx if self.detail is None else write_traced_onnx
        write(self, path, example, dynamic, opset, input_name, output_name)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The generator contract (``value_range = "unit"``, no attention map).

        Args:
            image: ``(N, 3, H, W)`` in [0, 1], any H and W.

        Returns:
            ``(enhanced, {})``: the enhanced image in [0, 1], not clipped; no auxiliary outputs.
        """
        return self.enhance(image), {}
