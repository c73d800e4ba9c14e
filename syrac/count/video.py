"""Reading the frames of a video to count, in a stream, with PyAV (FFmpeg's libraries).

:class:`SampledFrames` decodes one video from start to end and yields only the frames to count:
one per ``every_seconds`` of video time (the first frame at or after 0, every, 2 x every, ...
seconds from the first frame), or every ``every_frame``-th frame. Only the yielded
frame is converted to RGB; nothing is kept between frames, so memory does not grow with the
video's length. A damaged packet is passed over and decoding goes on; a video that stops before
the duration its header gives, or whose container cannot be read further, ends with
:attr:`SampledFrames.problem` saying so, after the frames that could be read.

Files are recognised by content (:func:`sniff_video`): MP4, MOV and M4V (an ``ftyp`` box),
Matroska and WebM (EBML), AVI (RIFF); the codec is whatever the FFmpeg in the PyAV wheel
decodes (H.264, HEVC, VP8, VP9, AV1, MPEG-4, MJPEG, ...).
"""

import dataclasses

import numpy as np

from syrac.common.errors import first_line

VIDEO_NAMES = (".mp4", ".m4v", ".mkv", ".avi", ".mov", ".webm")


def sniff_video(path):
    """``"mp4"``, ``"matroska"`` or ``"avi"`` from the file's first bytes, else ``None``."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
    except OSError:
        return None
    if head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    return None


@dataclasses.dataclass
class Frame:
    """One frame to count: its number in the video (from 0; its time x the frame rate), its
    time in seconds from the first frame, and its pixels, ``(H, W, 3)`` uint8 RGB."""

    index: int
    time: float
    pixels: np.ndarray


class SampledFrames:
    """The frames of the video at ``path`` to count, in order (an iterable, read once).

    After iteration: :attr:`decoded` frames were decoded and :attr:`sampled` yielded, :attr:`duration` is the header's
    duration in seconds (``None`` if unknown), :attr:`last_time` is the last decoded frame's
    time, and :attr:`problem` is ``None`` or why the video ended early.
    """

    def __init__(self, path, every_seconds=1.0, every_frame=None):
        self.path = path
        self.every_seconds = every_seconds
        self.every_frame = every_frame
        self.decoded = self.sampled = 0
        self.duration = None
        self.last_time = None
        self.problem = None
        self.width = self.height = None
        self.fps = None

    def _is_sampled(self, index, time, due):
        if self.every_frame is not None:
            return index % self.every_frame == 0
        return time >= due - 1e-6

    def __iter__(self):
        import av

        try:
            container = av.open(self.path)
        except (av.error.FFmpegError, OSError) as error:
            self.problem = f"not a video PyAV can open ({first_line(error)})"
            return
        with container:
            if not container.streams.video:
                self.problem = "no video stream in this file"
                return
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            self.fps = float(stream.average_rate) if stream.average_rate else None
            if stream.duration is not None and stream.time_base is not None:
                self.duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                self.duration = container.duration / 1_000_000
            yield from self._decode(container, stream)

    def _frames(self, container, stream):
        import av

        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.FFmpegError as error:
                self.problem = f"the container could not be read further ({first_line(error)})"
                break
            try:
                yield from packet.decode()
            except av.error.FFmpegError as error:
                self._damaged = first_line(error)
        try:  # what the decoder still holds when the container broke off
            yield from stream.codec_context.decode(None)
        except av.error.FFmpegError:
            pass

    def _decode(self, container, stream):
        self._damaged = None
        start, due, index = None, 0.0, -1
        for frame in self._frames(container, stream):
            time = float(frame.time) if frame.time is not None else (
                self.decoded / self.fps if self.fps else float(self.decoded))
            start = time if start is None else start
            time -= start
            # The frame's number in the video: from its time where the rate is known, so that a
            # frame lost to damage does not shift the numbers of those after it.
            index = max(index + 1, round(time * self.fps) if self.fps else index + 1)
            self.decoded += 1
            self.last_time = time
            if self._is_sampled(index, time, due):
                due += self.every_seconds if self.every_frame is None else 0.0
                while self.every_frame is None and due <= time:
                    due += self.every_seconds
                pixels = frame.to_ndarray(format="rgb24")
                self.height, self.width = pixels.shape[:2]
                self.sampled += 1
                yield Frame(index, time, pixels)
        self._judge_end()

    def _judge_end(self):
        if self.decoded == 0:
            self.problem = self.problem or (
                "no frame could be decoded" + (f" ({self._damaged})" if self._damaged else ""))
            return
        period = 1.0 / self.fps if self.fps else 0.0
        shown_until = self.last_time + period
        if self.problem is None and self.duration and shown_until < self.duration - 2 * period - 0.05:
            self.problem = (f"truncated or damaged: frames decoded up to {self.last_time:.2f} s "
                            f"of the {self.duration:.2f} s the header gives")
        if self.problem is None and self._damaged:
            self.problem = f"damaged packets were passed over ({self._damaged})"
        if self.problem is not None:
            self.problem += f"; the {self.sampled} frame(s) sampled before that were counted"
