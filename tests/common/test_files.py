"""The atomic writer's temporary files: a killed process's are removed, a live one's kept."""

import os
import subprocess
import sys

from syrac.common.files import remove_stale_temporaries, write_atomic


def test_temporaries_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    path = tmp_path / "job.json"
    write_atomic(str(path), b"{}")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / f"job.json.{dead}.tmp").write_bytes(b"{")  # left by a SIGKILL
    live = tmp_path / f"job.json.{os.getppid()}.tmp"  # a parent process is alive
    live.write_bytes(b"{")
    (tmp_path / "other.json.1.tmp").write_bytes(b"{")  # another file's: not asked about
    removed = remove_stale_temporaries(str(path))
    assert [os.path.basename(name) for name in removed] == [f"job.json.{dead}.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "job.json", live.name, "other.json.1.tmp"]


def test_first_line_of_an_error_is_one_line_with_or_without_its_type():
    from syrac.common.errors import first_line

    error = OSError("cannot open\nthe details\nmore")
    assert first_line(error) == "cannot open"
    assert first_line(error, with_type=True) == "OSError: cannot open"
    assert first_line(ValueError()) == "ValueError"
    assert first_line(OSError("x" * 50), limit=10) == "xxxxxxx..."
