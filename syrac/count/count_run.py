"""One ``syrac count`` run's folder: where each file goes, the journal that lets a killed run
finish, and the tables written at the end.

A run owns a folder ``<out>/<timestamp>/``: figures ``0001_<name>.png`` (and ``.map.npy``), per
video ``<name>.count.png`` and ``<name>.sheet.png``, thumbnails in ``thumbnails/``, then
``counts.csv``, ``counts.json`` and ``index.html``. Every file is written whole or not at all
(:func:`syrac.common.files.write_atomic`).

While it runs, the folder holds ``journal.jsonl`` (a first line with what was asked: the paths,
the model, the options, the working folder; then one line per counted image, per batch of video
frames, per finished video, each synced to disk) and ``.lock`` (held by the running process).
Run the same command again after a kill or Ctrl-C and it takes up the newest unfinished folder
in ``<out>`` that was asked the same thing and that no live process holds: counted images are
kept, a video goes on after its last counted frame. A finished run writes its tables, drops its
lock, and removes its journal last: the journal is the one mark of an unfinished run, so a kill
between any two of these steps leaves either a run the same command finishes or a finished one,
never a leftover file. The same command run after a finished run counts anew, in a new folder.
"""

import csv
import io
import json
import os

from syrac.common.files import timestamp, unique_path, write_atomic, write_json_atomic
from syrac.common.folder_lock import FolderLock
from syrac.count.report import render

JOURNAL = "journal.jsonl"

CSV_COLUMNS = ("path", "frame", "time_s", "count", "N", "width", "height", "patch_counts",
               "model")


class CountRun:
    """The folder of one run, and what has been counted into it so far."""

    def __init__(self, folder, request, counter, lock):
        self.folder, self.request, self.lock = folder, request, lock
        self.model = request["model"]
        self.runtime = counter.runtime
        self.jpeg_decoder = counter.jpeg_decoder
        self.n = counter.n
        self.images, self.videos, self.failures = [], [], []
        self.partial_frames = {}  # video path -> the rows counted before a kill
        self._finished = set()  # paths of the files counted to their end
        self._stems = 0

    @classmethod
    def start(cls, out, request, counter):
        """The unfinished run in ``out`` asked the same ``request`` (taken up, its journal
        read), or a new one."""
        for name in sorted(os.listdir(out) if os.path.isdir(out) else [], reverse=True):
            folder = os.path.join(out, name)
            if _asked(folder) != request:
                continue  # finished, asked something else, or not a run of this command's making
            lock = FolderLock(folder)
            if lock.acquire():
                run = cls(folder, request, counter, lock)
                if run._replay():
                    return run
                lock.release()  # its own process finished it as we took it up
        folder = unique_path(os.path.join(out, timestamp()))
        os.makedirs(os.path.join(folder, "thumbnails"))
        lock = FolderLock(folder)
        lock.acquire()
        write_atomic(os.path.join(folder, JOURNAL),
                     (json.dumps({"request": request}) + "\n").encode("utf-8"))
        return cls(folder, request, counter, lock)

    @property
    def resumed(self):
        """How many files a killed run had counted (0 for a new run)."""
        return len(self.images) + len(self.videos)

    def _replay(self):
        """Read back what the journal records; ``False`` if the journal is gone."""
        try:
            with open(os.path.join(self.folder, JOURNAL), encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return False
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                break  # the line a kill cut short: the last one
            if "image" in entry:
                self.images.append(entry["image"])
                self._finished.add(entry["image"]["path"])
            elif "frames" in entry:
                self.partial_frames.setdefault(entry["frames"], []).extend(entry["rows"])
            elif "video" in entry:
                video = entry["video"]
                video["frames"] = self.partial_frames.pop(video["path"], [])
                self.videos.append(video)
                self._finished.add(video["path"])
        self._stems = len(self.images) + len(self.videos)
        return True

    def _journal(self, entry):
        with open(os.path.join(self.folder, JOURNAL), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def counted(self, path):
        """Whether the file at ``path`` (absolute) was counted to its end already."""
        return path in self._finished

    def add_image(self, record):
        self._journal({"image": record})
        self.images.append(record)
        self._finished.add(record["path"])

    def add_frames(self, path, rows):
        self._journal({"frames": path, "rows": rows})

    def add_video(self, record):
        """Journal a finished video; kept as a replay rebuilds it (the journal line, then the
        frames), so that a taken-up run writes the same ``counts.json``, key order included."""
        video = {k: v for k, v in record.items() if k != "frames"}
        self._journal({"video": video})
        self.videos.append({**video, "frames": record["frames"]})
        self._finished.add(record["path"])

    def paths_for(self, source):
        """``(stem, thumbnail path)`` for the next counted file: its number and name."""
        self._stems += 1
        stem = f"{self._stems:04d}_{os.path.splitext(os.path.basename(source))[0]}"
        return (os.path.join(self.folder, stem),
                os.path.join(self.folder, "thumbnails", stem + ".jpg"))

    def write(self, path, contents):
        write_atomic(path, contents)
        return path

    def _csv(self):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)

        def patches(values):
            return " ".join(f"{c:.4f}" for c in values)

        for r in self.images:
            writer.writerow([r["path"], "", "", f"{r['count']:.4f}", r["N"], r["width"],
                             r["height"], patches(r["patch_counts"]), self.model])
        for video in self.videos:
            for f in video["frames"]:
                writer.writerow([video["path"], f["frame"], f"{f['time']:.3f}",
                                 f"{f['count']:.4f}", video["N"], video["width"],
                                 video["height"], patches(f["patch_counts"]), self.model])
        return buffer.getvalue().encode("utf-8")

    def document(self):
        return {"model": self.model, "runtime": self.runtime, "jpeg_decoder": self.jpeg_decoder,
                "N": self.n,
                "images": self.images, "videos": self.videos,
                "failed": [{"path": p, "reason": why} for p, why in self.failures]}

    def write_tables(self):
        """``counts.csv``, ``counts.json`` and ``index.html``, from everything counted."""
        document = self.document()
        write_atomic(os.path.join(self.folder, "counts.csv"), self._csv())
        write_json_atomic(os.path.join(self.folder, "counts.json"), document, sort_keys=False)
        write_atomic(os.path.join(self.folder, "index.html"),
                     render(document, self.folder).encode("utf-8"))

    def finish(self):
        """The tables, then the lock, then the journal go: nothing is left to resume.

        The journal goes last because it is what marks the run unfinished: killed after the
        lock went, the run is still taken up (and finished again, to the same files) by the
        same command."""
        self.write_tables()
        self.lock.release()
        try:
            os.remove(os.path.join(self.folder, JOURNAL))
        except FileNotFoundError:
            pass  # a re-run took it up as the lock went, and finished it first


def _asked(folder):
    """The request on the first line of ``folder``'s journal; ``None`` without a readable one."""
    try:
        with open(os.path.join(folder, JOURNAL), encoding="utf-8") as handle:
            first = json.loads(handle.readline())
    except (OSError, ValueError):
        return None
    return first.get("request") if isinstance(first, dict) else None
