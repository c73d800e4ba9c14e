"""``syrac count`` on videos: which frames, at what times, counted as the same frames would be
as images; broken videos and files that only claim to be images or videos."""

import csv
import shutil

import av
import numpy as np
import pytest
from PIL import Image

from syrac.__main__ import main as syrac_main
from syrac.count.video import SampledFrames, sniff_video
from syrac.fixtures import crowd_frames, write_video
from tests.conftest import crowd_pngs, read_counts

FPS = 10
FRAMES = 34  # 3.4 s


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """The same 34 frames as H.264 in MP4 and as VP9 in WebM, and the frames themselves."""
    folder = tmp_path_factory.mktemp("videos")
    frames = list(crowd_frames(FRAMES, seed=4))
    paths = [write_video(str(folder / "crowd.mp4"), frames, FPS, "libx264"),
             write_video(str(folder / "crowd.webm"), frames, FPS, "libvpx-vp9")]
    return folder, paths, np.stack(frames)


def _decoded(path):
    with av.open(path) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def test_frames_are_sampled_by_time_or_by_count_and_are_the_frames_encoded(videos):
    _, paths, frames = videos
    for path in paths:
        decoded = _decoded(path)
        assert len(decoded) == FRAMES
        # Each decoded frame is nearest to the frame encoded at its place (lossy codecs).
        distances = np.abs(decoded[:, None].astype(int) - frames[None].astype(int)).mean((2, 3, 4))
        assert list(distances.argmin(1)) == list(range(FRAMES)), path
        for sampling, indices in (({"every_seconds": 1.0}, [0, 10, 20, 30]),
                                  ({"every_seconds": 0.25}, [0, 3, 5, 8, 10, 13, 15, 18, 20,
                                                             23, 25, 28, 30, 33]),
                                  ({"every_seconds": None, "every_frame": 7}, [0, 7, 14, 21, 28])):
            reader = SampledFrames(path, **sampling)
            sampled = list(reader)
            assert [f.index for f in sampled] == indices, (path, sampling)
            assert [f.time for f in sampled] == pytest.approx([i / FPS for i in indices])
            for frame in sampled:
                np.testing.assert_array_equal(frame.pixels, decoded[frame.index])
            assert reader.problem is None and reader.decoded == FRAMES
            assert reader.duration == pytest.approx(FRAMES / FPS, abs=0.11)
    assert [sniff_video(p) for p in paths] == ["mp4", "matroska"]


def test_a_video_counts_as_its_frames_do_as_images(videos, counter_files, tmp_path, capsys):
    folder, paths, _ = videos
    counter = str(counter_files / "counter.keras")
    assert syrac_main(["count", *paths, "--model", counter, "--out", str(tmp_path / "v"),
                       "--every", "1", "--quiet", "--batch_size", "3"]) == 0
    printed = capsys.readouterr().out
    (run,) = (tmp_path / "v").iterdir()
    document = read_counts(run)
    assert [v["path"] for v in document["videos"]] == paths and document["images"] == []
    for video in document["videos"]:
        assert [f["frame"] for f in video["frames"]] == [0, 10, 20, 30]
        # The same frames, decoded here and written as lossless PNGs, counted as images.
        stills = tmp_path / ("stills_" + video["path"][-4:])
        stills.mkdir()
        decoded = _decoded(video["path"])
        for f in video["frames"]:
            Image.fromarray(decoded[f["frame"]]).save(stills / f"frame_{f['frame']:03d}.png")
        assert syrac_main(["count", str(stills), "--model", counter, "--out",
                           str(tmp_path / "s"), "--quiet"]) == 0
        still_run = max((tmp_path / "s").iterdir())
        as_images = [r["count"] for r in read_counts(still_run)["images"]]
        assert [f["count"] for f in video["frames"]] == pytest.approx(as_images, abs=1e-4)
        counts = [f["count"] for f in video["frames"]]
        peak = int(np.argmax(counts))
        assert video["mean"] == pytest.approx(np.mean(counts))
        assert (video["max"], video["max_frame"]) == (counts[peak], video["frames"][peak]["frame"])
        assert f"mean {video['mean']:.2f}, max {video['max']:.2f}" in printed
        for key in ("plot", "contact_sheet", "thumbnail"):
            assert open(video[key], "rb").read(4) in (b"\x89PNG", b"\xff\xd8\xff\xe0"), key
    with open(run / "counts.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["frame"], r["time_s"]) for r in rows] == [
        (str(i), f"{i / FPS:.3f}") for i in (0, 10, 20, 30)] * 2
    assert all(len(r["patch_counts"].split()) == 4 for r in rows)


def test_broken_videos_and_files_that_pretend_are_named(videos, counter_files, tmp_path, capsys):
    folder, paths, frames = videos
    photos = tmp_path / "photos"
    crowd_pngs(photos, sizes=((40, 56), (48, 64)))
    (photos / "garbage.jpg").write_bytes(b"\x00 these bytes are no JPEG")
    (photos / "empty.png").write_bytes(b"")
    (photos / "clip.mp4").write_text("a text file under a video's name")
    (photos / "notes.txt").write_text("neither named nor made like an image: left alone")
    write_video(str(photos / "long.mkv"), frames, FPS, "libx264")
    whole = (photos / "long.mkv").read_bytes()
    (photos / "long.mkv").write_bytes(whole[: len(whole) * 6 // 10])  # cut off, Matroska
    data = open(paths[0], "rb").read()
    (photos / "cut.mp4").write_bytes(data[: len(data) // 2])  # cut off, index at the end
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exited:
        syrac_main(["count", str(photos), "--model", str(counter_files / "counter.tflite"),
                    "--out", str(out), "--quiet"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "5 file(s) could not be counted" in error and "notes.txt" not in error
    (run,) = out.iterdir()
    document = read_counts(run)
    reasons = {p.rsplit("/", 1)[-1]: why for p, why in
               ((f["path"], f["reason"]) for f in document["failed"])}
    assert sorted(reasons) == ["clip.mp4", "cut.mp4", "empty.png", "garbage.jpg", "long.mkv"]
    assert reasons["empty.png"] == "named like an image, but it is empty (0 bytes)"
    assert reasons["garbage.jpg"].startswith("named like an image, but its bytes are neither")
    assert reasons["clip.mp4"].startswith("named like a video, but its bytes are neither")
    assert reasons["cut.mp4"].startswith("not a video PyAV can open")
    assert reasons["long.mkv"].startswith("truncated or damaged: frames decoded up to")
    assert len(document["images"]) == 2
    (partial,) = document["videos"]  # the readable part of the cut Matroska file was counted
    assert partial["path"].endswith("long.mkv") and partial["problem"] == reasons["long.mkv"]
    assert 0 < len(partial["frames"]) < 4  # of the whole video's 4 (at 0, 1, 2, 3 s)
    assert [f["frame"] for f in partial["frames"]] == [0, 10, 20, 30][: len(partial["frames"])]
    assert (run / "counts.csv").read_text().count("\n") == 3 + len(
        partial["frames"])


def test_video_options_are_checked(tmp_path, capsys):
    for options, message in ((["--every", "0"], "--every must be a positive number of seconds"),
                             (["--every_frame", "0"], "--every_frame")):
        with pytest.raises(SystemExit) as exited:
            syrac_main(["count", str(tmp_path), "--model", "m.keras", *options])
        assert exited.value.code == 2 and message in capsys.readouterr().err


def test_an_empty_folder_is_named(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        syrac_main(["count", str(tmp_path / "empty"), "--model", "m.keras"])
    assert "no image or video found in this folder" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "empty")
