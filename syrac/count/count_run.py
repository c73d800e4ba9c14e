"""One ``syrac count`` run's folder: where each file goes, and the tables written at the end.

A run owns a new folder ``<out>/<timestamp>/`` (never an existing one): figures
``0001_<name>.png`` (and ``.map.npy``), per video ``<name>.count.png`` and ``<name>.sheet.png``,
thumbnails in ``thumbnails/``, then ``counts.csv``, ``counts.json`` and ``index.html``. Every
file is written whole or not at all (:func:`syrac.common.files.write_atomic`).
"""

import csv
import io
import os

from syrac.common.files import timestamp, unique_path, write_atomic, write_json_atomic
from syrac.count.report import render

CSV_COLUMNS = ("path", "frame", "time_s", "count", "N", "width", "height", "patch_counts",
               "model")


class CountRun:
    """The folder of one run, and what has been counted into it so far."""

    def __init__(self, out, model_path, counter):
        self.model = os.path.abspath(model_path)
        self.runtime = counter.runtime
        self.jpeg_decoder = counter.jpeg_decoder
        self.n = counter.n
        self.folder = unique_path(os.path.join(out, timestamp()))
        os.makedirs(os.path.join(self.folder, "thumbnails"))
        self.images, self.videos, self.failures = [], [], []
        self._stems = 0

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
