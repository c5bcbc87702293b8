"""Video files in and out through FFmpeg (PyAV): frames as RGB arrays, everything else kept.

:class:`VideoReader` decodes whatever FFmpeg reads into ``(H, W, 3)`` uint8 RGB frames with
their timestamps, converting from the stream's own colour matrix and range (the matrix a
player would assume where the file names none: BT.709 from 720 lines up, BT.601 below).
:class:`VideoWriter` encodes frames back with the same timestamps (variable frame rate
kept), the same matrix (always limited range, as players expect), the input's rotation tag,
and the input's audio streams copied packet for packet (re-encoded only where the output
container cannot hold their codec). The codec follows the output's extension: H.264
``yuv420p`` in ``.mp4``, ``.mov``, ``.mkv``, ``.m4v`` and ``.avi``, VP9 in ``.webm``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from egan_core.errors import InputError, UsageError, first_line

#: What each writable container holds: (video encoder, audio encoder for codecs it cannot copy).
CONTAINERS: dict[str, tuple[str, str]] = {
    ".mp4": ("libx264", "aac"), ".m4v": ("libx264", "aac"), ".mov": ("libx264", "aac"),
    ".mkv": ("libx264", "aac"), ".avi": ("libx264", "libmp3lame"), ".webm": ("libvpx-vp9", "libopus"),
}
#: Audio codecs a container lists as supported but refuses to copy (FFmpeg's mov muxer:
#: "opus only supported in MP4"): re-encoded instead.
NOT_COPIED: dict[str, frozenset[str]] = {".mov": frozenset({"opus", "flac"})}
#: Endings picked up as videos in folders and globs (FFmpeg reads many more; a file named
#: explicitly is always tried).
READABLE = frozenset({*CONTAINERS, ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".wmv", ".flv",
                      ".3gp", ".ogv", ".vob"})
#: The container an input of an unwritable kind is written to.
DEFAULT_CONTAINER = ".mp4"
#: x264 speed/size trade-off: ``ultrafast`` costs half the CPU time of ``superfast`` per
#: 1080p frame, a quarter of the whole pipeline's with ``fast`` (benchmarks/bench_video.py);
#: slower presets make smaller files at the same quality.
DEFAULT_PRESET = "ultrafast"
#: Constant rate factor: lower is better quality and bigger files (18: visually lossless).
DEFAULT_CRF = 18
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
           "veryslow")

# FFmpeg's AVColorSpace codes -> swscale's names for the matrix.
_MATRIX = {1: "itu709", 4: "fcc", 5: "itu601", 6: "itu601", 7: "smpte240m", 9: "bt2020", 10: "bt2020"}
# The AVColorSpace / primaries / transfer tags written for each matrix.
_TAGS = {"itu709": (1, 1, 1), "itu601": (6, 6, 6), "fcc": (4, 6, 6), "smpte240m": (7, 7, 7),
         "bt2020": (9, 9, 1)}
# Kr and Kb of each matrix: Y = Kr R + (1 - Kr - Kb) G + Kb B.
_LUMA = {"itu709": (0.2126, 0.0722), "itu601": (0.299, 0.114), "fcc": (0.30, 0.11),
         "smpte240m": (0.212, 0.087), "bt2020": (0.2627, 0.0593)}
_JPEG_RANGE = 2
#: Threads of :func:`egan_core.enhance_video` that always run (reading, enhancing,
#: writing; blending is a fourth when on). With no more cores than these, the decoder and
#: x264 run on one thread each: the pipeline already keeps every core busy, and codec
#: threads add only their overhead (at 1080p on 2 cores, 3 CPU ms a frame for decoding and
#: 4 for encoding; docs/benchmarks.md, *Video*). With more, FFmpeg picks: at 4K decoding
#: is the largest share of the work.
PIPELINE_THREADS = 3


def codec_threads() -> int:
    """FFmpeg's thread count for the decoder and the encoder: 1 on small machines, else 0 (its own choice)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 1 if cores <= PIPELINE_THREADS else 0


