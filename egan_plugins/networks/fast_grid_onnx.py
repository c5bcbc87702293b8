"""``fast_grid``'s ONNX form: the grid by the traced CNN, the full-resolution part as a
``Scan`` over bands of rows.

Traced, :meth:`FastGridNet.enhance` becomes a whole-frame graph: a full-size 8-channel
coefficient map and a dozen full-size passes over it (about 200 bytes of memory traffic per
pixel), which onnxruntime runs far slower than PyTorch's banded pass (docs/benchmarks.md,
*The fast model*). Here only the grid
(the low-resolution copy and the CNN) is traced; the coefficients are interpolated along x
once (``grid rows x W``), and a ``Scan`` walks bands of at most :data:`BAND_PIXELS` pixels
and one grid interval of rows, each gathering its rows of the image, computing each
coefficient group as a (rows x 3) weight matrix times the three grid rows the band lies
between, and applying the transform and clipping while the band is in the CPU caches. Its
output is stacked along the image's row axis, so the result needs no transpose: one
reshape and (where the band height does not divide the image height) one slice.

The band height is the largest divisor of the image height under those bounds, if it is
at least half of them (so the last band needs no padding); otherwise the last band repeats
the image's last row and the extra rows are cut.
The same function as :meth:`FastGridNet.enhance` followed by ``clamp(0, 1)``, up to float
rounding (``egan export`` checks it at 40 dB).

A model with the detail branch (``fast`` v2) is traced whole (:func:`write_traced_onnx`):
its box blurs need the rows around each band, which a ``Scan`` over disjoint bands does not
have.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from egan_core.generator_io import LUMA
from egan_plugins.networks.bands import BAND_PIXELS


class _Grid(nn.Module):
    """``image -> grid``: the part of the model that is traced."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net.grid(image)


class _Clamped(nn.Module):
    """``image -> clamp(enhance(image), 0, 1)``: the whole model, traced."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net.enhance(image).clamp(0.0, 1.0)


def write_traced_onnx(net: nn.Module, path: str, example: torch.Tensor, dynamic: bool,
                      opset: int, input_name: str, output_name: str) -> None:
    """Write ``net`` as one traced whole-frame graph (arguments as :func:`write_banded_onnx`)."""
    axes = {0: "batch", 2: "height", 3: "width"} if dynamic else {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Clamped(net), (example,), path, input_names=[input_name],
                          output_names=[output_name], dynamic_axes={input_name: axes, output_name: axes},
                          opset_version=opset, do_constant_folding=True, dynamo=False)


class _Builder:
    """Appends named nodes and constants to a graph (every name prefixed, no clashes)."""

    def __init__(self, onnx: Any, graph: Any, prefix: str = "band_") -> None:
        self.onnx, self.graph, self.prefix = onnx, graph, prefix
        self.nodes: list[Any] = []

    def const(self, name: str, value: Any, dtype: Any = np.int64) -> str:
        name = self.prefix + name
        self.graph.initializer.append(self.onnx.numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def __call__(self, op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        out = self.prefix + name
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], **attrs))
        return out


def _band_body(onnx: Any, b: _Builder, image: str, groups: list[str], zero_f: str, one_f: str) -> Any:
    """The Scan body: one band's rows ``idx``, the three grid rows ``g3`` it lies between
    and each row's weights ``w3`` on them (a band spans at most two grid intervals)."""
    h, tp = onnx.helper, onnx.TensorProto
    nodes: list[Any] = []

    def op(kind: str, inputs: list[str], out: str, **attrs: Any) -> str:
        nodes.append(h.make_node(kind, inputs, [f"body_{out}"], **attrs))
        return f"body_{out}"

    x = op("Gather", [image, "body_idx"], "x", axis=2)
    # each coefficient group (a: 3 channels, b: 3, s, t) at the band's rows: (rows x 3)
    # weights times the group's three grid rows, one small matrix product, no full copy
    a, bias, s, t = (op("MatMul", ["body_w3", op("Gather", [g, "body_g3"], f"{name}3", axis=2)], name)
                     for g, name in zip(groups, ("a", "b", "s", "t"), strict=True))
    lum = op("Conv", [x, b.const("luma", np.array(LUMA).reshape(1, 3, 1, 1), np.float32)], "lum")
    tone = op("Mul", [op("Add", [s, op("Mul", [t, lum], "tl")], "stl"), lum], "tone")
    out = op("Add", [op("Add", [op("Mul", [a, x], "ax"), bias], "axb"), tone], "out")
    op("Clip", [out, zero_f, one_f], "band")
    inputs = [h.make_tensor_value_info("body_idx", tp.INT64, ["rows"]),
              h.make_tensor_value_info("body_g3", tp.INT64, [3]),
              h.make_tensor_value_info("body_w3", tp.FLOAT, ["rows", 3])]
    outputs = [h.make_tensor_value_info("body_band", tp.FLOAT, ["n", 3, "rows", "w"])]
    return h.make_graph(nodes, "band", inputs, outputs)


