"""Enhance a video file: decode, enhance, blend and encode on four threads with bounded queues.

The reading thread decodes frames (and collects the audio packets) ahead of the
enhancement, with what the other threads need of the input (the flow's small gray, the
cut detection, ``fast``'s upsampled chroma); the calling thread enhances, the blending
thread runs the temporal blend (with ``temporal`` 0 there is none) and the writing thread
the encoder. Queues of a few frames between them keep memory flat however long the video
is. The enhancement is the longest chain of a frame's work, so the other threads run at a
lower priority (:data:`WORKER_NICE`). The output appears under its final name only when
complete. A video damaged part way, or a run stopped with Ctrl-C, still gives its frames
so far: they are finished into ``NAME.partial.EXT`` next to the final name (a playable
file), and the error names it.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2

from egan_core.contracts import PredictsTransform
from egan_core.errors import EganError, InputError, UsageError, first_line
from egan_core.fileio import publish, temporary_beside
from egan_core.video.io import (
    DEFAULT_CRF,
    DEFAULT_PRESET,
    Frame,
    VideoReader,
    VideoWriter,
    check_encoding,
    clock,
    i420_planes,
    output_container,
    upsample_chroma,
    ycc_matrices,
)
from egan_core.video.temporal import (
    DEFAULT_TEMPORAL,
    GENERATED_DETAIL,
    CutDetector,
    FlowBlender,
    TransformSmoother,
    small_gray,
)

if TYPE_CHECKING:  # an annotation only: the egan_core.enhance package imports this module
    from egan_core.enhance.pipeline import Enhancer

#: Frames waiting between two threads (each queue): enough to even out their speeds.
QUEUE_FRAMES = 4
#: How much lower the scheduling priority of the reading, blending and writing threads is
#: than the enhancing thread's (Linux ``nice`` steps; 0: the same). The enhancement is the
#: longest chain of work a frame has: at equal shares, the others running at once hold it
#: back while they then wait for it, and a core idles. Lower, they fill its gaps instead.
WORKER_NICE = 5
_END = object()


class VideoInterrupted(KeyboardInterrupt):
    """Ctrl-C during a video; the message says what became of the frames done."""


@dataclass(frozen=True)
class VideoOptions:
    """How videos are written (``egan enhance --temporal/--crf/--preset``)."""

    temporal: float = DEFAULT_TEMPORAL
    crf: int = DEFAULT_CRF
    preset: str = DEFAULT_PRESET

    def __post_init__(self) -> None:
        if not (isinstance(self.temporal, (int, float)) and 0.0 <= self.temporal < 1.0):
            raise UsageError(f"temporal must be from 0 to below 1, got {self.temporal!r}")
        check_encoding(self.crf, self.preset)


@dataclass
class VideoReport:
    """What :func:`enhance_video` wrote."""

    target: Path
    frames: int
    seconds: float  # time of the last frame written
    audio_streams: int
    padded: bool  # odd width or height: the last row/column was repeated
    elapsed: float  # wall-clock seconds

    @property
    def fps(self) -> float:
        """Frames per second, end to end."""
        return self.frames / self.elapsed if self.elapsed > 0 else 0.0


def partial_name(target: Path) -> Path:
    """Where the frames of an unfinished video go: ``clip.mp4`` -> ``clip.partial.mp4``."""
    return target.with_name(f"{target.stem}.partial{target.suffix}")


class _Worker(threading.Thread):
    """A thread that keeps its exception for the caller and sets ``stop`` when it dies of one;
    ``nice``: how many steps lower its priority is than its creator's."""

    def __init__(self, name: str, run: Callable[[], None], stop: threading.Event, nice: int = 0) -> None:
        super().__init__(name=name, daemon=True)
        self._run = run
        self.stop = stop
        self.nice = nice
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            _lower_priority(self.nice)
            self._run()
        except BaseException as exc:
            self.error = exc
            self.stop.set()


def _lower_priority(steps: int) -> None:
    """Lower the calling thread's scheduling priority by ``steps`` (Linux: a thread's nice
    value is its own; elsewhere this would change the whole process, so nothing is done)."""
    if steps <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + steps))
    except OSError:  # not allowed here: equal shares it is
        pass


def _get(q: queue.Queue[Any], stop: threading.Event) -> Any:
    """The next item of ``q``, or ``_END`` once ``stop`` is set first."""
    while not stop.is_set():
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue
    return _END


