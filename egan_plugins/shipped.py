"""The weights egan ships, one :class:`~egan_core.weights.WeightsRecord` each: their model
cards (docs/models.md, ``egan models``) are generated from these records, and MODEL.md has
the whole story of each model (every stage, score and attempt).

The enhancers ``gan``, ``fast`` and ``zero_dce_pp``, ``model.generator.init: default``,
``scripts/make_*_model.py`` and ``scripts/make_model_docs.py`` read these records;
``tests/egan_plugins/test_shipped_weights.py`` checks each against its file and
``tests/egan_plugins/test_model_cards.py`` the cards made from them. Every figure is copied
from MODEL.md as measured there.
"""

from __future__ import annotations

from pathlib import Path

from egan_core.registry import Registries
from egan_core.weights import Figure, Speed, WeightsRecord, card_markdown, table_markdown

__all__ = ["DEFAULT_MODEL", "FAST_DETAIL_MODEL", "FAST_MODEL", "PAIRLIE_MODEL", "SHIPPED", "WEIGHTS_DIR",
           "ZERO_DCE_PP_MODEL", "models_page", "register"]

#: The folder of the shipped ``.safetensors`` files (package data).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

#: The CPUs the figures were measured on, named as MODEL.md and the README name them.
_EPYC = "2-core AMD EPYC (Zen 4, AVX-512 with AVX512-BF16, no AMX)"
_SHARED_EPYC = "shared 2-core AMD EPYC"
_AVX2_EPYC = "2-core AMD EPYC without AVX-512 (AVX2 only)"

#: The four held-out photos of ``teacher_pairs`` and the commands measuring them.
_HELD_OUT = "the 4 held-out teacher_pairs photos (Cave, Madison, rail, birds), whole images"
_HELD_OUT_EVAL = ("T=../shared/data/teacher_pairs; egan enhance $T/low/Cave.png $T/low/Madison.png "
                  "$T/low/rail.png $T/low/birds.png --out ho --precision fp32; "
                  "egan eval ho --metric psnr --metric ssim --reference $T/official --json")
_BENCH_FAST = "python benchmarks/bench_fast.py --repeats 9"
_BENCH_FAST_DETAIL = ("python benchmarks/bench_fast.py --repeats 5 --weights "
                      "egan_plugins/weights/fast_detail.safetensors")
_BENCH_ZOO = "python benchmarks/bench_zoo.py --weights-dir DIR --megapixels 1 --repeats 3"
_ZOO_NIQE = ("mean of the first 8 teacher_pairs/low photos at max side 256 (the inputs 8.875; "
             "differences under 0.3 are ties)")
_ZOO_SPEED = "1155x866 image, 2 threads, torch 2.14"
_NOREF_34 = ("the 34 held-out teacher_pairs/low photos at max side 512, validation path (float in, "
             "8-bit out), curves at scale_factor 12")
_NOREF_EVAL = ("egan_core.training.validation.validate_noref on NoRefDataset(root=../shared/data/"
               "teacher_pairs/low, images=34, max_side=512), the generator's scale_factor set to 12")

_SICE = ("SICE images of Li-Chongyi/Zero-DCE_extension (CC BY-NC 4.0: academic research only; "
         "anything trained on them is too)")

