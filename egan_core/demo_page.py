"""The Gradio page of ``egan demo``: a thin layer over :mod:`egan_core.demo`.

gradio is an optional extra (``egan[demo]``) and is imported only by :func:`require_gradio`,
after the environment that keeps it local is set: no analytics or version check, uploads
and results in one temporary folder that :func:`serve` removes when the server stops.

No ``from __future__ import annotations`` here: gradio reads the event handlers' type
hints (``gr.SelectData``) as objects.
"""

import contextlib
import contextvars
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from egan_core.demo import (
    EXTRA,
    INSTALL_HINT,
    MAX_VIDEO_SECONDS,
    VIDEO_ENHANCER,
    Choice,
    Item,
    format_niqe,
    list_choices,
    load,
    prune,
    run_batch,
    run_video,
    write_sample_clip,
    write_samples,
)
from egan_core.errors import EganError, UsageError, folded
from egan_core.signature import accepted

#: results older than this are removed (the page keeps only links to recent ones).
RESULT_AGE_S = 3600
#: largest upload the server accepts.
MAX_FILE_SIZE = "200mb"
#: hosts that only this machine can reach.
LOOPBACK = ("127.0.0.1", "localhost", "::1")
INTRO = (
    f"Upload dark photos, or a clip of up to {MAX_VIDEO_SECONDS:g} s in the **Video** tab (or use "
    "the samples), pick an enhancer and a strength, press **Enhance**. Files stay on this "
    "machine, in a temporary folder removed when the demo stops. Lower NIQE is better."
)


def require_gradio(upload_dir: str | Path | None = None) -> ModuleType:
    """Import gradio with telemetry off (and uploads in ``upload_dir``), or explain the extra.

    Raises:
        UsageError: gradio is not installed; the message names ``egan[demo]``.
    """
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    if upload_dir is not None:
        os.environ["GRADIO_TEMP_DIR"] = str(upload_dir)  # read by gradio at import time
    try:
        import gradio
    except ImportError as exc:
        raise UsageError(f"egan demo needs gradio, which is not installed: {INSTALL_HINT}") from exc
    if not hasattr(gradio, "ImageSlider"):  # the before/after view
        raise UsageError(f"egan demo needs gradio 5.49 or later, found {gradio.__version__}: "
                         f"pip install -U '{EXTRA}'")
    return gradio


def _supported(component: type, **kwargs: Any) -> dict[str, Any]:
    """``kwargs`` less those this gradio version's ``component`` does not take."""
    params = accepted(component.__init__)
    return {k: v for k, v in kwargs.items() if k in params}


def _pair(item: Item | None) -> tuple[str, str] | None:
    """The before/after view's value: the two previews of ``item``."""
    return None if item is None else (str(item.before_preview), str(item.after_preview))


def _describe(item: Item) -> str:
    """The text beside the before/after view."""
    w, h = item.size
    return (f"**{item.name}** ({w}x{h}): enhanced in **{item.seconds:.2f} s**; NIQE "
            f"**{format_niqe(item.niqe_after)}** (input {format_niqe(item.niqe_before)}; lower is better)")