def _av() -> Any:
    import av  # FFmpeg's libraries: loaded on the first video, not on every egan command

    return av


def clock(seconds: float) -> str:
    """``83.25`` -> ``'00:01:23.25'``: a time in a video, as players show it."""
    minutes, sec = divmod(max(0.0, seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours:02d}:{minutes:02d}:{sec:05.2f}"


def check_encoding(crf: int, preset: str) -> None:
    """Refuse a ``crf`` or ``preset`` x264 would not take, before any work.

    Raises:
        UsageError: naming the value and what is accepted.
    """
    if not (isinstance(crf, int) and 0 <= crf <= 51):
        raise UsageError(f"crf must be an integer from 0 to 51, got {crf!r}")
    if preset not in PRESETS:
        raise UsageError(f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}")


def output_container(source: Path, chosen: str | None = None) -> str:
    """The ending of ``source``'s output: ``chosen``, else its own where egan can write it, else .mp4."""
    if chosen is not None:
        ext = chosen if chosen.startswith(".") else f".{chosen}"
        if ext.lower() not in CONTAINERS:
            raise UsageError(f"cannot write '{chosen}' videos; use one of "
                             f"{', '.join(e[1:] for e in CONTAINERS)}")
        return ext.lower()
    ext = source.suffix.lower()
    return ext if ext in CONTAINERS else DEFAULT_CONTAINER


@dataclass(frozen=True)
class VideoInfo:
    """What egan keeps of an input video besides its pixels."""

    width: int
    height: int
    rate: Fraction | None  # average frames per second (None: unknown)
    time_base: Fraction
    frames: int | None  # as the container declares it (None: unknown)
    duration: float | None  # seconds of the video stream (None: unknown)
    matrix: str  # swscale's name of the colour matrix the pixels were converted from
    full_range: bool
    audio: int  # audio streams
    codec: str

    @property
    def expected_frames(self) -> int | None:
        """The frame count to show progress against: declared, else duration x rate."""
        if self.frames:
            return self.frames
        if self.duration and self.rate:
            return max(1, round(self.duration * float(self.rate)))
        return None


class Frame:
    """One decoded frame: its pixels and where it sits in time.

    A 4:2:0 frame keeps the decoder's planes (:attr:`i420`) and makes its RGB
    :attr:`image` only when asked: an enhancer that reads Y'CbCr itself (``fast``) never
    pays for the conversion.
    """

    def __init__(self, image: np.ndarray | None, pts: int | None, time: float, rotation: int = 0,
                 *, i420: np.ndarray | None = None, matrix: str = "itu709", full_range: bool = False) -> None:
        if image is None and i420 is None:
            raise ValueError("a Frame needs its RGB image or its I420 planes")
        self._image = image
        self.pts = pts  # in the stream's time base
        self.time = time  # seconds
        self.rotation = rotation  # counter-clockwise degrees a player turns it by
        self.i420 = i420  # (3H/2, W) uint8, where the decoder gave 4:2:0
        self.matrix = matrix  # the colour matrix of i420
        self.full_range = full_range

    @property
    def image(self) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB (converted from :attr:`i420` on first use)."""
        if self._image is None:
            assert self.i420 is not None
            self._image = i420_to_rgb(self.i420, self.matrix, self.full_range)
        return self._image

    @property
    def luma(self) -> np.ndarray | None:
        """The decoder's Y plane (uint8), where it had one."""
        return None if self.i420 is None else i420_planes(self.i420)[0]

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)``."""
        plane = self.luma if self._image is None else self._image
        assert plane is not None
        return plane.shape[0], plane.shape[1]


class VideoError(InputError):
    """The video cannot be read on from some point; ``time`` is where (seconds)."""

    def __init__(self, message: str, time: float | None = None) -> None:
        super().__init__(message)
        self.time = time


class VideoReader:
    """Decode a video file: :attr:`info`, then :meth:`items` (frames and audio packets in file order).

    Raises:
        InputError: the file is not a video FFmpeg can read, or has no video stream.
    """

    def __init__(self, path: str | Path) -> None:
        av = _av()
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"'{self.path}': no such file")
        if self.path.stat().st_size == 0:
            raise InputError(f"'{self.path}': empty file (0 bytes), not a video")
        try:
            self.container = av.open(str(self.path), metadata_errors="ignore")
        except (av.FFmpegError, UnicodeDecodeError) as exc:
            raise InputError(f"'{self.path}': not a video FFmpeg can read ({first_line(exc)})") from exc
        try:
            self.info = self._probe()
        except BaseException:
            self.container.close()
            raise

    def _probe(self) -> VideoInfo:
        streams = self.container.streams
        if not streams.video:
            raise InputError(f"'{self.path}': no video stream (an audio or data file?)")
        video = streams.video[0]
        video.thread_type = "AUTO"
        video.codec_context.thread_count = codec_threads()
        self.video = video
        self.audio = [s for s in streams.audio if s.codec_context is not None]
        ctx = video.codec_context
        if not ctx.width or not ctx.height:
            raise InputError(f"'{self.path}': its video stream has no frame size (damaged header?)")
        rate = video.average_rate or video.guessed_rate
        duration = None
        if video.duration is not None and video.time_base is not None:
            duration = float(video.duration * video.time_base)
        elif self.container.duration is not None:
            duration = self.container.duration / 1_000_000
        matrix = _MATRIX.get(int(ctx.colorspace or 2), "itu709" if ctx.height >= 720 else "itu601")
        full = int(ctx.color_range or 0) == _JPEG_RANGE or (ctx.pix_fmt or "").startswith("yuvj")
        return VideoInfo(width=ctx.width, height=ctx.height, rate=Fraction(rate) if rate else None,
                         time_base=video.time_base or Fraction(1, 90000),
                         frames=video.frames or None, duration=duration, matrix=matrix,
                         full_range=full, audio=len(self.audio), codec=ctx.name)

    def close(self) -> None:
        """Release the file."""
        self.container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _frame(self, frame: Any, pts: int, time: float, rotation: int) -> Frame:
        """A decoded frame as a :class:`Frame`: its 4:2:0 planes as they are, else RGB."""
        if frame.format.name in ("yuv420p", "yuvj420p") and frame.width % 2 == 0 and frame.height % 2 == 0:
            return Frame(None, pts, time, rotation, i420=frame.to_ndarray(), matrix=self.info.matrix,
                         full_range=self.info.full_range)
        if frame.format.name in ("rgb24",):
            return Frame(frame.to_ndarray(), pts, time, rotation)
        from av.video.reformatter import Interpolation as Sws  # rounded, chroma interpolated

        image = frame.to_ndarray(format="rgb24", src_colorspace=self.info.matrix,
                                 src_color_range=_JPEG_RANGE if self.info.full_range else 1,
                                 interpolation=int(Sws.BILINEAR | Sws.ACCURATE_RND | Sws.FULL_CHR_H_INT))
        return Frame(image, pts, time, rotation)

    def items(self) -> Iterator[Frame | Any]:
        """Video frames (:class:`Frame`) and audio packets (PyAV packets), in file order.

        Raises:
            VideoError: the file is damaged from some point on (everything before it came
                out); its ``time`` is the last good frame's.
        """
        av = _av()
        last = 0.0
        count = 0
        tb = self.info.time_base
        stamps = _Stamps(max(1, round(1 / ((self.info.rate or 25) * tb))))
        try:
            for packet in self.container.demux(self.video, *self.audio):
                if packet.stream.type == "audio":
                    if packet.dts is not None:
                        yield packet
                    continue
                for frame in packet.decode():
                    pts = stamps(frame.pts, frame.dts)
                    time = float(pts * tb)
                    rotation = int(getattr(frame, "rotation", 0) or 0)
                    yield self._frame(frame, pts, time, rotation)
                    last, count = time, count + 1
        except av.FFmpegError as exc:
            raise VideoError(f"'{self.path}': damaged at {clock(last)} (after frame {count}): "
                             f"{first_line(exc)}", last) from exc
        if count == 0:
            raise VideoError(f"'{self.path}': no frames could be decoded (an empty or damaged "
                             "video stream)", 0.0)
        end = self.info.duration
        step = 1 / float(self.info.rate) if self.info.rate else 0.1
        if end is not None and last + max(1.0, 3 * step) < end:
            raise VideoError(f"'{self.path}': damaged or cut short at {clock(last)} (after frame "
                             f"{count}; the file says it lasts {clock(end)})", last)


class _Stamps:
    """Each decoded frame's timestamp, strictly increasing (what an encoder takes).

    FFmpeg's best-effort choice: the frame's pts, or the dts of its packet where the pts
    went backwards more often (AVI holds no pts, so frames reordered past B-frames come
    out of order); a stamp that is missing (raw H.264) or not after the previous one
    becomes the previous plus ``step`` (one frame, in the stream's time base).
    """

    def __init__(self, step: int) -> None:
        self.step = step
        self.faulty_pts = self.faulty_dts = 0
        self.last_pts: int | None = None
        self.last_dts: int | None = None
        self.previous: int | None = None

    def __call__(self, pts: int | None, dts: int | None) -> int:
        if dts is not None:
            self.faulty_dts += self.last_dts is not None and dts <= self.last_dts
            self.last_dts = dts
        if pts is not None:
            self.faulty_pts += self.last_pts is not None and pts <= self.last_pts
            self.last_pts = pts
        best = pts if pts is not None and (dts is None or self.faulty_pts <= self.faulty_dts) else dts
        if best is None or (self.previous is not None and best <= self.previous):
            best = 0 if self.previous is None else self.previous + self.step
        self.previous = best
        return best


def ycc_matrices(matrix: str, full_range: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(to_rgb, from_rgb)``: the ``3 x 4`` affine maps between ``matrix``'s Y'CbCr and RGB,
    in 8-bit levels (``rgb = to_rgb @ [y, cb, cr, 1]``).

    ``to_rgb`` reads limited range (Y 16-235, chroma 16-240) or ``full_range``;
    ``from_rgb`` always writes limited range, as players expect.
    """
    kr, kb = _LUMA[matrix]
    kg = 1.0 - kr - kb
    y = np.array([kr, kg, kb]) * 219 / 255
    cb = np.array([-kr, -kg, 1 - kb]) / (2 * (1 - kb)) * 224 / 255
    cr = np.array([1 - kr, -kg, -kb]) / (2 * (1 - kr)) * 224 / 255
    from_rgb = np.array([[*y, 16.0], [*cb, 128.0], [*cr, 128.0]])
    sy, sc, y0 = (1.0, 1.0, 0.0) if full_range else (255 / 219, 255 / 224, 16.0)
    m = np.array([[sy, 0.0, 2 * (1 - kr) * sc],
                  [sy, -2 * (1 - kb) * kb / kg * sc, -2 * (1 - kr) * kr / kg * sc],
                  [sy, 2 * (1 - kb) * sc, 0.0]])
    to_rgb = np.hstack([m, (-m @ np.array([y0, 128.0, 128.0]))[:, None]])
    return to_rgb, from_rgb


def rgb_to_i420(image: np.ndarray, matrix: str) -> np.ndarray:
    """``(H, W, 3)`` RGB uint8 (even sizes) -> ``(3H/2, W)`` I420: limited-range Y, then U and
    V at half size (2x2 means), with ``matrix``'s coefficients.

    OpenCV does it several times faster than swscale's RGB input path, which would bound
    the whole pipeline at 1080p.
    """
    h, w = image.shape[:2]
    ycc = cv2.transform(image, ycc_matrices(matrix)[1].astype(np.float32))
    out = np.empty((h * 3 // 2, w), np.uint8)
    cv2.extractChannel(ycc, 0, dst=out[:h])
    half = cv2.resize(ycc, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    chroma = out[h:].reshape(2, h // 2, w // 2)
    cv2.extractChannel(half, 1, dst=chroma[0])
    cv2.extractChannel(half, 2, dst=chroma[1])
    return out


def i420_planes(i420: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of an ``(3H/2, W)`` I420 array's Y, U and V planes."""
    h, w = i420.shape[0] * 2 // 3, i420.shape[1]
    chroma = i420[h:].reshape(2, h // 2, w // 2)
    return i420[:h], chroma[0], chroma[1]


def upsample_chroma(planes: Sequence[np.ndarray], out: np.ndarray | None = None) -> np.ndarray:
    """The Cb and Cr of 4:2:0 ``planes`` (Y, Cb, Cr) upsampled bilinearly to the luma's size:
    ``(2, H, W)`` uint8, in ``out`` where given."""
    h, w = planes[0].shape
    out = np.empty((2, h, w), np.uint8) if out is None else out
    for k in (1, 2):
        cv2.resize(planes[k], (w, h), dst=out[k - 1], interpolation=cv2.INTER_LINEAR)
    return out


def i420_to_rgb(i420: np.ndarray, matrix: str, full_range: bool = False) -> np.ndarray:
    """:func:`rgb_to_i420`'s inverse: ``(3H/2, W)`` I420 -> ``(H, W, 3)`` RGB uint8, chroma
    upsampled bilinearly. Rounds to nearest (swscale's default path is a level or more dark)."""
    planes = i420_planes(i420)
    ycc = cv2.merge([planes[0], *upsample_chroma(planes)])
    return cv2.transform(ycc, ycc_matrices(matrix, full_range)[0].astype(np.float32))


def _even(image: np.ndarray) -> np.ndarray:
    """``image`` with its last row/column repeated where its size is odd (yuv420p needs even)."""
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class VideoWriter:
    """Encode RGB frames into ``path`` (container by its ending, or ``container``), keeping
    the reader's timestamps, colour matrix, rotation and audio.

    Frames of an odd width or height get their last row/column repeated (H.264's 4:2:0 needs
    even sizes): :attr:`padded` says so. Call :meth:`close` to finish a playable file.
    """

    def __init__(self, path: str | Path, reader: VideoReader, *, container: str | None = None,
                 crf: int = DEFAULT_CRF, preset: str = DEFAULT_PRESET, audio: bool = True) -> None:
        av = _av()
        check_encoding(crf, preset)
        self.path = Path(path)
        ext = (container or self.path.suffix).lower()
        if ext not in CONTAINERS:
            raise UsageError(f"cannot write '{ext}' videos; use one of {', '.join(CONTAINERS)}")
        self.reader = reader
        self.crf, self.preset = crf, preset
        self.codec, self.audio_codec = CONTAINERS[ext]
        self.not_copied = NOT_COPIED.get(ext, frozenset())
        self.b_frames = ext != ".avi"  # AVI holds no pts: B-frames would come back out of order
        options = {"movflags": "+faststart"} if ext in (".mp4", ".m4v", ".mov") else {}
        self.container = av.open(str(self.path), "w", format=ext[1:].replace("m4v", "mp4")
                                 .replace("mkv", "matroska"), options=options)
        self.video: Any = None
        self.frames = 0
        self.padded = False
        self.audio_out: dict[int, tuple[Any, Any]] = {}  # input index -> (stream, transcoder or None)
        self.waiting: list[Any] = []  # audio before the first frame: the header needs every stream
        self.keep_audio = audio

    def _audio_stream(self, stream: Any) -> tuple[Any, Any]:
        """The output stream for an input audio stream: a copy, or a re-encode where needed."""
        name = stream.codec_context.name
        if name in self.container.supported_codecs and name not in self.not_copied:
            return self.container.add_stream_from_template(stream, opaque=True), None
        rate = stream.codec_context.sample_rate or 48000
        out = self.container.add_stream(self.audio_codec, rate=rate)
        if stream.codec_context.layout is not None:
            out.layout = stream.codec_context.layout
        return out, _Transcoder(out)

    def _open_video(self, first: Frame) -> None:
        info = self.reader.info
        h, w = first.size
        rate = info.rate or Fraction(25)
        video = self.container.add_stream(self.codec, rate=rate)
        video.width, video.height = w + w % 2, h + h % 2
        video.pix_fmt = "yuv420p"
        video.time_base = info.time_base
        video.codec_context.time_base = info.time_base
        video.codec_context.thread_count = codec_threads()
        if self.codec == "libx264":
            video.options = {"crf": str(self.crf), "preset": self.preset,
                             **({} if self.b_frames else {"bf": "0"})}
        else:  # VP9: constant quality, real-time speed settings for the fast presets
            speed = "8" if PRESETS.index(self.preset) < 3 else "4"
            video.options = {"crf": str(self.crf + 12), "b": "0", "deadline": "realtime",
                             "cpu-used": speed, "row-mt": "1"}
        video.colorspace, video.color_primaries, video.color_trc = _TAGS[info.matrix]
        video.color_range = 1
        if first.rotation:
            video.set_display_rotation(first.rotation)
        self.video = video
        self.padded = (w % 2, h % 2) != (0, 0)
        if self.keep_audio:  # after the video, so that players list the video stream first
            for stream in self.reader.audio:
                self.audio_out[stream.index] = self._audio_stream(stream)

    def write(self, frame: Frame, image: np.ndarray) -> None:
        """Encode ``image`` at ``frame``'s time: ``(H, W, 3)`` RGB uint8, or ``(3H/2, W)``
        I420 in the reader's matrix, limited range (even sizes)."""
        av = _av()
        if self.video is None:
            self._open_video(frame)
        out = av.VideoFrame.from_ndarray(self.as_i420(image), format="yuv420p")
        time_base = self.reader.info.time_base
        out.pts = frame.pts if frame.pts is not None else round(frame.time / time_base)
        out.time_base = time_base
        self.container.mux(self.video.encode(out))
        self.frames += 1
        for packet in self.waiting:
            self.write_audio(packet)
        self.waiting.clear()

    def as_i420(self, image: np.ndarray) -> np.ndarray:
        """What :meth:`write` encodes of ``image``: RGB converted to ``(3H/2, W)`` I420 in the
        reader's matrix (limited range, even sizes); I420 as it is."""
        return image if image.ndim == 2 else rgb_to_i420(_even(image), self.reader.info.matrix)

    def write_audio(self, packet: Any) -> None:
        """Copy (or re-encode) one audio packet of the input into its output stream."""
        if self.video is None:
            self.waiting.append(packet)
            return
        stream, transcoder = self.audio_out.get(packet.stream.index, (None, None))
        if stream is None:
            return
        if transcoder is not None:
            self.container.mux(transcoder.encode(packet))
            return
        packet.stream = stream
        self.container.mux(packet)

    def close(self) -> None:
        """Flush the encoders and finish the file (playable even if frames stopped early)."""
        try:
            if self.video is not None:
                self.container.mux(self.video.encode(None))
            for _, transcoder in self.audio_out.values():
                if transcoder is not None:
                    self.container.mux(transcoder.flush())
        finally:
            self.container.close()


class _Transcoder:
    """Decode audio packets and encode them into ``out`` (a codec the container takes)."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def encode(self, packet: Any) -> list[Any]:
        packets: list[Any] = []
        for frame in packet.decode():
            frame.pts = None  # the encoder counts samples itself
            packets += self.out.encode(frame)
        return packets

    def flush(self) -> list[Any]:
        return list(self.out.encode(None))
