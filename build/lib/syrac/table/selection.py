"""Which epoch's checkpoint and which N a table reports: the recipe's rule, stated in the table.

- ``fixed``: the recipe's N and the last epoch. Uses nothing.
- ``rank_val``: the epoch with the lowest ranking ``val_loss`` of pre-training, and the recipe's
  N. Uses no count label.
- ``count_val``: the epoch and N with the lowest MAE on the benchmark's labelled ``val`` split.
  Uses labels, so the table marks those cells "selected on labelled val".

Nothing is ever selected on the reported (test) split: :func:`choose` is never given a test cell.
"""

RULE_NOTES = {
    "fixed": "fixed: the recipe's N and the last epoch (no selection)",
    "rank_val": "rank_val: the epoch with the lowest ranking val_loss and the recipe's N "
                "(no count label used)",
    "count_val": "count_val: the epoch and N with the lowest MAE on the labelled val split "
                 "(selected on labelled val)",
}


def choose(rule, fixed_n, epochs, val_mae=None):
    """Return ``(epoch index in epochs, N)`` chosen by ``rule``.

    Args:
        rule: ``"fixed"``, ``"rank_val"`` or ``"count_val"``.
        fixed_n: the recipe's N (``fixed`` and ``rank_val``).
        epochs: the row's :class:`~syrac.table.rows.Epoch` list, in training order.
        val_mae: for ``count_val``, ``{(epoch index, N): MAE on the val split}``.
    """
    last = len(epochs) - 1
    if rule == "fixed":
        return last, fixed_n
    if rule == "rank_val":
        scored = [(epoch.val_loss, index) for index, epoch in enumerate(epochs)
                  if epoch.val_loss is not None]
        return (min(scored)[1] if scored else last), fixed_n
    if rule == "count_val":
        if not val_mae:
            raise ValueError("count_val needs the val MAE of every epoch and N")
        (index, n), _ = min(val_mae.items(), key=lambda item: (item[1], item[0]))
        return index, n
    raise ValueError(f"unknown selection rule {rule!r}")