#: The ``gan`` enhancer's model without ``checkpoint``; ``model.generator.init: default``.
DEFAULT_MODEL = WeightsRecord(
    name="default",
    file=WEIGHTS_DIR / "default.safetensors",
    generator="attention_unet",
    kwargs={"base_channels": 32, "align_corners": False, "freeze_norm": True},
    method=("distilled from the official pretrained EnlightenGAN (Jiang et al., arXiv 1906.06972) "
            "through its outputs only, supervised (no discriminator) in four stages: l1 + gradient, "
            "then the same at 256 px, then with BatchNorm frozen, then mse alone; stored in float16"),
    licence=("no terms beyond egan's MIT licence are stated for the weights (MODEL.md); the training "
             "photos belong to their datasets' authors and were used for research"),
    data=("34 real low-light photographs of the MEF, NPE and VV test sets, each paired with the official "
          "EnlightenGAN's output (public repository theodor-lu/EnlightenGAN_2025: TEST_IM/test_latest/"
          "images/*_real_A.png and TEST_IM/predict_pretrained/); four pairs held out (Cave, Madison, rail, "
          "birds); the images belong to their datasets' authors; no official weights are in egan"),
    source=("recipes distill_official, distill_official_refine, distill_official_polish, "
            "distill_official_mse, each started from the previous run's weights; egan run "
            "recipes/distill_official.yaml --out runs; egan run recipes/distill_official_refine.yaml "
            "--out runs --set model.generator.init=runs/distill_official/checkpoints/latest.pt; egan run "
            "recipes/distill_official_polish.yaml --out runs --set "
            "model.generator.init=runs/distill_official_refine/checkpoints/latest.pt; egan run "
            "recipes/distill_official_mse.yaml --out runs --set "
            "model.generator.init=runs/distill_official_polish/checkpoints/latest.pt; python "
            "scripts/make_default_model.py runs/distill_official_mse/checkpoints/latest.pt"),
    sha256="13fcadc187f6f3679952a9916d59bdf7f5c44945b39c01ec62d9b342689a300e",
    missing=("no default model is shipped yet; pass --checkpoint FILE (an egan checkpoint or an original "
             "EnlightenGAN *_net_G_A.pth) or --recipe RECIPE"),
    enhancer="gan",
    title="EnlightenGAN's attention U-Net, distilled from the official EnlightenGAN",
    summary=("An `attention_unet` (EnlightenGAN's generator) at the paper's width: base_channels 32, "
             "8,636,675 parameters, stored in float16 (16.5 MiB), BatchNorm in eval mode. It is what "
             "`egan enhance` and `load_enhancer()` run when no checkpoint is given, and what "
             "`model.generator.init: default` starts training from."),
    usage="egan enhance photo.jpg --out out/",
    quality=(
        Figure("PSNR to the official EnlightenGAN outputs", "27.09", "dB", f"mean of {_HELD_OUT}, fp32",
               _HELD_OUT_EVAL, "2026-11-25",
               "Cave 26.14, Madison 24.71, rail 31.76, birds 25.74 dB; the low-light inputs score 13.70 dB; "
               "the target of 27 dB is reached by a small margin"),
        Figure("SSIM to the official EnlightenGAN outputs", "0.931", "", f"mean of {_HELD_OUT}, fp32",
               _HELD_OUT_EVAL, "2026-11-25", "Cave 0.850, Madison 0.940, rail 0.985, birds 0.951"),
        Figure("NIQE (lower is better)", "3.071", "", f"mean of {_HELD_OUT}", _BENCH_FAST, "2026-11-30",
               "Cave 3.246, Madison 2.563, rail 3.542, birds 2.930; the official EnlightenGAN outputs "
               "score 2.920"),
        Figure("NIQE (lower is better)", "6.281", "", _ZOO_NIQE + ", auto path (fused bf16)", _BENCH_ZOO,
               note="mean brightness 0.335 (the inputs 0.117)"),
    ),
    speed=(
        Speed("0.52", "MP/s", _SHARED_EPYC, f"{_ZOO_SPEED}, auto path (fused bf16), other jobs running",
              _BENCH_ZOO, note="1924 ms/MP; plain eager fp32 5629 ms/MP (0.18 MP/s) in the same run"),
        Speed("0.64", "MP/s", _EPYC, "1 MP, uint8 in and out, load_enhancer(\"gan\"), 2 threads, torch 2.14, "
              "quiet machine", _BENCH_FAST, "2026-11-30",
              "timed alternately with `fast`; with the second core free it ran at 0.61 to 0.65 MP/s"),
        Speed("2.78", "x plain eager fp32", _EPYC, "640x480 photo, egan's default (auto: fused bf16), "
              "uint8 in and out; plain eager fp32 took 1.17 s", "python benchmarks/bench_enhance.py",
              "2026-11-30", "capped to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2): 1.63x "
              "(onnxruntime) of 1.30 s"),
    ),
    compute=("about 4 h 40 min on 2 CPU cores (Xeon with AMX, bf16): 77 minutes (stage 1), 91 (stage 2), "
             "93 (stage 3), 19 (stage 4), 2026-11-25"),
)