def write_banded_onnx(net: nn.Module, path: str, example: torch.Tensor, dynamic: bool,
                      opset: int, input_name: str, output_name: str) -> None:
    """Write ``net`` (a ``FastGridNet``) as ``[0, 1] image -> clamp(enhance(image), 0, 1)``.

    Args:
        net: the model, in eval mode.
        path: the ``.onnx`` file to write.
        example: an input to trace the grid part at.
        dynamic: any batch, height and width (else the example's size only).
        opset: the ONNX opset (``Scan`` with output axes needs 9 or later).
        input_name, output_name: the graph's input and output names.
    """
    import onnx

    axes = {0: "batch", 2: "height", 3: "width"} if dynamic else {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Grid(net), (example,), path, input_names=[input_name], output_names=["grid"],
                          dynamic_axes={input_name: axes, "grid": {0: "batch"}}, opset_version=opset,
                          do_constant_folding=True, dynamo=False)
    model = onnx.load(path)
    graph = model.graph
    b = _Builder(onnx, graph)
    i0_, i2_, i3_ = b.const("axis0", [0]), b.const("axis2", [2]), b.const("axis3", [3])
    one, zero = b.const("one", 1), b.const("zero", 0)
    zero_f, one_f = b.const("zero_f", 0.0, np.float32), b.const("one_f", 1.0, np.float32)
    shape = b("Shape", [input_name], "shape")
    height1, width1 = b("Gather", [shape, i2_], "height1"), b("Gather", [shape, i3_], "width1")
    height, width = b("Squeeze", [height1], "height"), b("Squeeze", [width1], "width")
    grid_shape = b("Shape", ["grid"], "gshape")
    grid_h = b("Squeeze", [b("Gather", [grid_shape, i2_], "gh1")], "gh")
    # the grid interpolated along x once: (N, 8, gh, W), split into its coefficient groups
    sizes = b("Concat", [b("Slice", [grid_shape, i0_, i3_], "g013"), width1], "sizes", axis=0)
    rows = b("Resize", ["grid", "", "", sizes], "rows", mode="linear",
             coordinate_transformation_mode="half_pixel")
    last = b.const("last", [-1])
    group_names = ("a", "b", "s", "t")
    groups = [b.prefix + f"rows_{name}" for name in group_names]
    b.nodes.append(onnx.helper.make_node("Split", [rows, b.const("split", [3, 3, 1, 1])], groups, axis=1))
    # PyTorch's bilinear source row of output row y: max(0, (y + 0.5) * gh / H - 0.5)
    f32, i64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64
    ys = b("Cast", [b("Range", [zero, height, one], "ys_i")], "ys", to=f32)
    scale = b("Div", [b("Cast", [grid_h], "gh_f", to=f32), b("Cast", [height], "h_f", to=f32)], "scale")
    half = b.const("half", 0.5, np.float32)
    src = b("Max", [b("Sub", [b("Mul", [b("Add", [ys, half], "ys5"), scale], "srcm"), half], "srcs"),
                    zero_f], "src")
    gh_1 = b("Sub", [grid_h, one], "gh_1")
    first = b("Min", [b("Cast", [b("Floor", [src], "floor")], "first_i", to=i64), gh_1], "first")
    second = b("Min", [b("Add", [first, one], "first1"), gh_1], "second")
    frac = b("Sub", [src, b("Cast", [first], "first_f", to=f32)], "frac")
    # band height: at most BAND_PIXELS / W rows and one grid interval (H / gh - 1 rows, so
    # a band touches three grid rows at most); the largest divisor of H up to that if it
    # is at least half of it, otherwise that many rows and a padded last band
    most = b("Max", [b("Min", [b("Div", [b.const("band_pixels", BAND_PIXELS), width], "most_px"),
                               b("Sub", [b("Div", [height, grid_h], "interval"), one], "interval_1")],
                          "most_d"), one], "most")
    cands = b("Range", [one, b("Add", [most, one], "most1"), one], "cands")
    divides = b("Equal", [b("Mod", [height, cands], "mods"), zero], "divides")
    divisor = b("ReduceMax", [b("Where", [divides, cands, b.const("zeros1", [0])], "divs")], "divisor",
                keepdims=0)
    good = b("GreaterOrEqual", [b("Mul", [divisor, b.const("two", 2)], "divisor2"), most], "good")
    band = b("Where", [good, divisor, most], "band_rows")
    bands = b("Div", [b("Sub", [b("Add", [height, band], "hb"), one], "hb1"), band], "bands")
    padded = b("Mul", [bands, band], "padded")
    index = b("Min", [b("Range", [zero, padded, one], "all_rows"), b("Sub", [height, one], "h_1")], "index")
    scan_shape = b("Concat", [b("Unsqueeze", [bands, i0_], "bands1"), b("Unsqueeze", [band, i0_], "band1")],
                   "scan_shape", axis=0)
    idx = b("Reshape", [index, scan_shape], "idx")  # (bands, band rows)
    # each band's grid rows g0, g0 + 1, g0 + 2 (clamped), g0 = its first row's
    g0 = b("Gather", [first, b("Gather", [idx, zero], "idx_first", axis=1)], "g0")
    base = b("Unsqueeze", [g0, b.const("axis1", [1])], "g0_1")  # (bands, 1)
    g3 = b("Min", [b("Add", [base, b.const("steps", [0, 1, 2])], "g3_raw"), gh_1], "g3")
    # each row's weights on them: 1 - frac on its first grid row, frac on its second
    k0 = b("Sub", [b("Gather", [first, idx], "first_b"), base], "k0")
    k1 = b("Sub", [b("Gather", [second, idx], "second_b"), base], "k1")
    fr = b("Unsqueeze", [b("Gather", [frac, idx], "frac_b"), i2_], "fr")
    depth, onehot_values = b.const("depth", 3), b.const("onehot", [0.0, 1.0], np.float32)
    w3 = b("Add", [b("Mul", [b("OneHot", [k0, depth, onehot_values], "hot0", axis=-1),
                             b("Sub", [one_f, fr], "one_fr")], "w_first"),
                   b("Mul", [b("OneHot", [k1, depth, onehot_values], "hot1", axis=-1), fr], "w_second")],
           "w3")  # (bands, band rows, 3)
    body = _band_body(onnx, b, input_name, groups, zero_f, one_f)
    stacked = b("Scan", [idx, g3, w3], "stacked", body=body, num_scan_inputs=3, scan_output_axes=[2])
    nc = b("Slice", [b("Shape", [stacked], "st_shape"), i0_, i2_], "nc")
    full = b("Reshape", [stacked, b("Concat", [nc, last, width1], "full_shape", axis=0)], "full")
    b.nodes.append(onnx.helper.make_node("Slice", [full, i0_, height1, i2_], [output_name]))
    graph.node.extend(b.nodes)
    del graph.output[:]
    dims: list[Any] = ["batch", 3, "height", "width"] if dynamic else ["batch", 3, *example.shape[-2:]]
    graph.output.append(onnx.helper.make_tensor_value_info(output_name, f32, dims))
    onnx.checker.check_model(model)
    onnx.save(model, path)

