"""What the API shows of the history of fixes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FixOut(BaseModel):
    kind: str = Field(description="action or recommendation")
    name: str
    attempts: int = Field(description="Applied fixes whose window has passed (or that worked).")
    successes: int = Field(description="Of those, how many were followed by resolution.")
    pending: int = Field(description="Applied fixes whose window is still open.")
    success_rate: float
    score: float = Field(description="Lower bound of the 95 % Wilson interval; the rank key.")
    median_seconds_to_resolve: float | None
    summary: str = Field(description='e.g. "restart-db resolved DiskPressure on role=db 9 '
        'times out of 10, median 3 min"')  # fmt: skip


class FixRanking(BaseModel):
    """Past fixes for an alert's signature, best first."""

    signature: dict[str, str]
    window_seconds: int
    fixes: list[FixOut]