#: The ``fast`` enhancer's model without ``checkpoint``.
FAST_MODEL = WeightsRecord(
    name="fast",
    file=WEIGHTS_DIR / "fast.safetensors",
    generator="fast_grid",
    kwargs={"size": 256, "width": 64},
    method=("distilled, supervised (mse + 0.25 l1, no discriminator), from the official EnlightenGAN "
            "outputs where they exist and the default model everywhere else; whole pairs resized to "
            "384x384; stage 2 fine-tuned with the official pairs repeated; stored in float32"),
    licence="research use only, as its training data (SICE, CC BY-NC 4.0)",
    data=("pairs labelled by scripts/make_fast_pairs.py (693 for stage 1, all 1,920 for stage 2): "
          "teacher_pairs/low without the four held-out photos (official outputs at full size, the "
          "default model's at 1/2 and 1/4), the 200 images of enlightengan_unpaired/low, and the 2,002 "
          f"{_SICE}"),
    source=("recipes distill_fast (stage 1) and distill_fast_official (stage 2, from stage 1's run), "
            "reading the pairs where make_fast_pairs.py writes them by default; "
            "python scripts/make_fast_pairs.py --data ../shared/data; egan run "
            "recipes/distill_fast.yaml --out runs; egan run recipes/distill_fast_official.yaml --out runs; "
            "python scripts/make_fast_model.py runs/distill_fast_official/checkpoints/latest.pt"),
    sha256="8a5b9f4581c72e5cd7417228ed20d8e9bed6ead832263448439d2bc06d1a4765",
    enhancer="fast",
    title="real-time coefficient-grid network (HDRNet's layout), distilled from EnlightenGAN",
    summary=("A `fast_grid` generator: 348,200 parameters, float32 (1.4 MB). A small CNN looks at a fixed "
             "256x256 copy of the image and predicts a 16x16 grid of colour transforms (HDRNet's layout, "
             "Gharbi et al., SIGGRAPH 2017), applied at full resolution in bands: 162 MFLOPs for any image "
             "plus 42 to 44 FLOPs per pixel. For photos and video where the default model is too slow."),
    usage="egan enhance photos/ --out out/ --enhancer fast",
    quality=(
        Figure("PSNR to the official EnlightenGAN outputs", "25.07", "dB",
               f"mean of {_HELD_OUT}, the enhancer path, fp32", _BENCH_FAST, "2026-11-30",
               "Cave 25.28, Madison 23.30, rail 30.95, birds 20.73 dB; target >= 25 met; the default "
               "model 27.09, the inputs 13.70"),
        Figure("NIQE (lower is better)", "3.138", "", f"mean of {_HELD_OUT}", _BENCH_FAST, "2026-11-30",
               "Cave 3.480, Madison 2.858, rail 3.422, birds 2.791; the official outputs 2.920, the "
               "default model 3.071; the target <= 3.020 is missed (MODEL.md)"),
        Figure("NIQE (lower is better)", "6.134", "", _ZOO_NIQE + ", auto path", _BENCH_ZOO, "2026-11-30",
               "mean brightness 0.338 (the inputs 0.117)"),
    ),
    speed=(
        Speed("73.14", "MP/s", _SHARED_EPYC, f"{_ZOO_SPEED}, auto path, quiet machine", _BENCH_ZOO,
              "2026-11-30", "14 ms/MP, 116.04x `gan`'s auto path (1587 ms/MP in that run); plain eager "
              "fp32 63.57 MP/s"),
        Speed("70.9", "MP/s", _EPYC, "1 MP, uint8 in and out, load_enhancer(\"fast\"), 2 threads, "
              "torch 2.14, quiet machine", _BENCH_FAST, "2026-11-30",
              "111x load_enhancer(\"gan\") timed alternately (0.64 MP/s); the first run 57.8 vs 0.58, 99x"),
        Speed("121.9", "MP/s", _EPYC, "12 MP, uint8 in and out, load_enhancer(\"fast\"), 2 threads, "
              "torch 2.14, quiet machine", _BENCH_FAST, "2026-11-30",
              "the first run 62.3; a separate 7-call timing 110; a 24 MP photo in one pass peaks at "
              "0.91 GiB process memory"),
    ),
    compute=("labelling 27 minutes for the first 693 pairs; stage 1 35 minutes (3,440 iterations) on 2 "
             "shared CPU cores (one niced thread); stage 2 14 minutes (2,160 iterations) on one niced "
             "thread; 2026-11-30"),
)

