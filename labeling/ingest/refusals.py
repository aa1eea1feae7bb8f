"""How every ingestion step says no: a Refusal value, and an exception carrying one."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """Why a file (or URL, or archive) is not accepted.

    `code` is stable for programs, `reason` is the sentence shown to a person (built from a
    REASON_* constant), and `limit` is set only when a configured limit was exceeded: the API
    answers those with 413 and the limit, everything else with 400.
    """

    code: str
    reason: str
    limit: int | None = None

    @property
    def exceeds_limit(self) -> bool:
        return self.limit is not None


class IngestRefused(Exception):
    """Raised inside this package to leave deep helpers early; public functions return the Refusal."""

    def __init__(self, refusal: Refusal):
        super().__init__(refusal.reason)
        self.refusal = refusal