def _put(q: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set first; whether it was put."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def enhance_video(enhancer: Enhancer, source: str | Path, target: str | Path, *,
                  temporal: float = DEFAULT_TEMPORAL, crf: int = DEFAULT_CRF,
                  preset: str = DEFAULT_PRESET,
                  on_frame: Callable[[int, int | None], None] | None = None) -> VideoReport:
    """Enhance every frame of ``source`` into ``target`` (its ending picks the container).

    Args:
        enhancer: the pipeline (:func:`egan_core.load_enhancer`).
        temporal: strength of the temporal stability passes in [0, 1): 0 enhances every
            frame alone; see :mod:`egan_core.video.temporal`.
        crf: H.264 constant rate factor (lower: better and bigger; 18 is visually lossless).
        preset: x264 speed preset (``ultrafast``, the default, costs half the CPU of ``superfast``).
        on_frame: called with (frames written, frames expected or None) after each frame.

    Returns:
        What was written.

    Raises:
        InputError: ``source`` is not a readable video, or is damaged part way (the frames
            before the damage are in :func:`partial_name`, and the message says so).
        UsageError: a bad ``temporal``, ``crf``, ``preset`` or output ending.
        VideoInterrupted: Ctrl-C; the frames so far are in :func:`partial_name`.
    """
    VideoOptions(temporal, crf, preset)  # checks them
    source, target = Path(source), Path(target)
    output_container(target, target.suffix)  # an unwritable ending fails before any folder is made
    started = time.perf_counter()
    reader = VideoReader(source)
    try:
        return _Run(enhancer, reader, target, float(temporal), crf, preset, on_frame, started).run()
    finally:
        reader.close()