#: ``fast:detail=true``: the ``fast`` model with its full-resolution detail branch trained.
FAST_DETAIL_MODEL = WeightsRecord(
    name="fast_detail",
    file=WEIGHTS_DIR / "fast_detail.safetensors",
    generator="fast_grid",
    kwargs={"size": 256, "width": 64, "detail": [1, 2, 4], "detail_width": 8},
    method=("the fast model's coefficient grid, frozen, plus a detail branch trained on top of it by L1 to "
            "the official EnlightenGAN outputs and L1 between their fine parts (what a 5x5 box blur "
            "removes), on random 160-pixel crops; stored in float32"),
    licence="research use only, as the fast model it builds on (SICE, CC BY-NC 4.0)",
    data=("the 30 teacher_pairs photos with their official EnlightenGAN outputs, without the four held-out "
          f"photos; the grid is the fast model's ({_SICE} among its data)"),
    source="python scripts/make_fast_detail_model.py --data ../shared/data",
    sha256="27617bdfd0bf283d7e5222e691b912642cf5bad2f8f9a67c4fb6ae1fbe30ca1e",
    missing="the fast v2 weights are missing ({file}); use fast without detail, or pass --checkpoint",
    enhancer="fast",
    title="fast v2: the fast model plus a full-resolution detail branch (EnlightenGAN's texture)",
    summary=("A `fast_grid` generator with `detail: [1, 2, 4]`: the `fast` model's grid (tone and colour) "
             "plus a detail branch that adds the input's own fine detail back, luma and colour, at three "
             "scales of box blurs, each scaled per pixel by a gain a 3-8-6 per-pixel network predicts "
             "from the local brightening. Closer to EnlightenGAN's texture than `fast`, several times "
             "slower."),
    usage="egan enhance photos/ --out out/ --enhancer fast:detail=true",
    quality=(
        Figure("NIQE (lower is better)", "3.047", "", f"mean of {_HELD_OUT}", _BENCH_FAST_DETAIL,
               "2026-12-07", "Cave 3.307, Madison 2.797, rail 3.337, birds 2.749; fast 3.138, the official "
               "outputs 2.920: the target <= 3.020 is missed (the trade-off table in MODEL.md)"),
        Figure("PSNR to the official EnlightenGAN outputs", "25.05", "dB",
               f"mean of {_HELD_OUT}, the enhancer path, fp32", _BENCH_FAST_DETAIL, "2026-12-07",
               "Cave 25.28, Madison 23.53, rail 30.59, birds 20.81 dB; fast 25.07; target >= 25 met"),
        Figure("NIQE (lower is better)", "3.549", "", "mean of all 34 teacher_pairs photos, whole images",
               _BENCH_FAST_DETAIL, "2026-12-07",
               "fast 3.538, the official outputs 3.459: within the target (+0.10)"),
    ),
    speed=(
        Speed("21.8", "MP/s", _AVX2_EPYC, "12 MP, uint8 in and out, load_enhancer(\"fast:detail=true\"), 2 "
              "threads, torch 2.14, quiet machine", _BENCH_FAST_DETAIL, "2026-12-07",
              "fast 83.1 in the same run; target >= 20 met"),
        Speed("14.4", "MP/s", _AVX2_EPYC, "1 MP, uint8 in and out, 2 threads, timed alternately with "
              "load_enhancer(\"gan\") (0.30 MP/s)", _BENCH_FAST_DETAIL, "2026-12-07",
              "49x the default model (fast: 126x); the target >= 100x is missed; a 24 MP photo in one "
              "pass peaks at 1.03 GB process memory"),
    ),
    compute="5 minutes on 2 CPU cores (3,000 steps of batch 8), 2026-12-07",
)