def build_app(gr: ModuleType, choices: Sequence[Choice], workdir: str | Path, samples: Sequence[Path],
              device: str = "auto", *, clip: Path | None = None) -> Any:
    """The ``gr.Blocks`` page, a tab for photos and one for a clip (``clip``: the sample
    clip, no sample button without it); results go under ``workdir/results/``."""
    by_label = {c.label: c for c in choices}
    labels = [c.label for c in choices]
    results = Path(workdir) / "results"
    results.mkdir(parents=True, exist_ok=True)

    def start(upload: Any, label: str, missing: str) -> str:
        """Check an Enhance press (something uploaded, a known enhancer); a fresh result folder."""
        if not upload:
            raise gr.Error(missing)
        if label not in by_label:
            raise gr.Error(f"Unknown enhancer '{label}'; pick one from the list.")
        prune(results, RESULT_AGE_S)
        return tempfile.mkdtemp(dir=results)

    def enhance_uploads(files: list[str] | None, label: str, strength: float,
                        progress: Any = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008 (gradio's idiom)
        out = start(files, label, "Upload a photo first (or press 'Use the sample photos').")
        try:
            batch = run_batch(files, by_label[label], strength, out, device,
                              on_image=lambda i, n, name: progress(i / n, desc=f"enhancing {name}"))
        except EganError as exc:
            raise gr.Error(folded(exc)) from exc
        lines = [f"Enhanced {len(batch.items)} photo(s) with **{label}** at strength {strength:g}."]
        lines += [f"- refused: {message}" for message in batch.errors]
        for message in batch.errors:
            gr.Warning(message)
        items = batch.items
        first = items[0] if items else None
        return (
            _pair(first),
            _describe(first) if first else "",
            [(str(i.after_preview), i.caption) for i in items],
            [str(i.result) for i in items] or None,
            "\n".join(lines),
            items,
        )

    def enhance_clip(video: str | None, label: str, strength: float,
                     progress: Any = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008 (gradio's idiom)
        out = start(video, label, "Upload a clip first (or press 'Use the sample clip').")
        # The encoder's thread reports the frames; gradio finds the event's progress bar in
        # context variables, which a new thread does not inherit.
        context = contextvars.copy_context()

        def on_frame(done: int, total: int | None) -> None:
            context.run(progress, (done, total), desc="enhancing frames", unit="frames")

        try:
            done = run_video(video, by_label[label], strength, out, device=device, on_frame=on_frame)
        except EganError as exc:
            raise gr.Error(folded(exc)) from exc
        return (str(done.video), str(done.still),
                f"Enhanced with **{label}** at strength {strength:g}: {done.caption}.")

    def show(items: list[Item], evt: gr.SelectData) -> tuple[Any, ...]:
        item = items[evt.index] if items and 0 <= evt.index < len(items) else None
        return _pair(item), (_describe(item) if item else "")

    cache = (RESULT_AGE_S, RESULT_AGE_S)  # gradio's own copies: checked and removed hourly too
    with gr.Blocks(title="egan demo", analytics_enabled=False, delete_cache=cache) as app:
        gr.Markdown("## egan: low-light enhancement\n" + INTRO)
        with gr.Tab("Photos", id="photos", elem_id="egan-photos-tab"), gr.Row():
            with gr.Column(scale=1):
                files = gr.File(label="Photos", file_count="multiple", file_types=["image"],
                                type="filepath", elem_id="egan-photos")
                use_samples = gr.Button("Use the sample photos", elem_id="egan-samples")
                enhancer = gr.Dropdown(labels, value=labels[0], label="Enhancer", elem_id="egan-enhancer")
                strength = gr.Slider(0.0, 2.0, value=1.0, step=0.05, elem_id="egan-strength",
                                     label="Strength (0 = the photo, 1 = the model's output)")
                run = gr.Button("Enhance", variant="primary", elem_id="egan-run")
                status = gr.Markdown(elem_id="egan-status")
            with gr.Column(scale=2):
                compare = gr.ImageSlider(label="Before / after (drag the handle)", type="filepath",
                                         interactive=False, elem_id="egan-compare")
                info = gr.Markdown(elem_id="egan-info")
                downloads = gr.File(label="Download (full resolution PNG)", file_count="multiple",
                                    interactive=False, elem_id="egan-downloads")
                gallery = gr.Gallery(**_supported(
                    gr.Gallery, label="Results (click one to compare it)", columns=4, height=200,
                    allow_preview=False, interactive=False, object_fit="contain", fit_columns=False,
                    elem_id="egan-gallery"))
        with gr.Tab("Video", id="video", elem_id="egan-video-tab"), gr.Row():
            with gr.Column(scale=1):
                video_in = gr.Video(**_supported(
                    gr.Video, label=f"Clip (up to {MAX_VIDEO_SECONDS:g} s)", sources=["upload"],
                    include_audio=True, elem_id="egan-clip"))
                use_clip = gr.Button("Use the sample clip", visible=clip is not None,
                                     elem_id="egan-clip-sample")
                video_enhancer = gr.Dropdown(
                    labels, value=VIDEO_ENHANCER if VIDEO_ENHANCER in by_label else labels[0],
                    label="Enhancer", elem_id="egan-clip-enhancer")
                video_strength = gr.Slider(0.0, 2.0, value=1.0, step=0.05, elem_id="egan-clip-strength",
                                           label="Strength (0 = the clip, 1 = the model's output)")
                video_run = gr.Button("Enhance", variant="primary", elem_id="egan-clip-run")
                video_info = gr.Markdown(elem_id="egan-clip-info")
            with gr.Column(scale=2):
                video_out = gr.Video(**_supported(
                    gr.Video, label="Enhanced (H.264 MP4, audio kept)", interactive=False,
                    elem_id="egan-clip-out"))
                still = gr.Image(label="Middle frame: before | after", type="filepath",
                                 interactive=False, elem_id="egan-clip-still")
        items = gr.State([])
        use_samples.click(lambda: [str(p) for p in samples], outputs=files)
        run.click(enhance_uploads, inputs=[files, enhancer, strength],
                  outputs=[compare, info, gallery, downloads, status, items])
        gallery.select(show, inputs=items, outputs=[compare, info])
        use_clip.click(lambda: None if clip is None else str(clip), outputs=video_in)
        video_run.click(enhance_clip, inputs=[video_in, video_enhancer, video_strength],
                        outputs=[video_out, still, video_info])
    return app


def serve(host: str = "127.0.0.1", port: int = 7860, checkpoints: Sequence[str] = (),
          device: str = "auto", echo: Callable[[str], None] = print) -> None:
    """Run the demo until Ctrl-C (or SIGTERM), then remove its temporary folder.

    Every checkpoint and the default enhancer are loaded before the server starts, so a
    bad file is a one-line error and the first click is fast.

    Raises:
        UsageError: gradio missing, or the port cannot be bound.
        CheckpointError: a checkpoint that does not load.
    """
    with _interruptible():
        workdir = Path(tempfile.mkdtemp(prefix="egan-demo-"))
        try:
            with _scratch_in(workdir / "tmp"):
                _launch_and_wait(workdir, host, port, checkpoints, device, echo)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def _scratch_in(folder: Path) -> Iterator[None]:
    """Point TMPDIR (and Python's tempfile) at ``folder`` inside the block, so what libraries
    leave in the temporary folder (onnxruntime writes ``$TMPDIR/.ses``) goes with ours."""
    folder.mkdir(parents=True, exist_ok=True)
    before_env, before_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(folder), str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = before_tempdir
        if before_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before_env


def _launch_and_wait(workdir: Path, host: str, port: int, checkpoints: Sequence[str], device: str,
                     echo: Callable[[str], None]) -> None:
    gr = require_gradio(workdir / "uploads")
    choices = list_choices(checkpoints)
    if not choices:
        raise UsageError("no enhancer is registered; see 'egan plugins'")
    for choice in [choices[0], *(c for c in choices if c.checkpoint and len(c.names) == 1)]:
        load(choice.names, choice.checkpoint, device)
    samples = write_samples(workdir / "samples")
    app = build_app(gr, choices, workdir, samples, device, clip=write_sample_clip(workdir / "samples"))
    app.queue(default_concurrency_limit=1)
    try:
        app.launch(server_name=host, server_port=port, share=False, inbrowser=False, quiet=True,
                   show_error=True, ssr_mode=False, max_file_size=MAX_FILE_SIZE,
                   allowed_paths=[str(workdir)], prevent_thread_lock=True)
    except OSError as exc:
        reason = "the port is in use" if "empty port" in str(exc) else folded(exc)
        raise UsageError(f"cannot serve on {host}:{port}: {reason}; pick another --port") from exc
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    echo(f"egan demo: open http://{_url_host(shown)}:{port} (Ctrl-C to stop)")
    if host not in LOOPBACK:
        echo(f"warning: listening on {host}: anyone who can reach this machine can upload files "
             "and use its CPU/GPU; there is no authentication")
    _wait(app)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt inside the block, so the temporary folder is
    removed however the demo is stopped (also when started with SIGINT ignored, as a
    background job is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait(app: Any) -> None:
    """Block until the server stops or the process is interrupted, then close it."""
    try:
        while app.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        app.close(verbose=False)