class _Run:
    """One :func:`enhance_video` call: its threads, queues and temporary file."""

    def __init__(self, enhancer: Enhancer, reader: VideoReader, target: Path, temporal: float,
                 crf: int, preset: str, on_frame: Callable[[int, int | None], None] | None,
                 started: float) -> None:
        self.enhancer, self.reader, self.target = enhancer, reader, target
        self.on_frame = on_frame
        self.started = started
        self.stop = threading.Event()
        self.decoded: queue.Queue[Any] = queue.Queue(QUEUE_FRAMES)
        self.enhanced: queue.Queue[Any] = queue.Queue(QUEUE_FRAMES)
        self.blended: queue.Queue[Any] = queue.Queue(QUEUE_FRAMES) if temporal > 0 else self.enhanced
        self.smoother = TransformSmoother(temporal) if temporal > 0 else None
        self.cuts = CutDetector()
        self.transforms = all(isinstance(stage, PredictsTransform) for stage in enhancer.stages)
        # the real-time path (fast): its chroma upsampled by the reading thread, and warped
        # to the nearest pixel by the blend (a third of the chroma warp's cost)
        self.ycc = enhancer.reads_ycc
        self.blender = FlowBlender(temporal, keep_detail=0.0 if self.transforms else GENERATED_DETAIL,
                                   nearest_chroma=self.ycc)
        self.temporal = temporal
        # the decoder's planes to RGB, and RGB to what the writer encodes (limited range)
        self.to_rgb = ycc_matrices(reader.info.matrix, reader.info.full_range)[0]
        self.from_rgb = ycc_matrices(reader.info.matrix)[1]
        self.tmp = temporary_beside(target, target.suffix)
        try:
            self.writer = VideoWriter(self.tmp, reader, container=target.suffix, crf=crf, preset=preset)
        except BaseException:
            self.tmp.unlink(missing_ok=True)
            raise
        self.written = 0
        self.last_time = 0.0

    def run(self) -> VideoReport:
        if not self.transforms:
            return self._run_threads()
        # with a model as light as fast's, the pipeline's threads keep the cores busy, and
        # OpenCV splitting each call across its own threads only adds its overhead
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            return self._run_threads()
        finally:
            cv2.setNumThreads(threads)

    def _run_threads(self) -> VideoReport:
        # lower priorities only where OpenCV runs on one thread (transform models): a pool of
        # OpenCV workers started from a lowered thread would keep its priority for good
        nice = WORKER_NICE if self.transforms else 0
        reading = _Worker("egan-video-read", self._read, self.stop, nice)
        blending = _Worker("egan-video-blend", self._blend, self.stop, nice) if self.temporal > 0 else None
        writing = _Worker("egan-video-write", lambda: self._write(blending), self.stop, nice)
        threads = [thread for thread in (reading, blending, writing) if thread is not None]
        for thread in threads:
            thread.start()
        failure: BaseException | None = None
        try:
            self._enhance()
        except BaseException as exc:
            failure = exc
        try:  # the blender and the writer finish the frames they were handed, then stop
            consumer = blending or writing
            while consumer.is_alive():
                try:
                    self.enhanced.put(_END, timeout=0.1)
                    break
                except queue.Full:
                    continue
            writing.join()
        except BaseException as exc:  # a second Ctrl-C while the last frames are written
            failure = failure or exc
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()
        failure = failure or (blending.error if blending is not None else None) or writing.error
        if failure is None:
            return self._finish()
        return self._fail(failure)

    def _read(self) -> None:
        """Decode (the reading thread); each frame goes with its small gray and whether it
        starts a scene (for the temporal passes alone), and its chroma upsampled (for a
        chain that reads Y'CbCr)."""
        try:
            for item in self.reader.items():
                if isinstance(item, Frame):
                    gray = cut = chroma = None
                    if self.temporal > 0:
                        gray = small_gray(item.image if item.luma is None else item.luma)
                        cut = self.cuts(gray)
                    if item.i420 is not None and self.ycc:
                        chroma = upsample_chroma(i420_planes(item.i420))
                    item = (item, gray, cut, chroma)
                if not _put(self.decoded, item, self.stop):
                    return
        except BaseException as exc:
            _put(self.decoded, exc, self.stop)
            return
        _put(self.decoded, _END, self.stop)

    def _enhance(self) -> None:
        """Enhance what the reader decodes (this thread), hand it to the blender (or the writer)."""
        while (item := _get(self.decoded, self.stop)) is not _END:
            if isinstance(item, BaseException):
                raise item
            if not isinstance(item, tuple):  # an audio packet: to the writer, in file order
                if not _put(self.enhanced, item, self.stop):
                    return
                continue
            item, gray, cut, chroma = item
            if cut and self.smoother is not None:
                self.smoother.reset()
            out = None
            if item.i420 is not None:  # straight from the decoder's planes to the encoder's
                out = self.enhancer.enhance_frame_ycc(i420_planes(item.i420), self.to_rgb, self.from_rgb,
                                                      self.smoother, chroma)
            if out is None:
                out = self.enhancer.enhance_frame(item.image, self.smoother)
            if not _put(self.enhanced, (item, out, gray, cut), self.stop):
                return

    def _blend(self) -> None:
        """The temporal blend (the blending thread): enhanced frames to I420, blended in place."""
        while True:
            item = _get(self.enhanced, self.stop)
            if isinstance(item, tuple):
                frame, out, gray, cut = item
                i420 = self.writer.as_i420(out)
                self.blender(list(i420_planes(i420)), gray, cut)
                item = (frame, i420, gray, cut)
            if not _put(self.blended, item, self.stop) or item is _END:  # stop: the writer died
                return

    def _write(self, blending: _Worker | None) -> None:
        """Encode (the writing thread) until the end, or until the blending thread dies."""
        while True:
            try:
                item = self.blended.get(timeout=0.1)
            except queue.Empty:
                # nothing more can come: the blender failed or was stopped (it puts nothing
                # once dead, so an empty queue stays empty), or the run was stopped
                if (blending is not None and not blending.is_alive()) or self.stop.is_set():
                    if self.blended.empty():
                        return
                continue
            if item is _END:
                return
            if not isinstance(item, tuple):
                self.writer.write_audio(item)
                continue
            frame, out, _, _ = item
            self.writer.write(frame, out)
            self.written += 1
            self.last_time = frame.time
            if self.on_frame is not None:
                self.on_frame(self.written, self.reader.info.expected_frames)

    def _close_writer(self) -> BaseException | None:
        try:
            self.writer.close()
        except BaseException as exc:
            return exc
        return None

    def _finish(self) -> VideoReport:
        error = self._close_writer()
        if error is not None:
            self.tmp.unlink(missing_ok=True)
            raise EganError(f"cannot finish '{self.target}': {first_line(error)}") from error
        publish(self.tmp, self.target)
        return VideoReport(self.target, self.written, self.last_time, len(self.writer.audio_out),
                           self.writer.padded, time.perf_counter() - self.started)

    def _fail(self, failure: BaseException) -> VideoReport:
        """Keep the frames done in the partial file (or remove it), then raise what happened."""
        error = self._close_writer()
        kept = None
        if self.written and error is None:
            kept = partial_name(self.target)
            publish(self.tmp, kept)
        else:
            self.tmp.unlink(missing_ok=True)
        done = (f"the first {self.written} frames ({clock(self.last_time)}) are in '{kept}'"
                if kept else "no frames were written")
        if isinstance(failure, KeyboardInterrupt):
            raise VideoInterrupted(f"interrupted: '{self.target}' not finished; {done}") from failure
        if isinstance(failure, InputError):
            raise InputError(f"{failure}; {done}") from failure
        if isinstance(failure, EganError):
            raise type(failure)(f"{failure}; {done}") from failure
        raise EganError(f"'{self.reader.path}': {first_line(failure)}; {done}") from failure