#: The ``zero_dce_pp`` enhancer's model without ``checkpoint``.
ZERO_DCE_PP_MODEL = WeightsRecord(
    name="zero_dce_pp",
    file=WEIGHTS_DIR / "zero_dce_pp.safetensors",
    generator="zero_dce_pp",
    kwargs={"scale_factor": 1, "channels": 32},
    method=("Zero-DCE++ trained from scratch by egan with the official zero-reference losses, weights, "
            "optimizer, weight decay and clipping, shortened for a 2-core CPU (128 px, batch 8); the "
            "checkpoint at step 3,500 (epoch 14), fixed in advance as the one to judge; stored in float32"),
    licence="academic research only (CC BY-NC 4.0), as its training data",
    data=f"the 2,002 {_SICE}",
    source=("recipe zero_dce_pp (the official losses and optimizer), shortened on the command line "
            "to 128 px crops, batch 8 and one data worker; the file is the checkpoint at step 3,500; "
            "egan run recipes/zero_dce_pp.yaml --out runs --set name=zero_dce_pp_long --set "
            "data.root=../shared/data/zero_dce_train --set data.size=128 --set data.resize=true --set "
            "data.batch_size=8 --set data.workers=1 --set train.max_steps=6000 --set train.save_every=2 "
            "--set validation.dataset=noref --set validation.root=../shared/data/teacher_pairs/low --set "
            "validation.every=500 --set validation.images=8 --set validation.max_side=256 --set "
            "validation.grid=0; python scripts/make_zoo_model.py "
            "runs/zero_dce_pp_long/checkpoints/epoch_0014.pt"),
    sha256="b3b23e29744944edf219f9a91461c7224713737daf197f98cfd236e17fb08a1f",
    missing="the zero_dce_pp weights are missing ({file}); pass --checkpoint",
    enhancer="zero_dce_pp",
    title="Zero-DCE++ trained by egan with the official zero-reference losses (research use only)",
    summary=("A `zero_dce_pp` generator (Zero-DCE++, Li et al., TPAMI 2021): 10,561 parameters, float32 "
             "(45 KB), trained from scratch by egan on low-light images alone. It estimates "
             "light-enhancement curves at `scale_factor` 12, as the official test does "
             "(`--enhancer zero_dce_pp:scale_factor=1` estimates them at full resolution)."),
    usage="egan enhance photos/ --out out/ --enhancer zero_dce_pp",
    quality=(
        Figure("NIQE (lower is better)", "3.569", "", f"mean of {_NOREF_34}", _NOREF_EVAL, "2026-11-30",
               "the official Epoch99.pth scores 3.470, so +0.0998 against a target of +0.10: reached, by "
               "0.0002; steps 500 to 3,500: 3.615, 3.588, 3.581, 3.580, 3.572, 3.572, 3.569"),
        Figure("mean brightness", "0.409", "", f"mean of {_NOREF_34}", _NOREF_EVAL, "2026-11-30",
               "the official Epoch99.pth 0.397 (+2.9 %, target within 10 %); the inputs 0.213"),
        Figure("NIQE (lower is better)", "3.572", "", "mean of 8-bit copies of the same 34 photos through "
               "load_enhancer(\"zero_dce_pp\"), fp32 eager", "load_enhancer(\"zero_dce_pp\")", "2026-11-30",
               "the official file through the same path (checkpoint=Epoch99.pth) 3.494, +0.079; "
               "brightness 0.409 against 0.397"),
    ),
    speed=(
        Speed("8.69", "MP/s", _SHARED_EPYC, f"{_ZOO_SPEED}, auto path (onnxruntime fp32), other jobs "
              "running; timed with the official Epoch99.pth, the same network", _BENCH_ZOO,
              note="115 ms/MP; plain eager fp32 81 ms/MP (12.31 MP/s) in the same run"),
    ),
    compute=("about 75 minutes on one to two threads of a shared 2-core AMD EPYC Zen 4, 2026-11-30 "
             "(stopped and resumed once with --resume)"),
)

_PAIRLIE_SHA256 = "dcf11fc43e88e557d6097b09a1fc7dfc94772f1b0c3dad3e66036823c15fddfe"
_TEACHER_34 = ("all 34 teacher_pairs/low photos (none trained on), whole images, uint8 through "
               "load_enhancer(\"pairlie\"), against the released PairLIE.pth through the same path")
_BENCH_PAIRLIE = ("python benchmarks/bench_pairlie_reproduction.py --run runs/pairlie_cpu --released "
                  "PairLIE.pth")
_PAIRLIE_SPEED = (
    Speed("0.20", "MP/s", _AVX2_EPYC, "1155x866 image, uint8 in and out, auto path (onnxruntime fp32), 2 "
          "threads, torch 2.14, quiet machine; timed with the released PairLIE.pth, the same network",
          "python benchmarks/bench_pairlie.py --weights PairLIE.pth", "2026-12-07",
          "4916 ms/MP: 1.54x the default model's cost per megapixel (3182 ms/MP) timed alternately; plain "
          "eager fp32 10827 ms/MP, 1.72x the default model's"),
)
_PAIRLIE_COMPUTE = ("55 minutes on a 2-core AMD EPYC without AVX-512 (AVX2 only), shared at times with "
                    "other jobs, 2026-12-07")
