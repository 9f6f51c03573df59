"""Live output of runs: chunks stored while a run is in progress, read back in order.

The worker writes chunks (already redacted and capped by the executors) a few times a second;
readers page through them by ``seq``. The run's ``output`` column stays the final record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from sophrosyne.domains.runs.models import RunOutput


def append(session: Session, run_id: int, chunks: Sequence[tuple[str, datetime]]) -> int:
    """Store ``chunks`` ((text, when) pairs) as the next chunks of ``run_id``; the last seq.

    Numbering continues after what is stored, so a run queued again after its worker died
    keeps the first attempt's output ahead of the second's.
    """
    last = session.scalar(select(func.max(RunOutput.seq)).where(RunOutput.run_id == run_id))
    seq = int(last or 0)
    rows = []
    for text, at in chunks:
        seq += 1
        rows.append({"run_id": run_id, "seq": seq, "text": text, "at": at})
    if rows:
        session.execute(insert(RunOutput), rows)
    return seq


def after(session: Session, run_id: int, *, seq: int = 0, limit: int = 1000) -> list[RunOutput]:
    """Up to ``limit`` chunks of ``run_id`` with a seq greater than ``seq``, in order."""
    return list(
        session.scalars(
            select(RunOutput)
            .where(RunOutput.run_id == run_id, RunOutput.seq > seq)
            .order_by(RunOutput.seq)
            .limit(limit)
        )
    )
