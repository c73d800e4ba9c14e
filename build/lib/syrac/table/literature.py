"""Published unsupervised results, read from a sourced CSV file to print beside ours.

Columns: ``method, venue, dataset, mae, rmse, source``. ``dataset`` is matched to a benchmark's
``label`` (or its dataset name). An empty ``mae`` or ``rmse`` is a number we do not have, never a
zero; ``source`` says where every number came from, and a row without one is refused. The
literature's "MSE" is a root mean squared error: it goes in the ``rmse`` column.
"""

import csv
import dataclasses

from syrac.common.errors import SyracError
from syrac.common.numbers import as_number

COLUMNS = ("method", "venue", "dataset", "mae", "rmse", "source")


@dataclasses.dataclass(frozen=True)
class Published:
    method: str
    venue: str
    dataset: str
    mae: float
    rmse: float
    source: str


def _value(path, line, key, text):
    if text is None or text.strip() == "":
        return None
    value = as_number(text.strip())
    if value is None:
        raise SyracError(f"{path}: line {line}: {key} must be a number or empty. Received: {text!r}")
    return float(value)


def read_literature(path):
    """Every row of the literature file at ``path`` as :class:`Published`."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or set(COLUMNS) - set(reader.fieldnames):
                raise SyracError(f"{path}: needs the columns {', '.join(COLUMNS)}; found "
                                 f"{reader.fieldnames}")
            rows = []
            for record in reader:
                line = reader.line_num
                if not (record.get("source") or "").strip():
                    raise SyracError(f"{path}: line {line}: every number needs its source")
                rows.append(Published(
                    record["method"].strip(), record["venue"].strip(), record["dataset"].strip(),
                    _value(path, line, "mae", record["mae"]),
                    _value(path, line, "rmse", record["rmse"]), record["source"].strip()))
    except OSError as error:
        raise SyracError(f"{path}: cannot read: {error.strerror}") from None
    return rows