_PAIRLIE_QUALITY = (
    Figure("PSNR to the released PairLIE weights' outputs", "22.11", "dB", _TEACHER_34, _BENCH_PAIRLIE,
           "2026-12-07", "min 18.36 (sculpture), max 24.95 (road); target >= 22: met"),
    Figure("mean brightness", "0.479", "", _TEACHER_34, _BENCH_PAIRLIE, "2026-12-07",
           "the released weights 0.473 (+1.3 %, target within 5 %: met)"),
    Figure("NIQE (lower is better)", "6.047", "", _TEACHER_34, _BENCH_PAIRLIE, "2026-12-07",
           "the released weights 4.068: +1.98, target within 0.10 missed; the outputs are softer and "
           "less saturated than the released weights' (MODEL.md)"),
)
#: The ``pairlie`` enhancer's model without ``checkpoint``.
PAIRLIE_MODEL = WeightsRecord(
    name="pairlie",
    file=WEIGHTS_DIR / "pairlie.safetensors",
    generator="pairlie",
    kwargs={"channels": 64, "gamma": 0.2},
    method=("PairLIE (Fu et al., CVPR 2023) trained from scratch by egan with the paper's objective "
            "(consistency 1, Retinex 1, projection 500), Adam at twice the paper's rate and its "
            "schedule compressed 20x for a 2-core CPU: 20 epochs of 128-pixel crops, batch 1, the "
            "rate halved every 5; no pretrained network; stored in float32"),
    licence="academic research only (CC BY-NC 4.0), as its training data",
    data=(f"pairs of under-exposed shots of one scene (mean brightness <= 0.35) from the 2,002 {_SICE}: "
          "225 scenes, grouped by content by the scene_pairs dataset"),
    source=("recipe pairlie_cpu; egan run recipes/pairlie_cpu.yaml --out runs; python "
            "scripts/make_zoo_model.py --model pairlie runs/pairlie_cpu/checkpoints/latest.pt"),
    sha256=_PAIRLIE_SHA256,
    missing="the pairlie weights are missing ({file}); pass --checkpoint (e.g. the released PairLIE.pth)",
    enhancer="pairlie",
    title="PairLIE trained by egan on pairs of low-light shots (research use only)",
    summary=("A `pairlie` generator (PairLIE, Fu et al., CVPR 2023): three 5-layer networks (denoising, "
             "illumination, reflectance), 341,767 parameters, float32 (1.4 MB), trained by egan from "
             "scratch on two under-exposed shots of each scene. Enhances as `L ** 0.2 * R`; "
             "`--enhancer pairlie:gamma=0.14` is brighter. The released weights of the paper "
             "(`PairLIE.pth` of zhenqifu/PairLIE, no licence stated) load as they come with "
             "`--checkpoint`."),
    usage="egan enhance photos/ --out out/ --enhancer pairlie",
    quality=_PAIRLIE_QUALITY,
    speed=_PAIRLIE_SPEED,
    compute=_PAIRLIE_COMPUTE,
)

#: Every record above.
SHIPPED = (DEFAULT_MODEL, FAST_MODEL, FAST_DETAIL_MODEL, ZERO_DCE_PP_MODEL, PAIRLIE_MODEL)


def register(registries: Registries) -> None:
    """Register every shipped record as a model, for ``egan models`` and ``egan plugins``."""
    for record in SHIPPED:
        registries.models.register(record.name, record)


def models_page() -> str:
    """docs/models.md: the model table and every shipped model's card, as the records say."""
    cards = "\n".join(card_markdown(record) for record in SHIPPED)
    return ("# egan's models\n\n"
            "<!-- generated from egan_plugins/shipped.py by scripts/make_model_docs.py; do not edit -->\n\n"
            "Every model egan ships, generated from its record in `egan_plugins/shipped.py` (`egan models` "
            "prints the same). MODEL.md tells each model's whole story: every stage, score and attempt.\n\n"
            f"{table_markdown(SHIPPED)}\n{cards}")
