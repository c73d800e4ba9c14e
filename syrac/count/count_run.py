"""One ``syrac count`` run's folder: where each file goes, the journal that lets a killed run
finish, and the tables written at the end.

A run owns a folder ``<out>/<timestamp>/``: figures ``0001_<name>.png`` (and ``.map.npy``), per
video ``<name>.count.png`` and ``<name>.sheet.png``, thumbnails in ``thumbnails/``, then
``counts.csv``, ``counts.json`` and ``index.html``. Every file is written whole or not at all
(:func:`syrac.common.files.write_atomic`).

While it runs, the folder holds ``run.json`` (what was asked: the paths, the model, the options,
the working folder), ``journal.jsonl`` (one line per counted image, per batch of video frames,
per finished video, each synced to disk) and ``.lock`` (held by the running process). Run the
same command again after a kill or Ctrl-C and it takes up the newest unfinished folder in
``<out>`` that was asked the same thing and that no live process holds: counted images are kept,
a video goes on after its last counted frame. A finished run removes its journal, ``run.json``
and lock, so the same command run again afterwards counts anew, in a new folder.
"""

import csv
import io
import json
import os

from syrac.common.errors import SyracError
from syrac.common.files import (read_json, timestamp, unique_path, write_atomic,
                                write_json_atomic)
from syrac.common.folder_lock import FolderLock
from syrac.count.report import render

JOURNAL = "journal.jsonl"
REQUEST = "run.json"

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
            if not (os.path.isfile(os.path.join(folder, JOURNAL))
                    and os.path.isfile(os.path.join(folder, REQUEST))):
                continue
            try:
                if read_json(os.path.join(folder, REQUEST), default=None) != request:
                    continue
            except SyracError:
                continue  # not a run of this command's making
            lock = FolderLock(folder)
            if lock.acquire():
                run = cls(folder, request, counter, lock)
                run._replay()
                return run
        folder = unique_path(os.path.join(out, timestamp()))
        os.makedirs(os.path.join(folder, "thumbnails"))
        lock = FolderLock(folder)
        lock.acquire()
        write_json_atomic(os.path.join(folder, REQUEST), request, sort_keys=False)
        write_atomic(os.path.join(folder, JOURNAL), b"")
        return cls(folder, request, counter, lock)

    @property
    def resumed(self):
        """How many files a killed run had counted (0 for a new run)."""
        return len(self.images) + len(self.videos)

    def _replay(self):
        with open(os.path.join(self.folder, JOURNAL), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
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
        self._journal({"video": {k: v for k, v in record.items() if k != "frames"}})
        self.videos.append(record)
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
        """The tables, then the journal, request and lock go: nothing is left to resume."""
        self.write_tables()
        for name in (JOURNAL, REQUEST):
            os.remove(os.path.join(self.folder, name))
        self.lock.release()
