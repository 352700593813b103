import enum
import json
import uuid

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.types import UTCDateTime, enum_column, utcnow
from ..extensions import db


class JobStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    finished = "finished"
    failed = "failed"


class Job(db.Model):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: uuid.uuid4().hex)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    # What the job works on, e.g. "matching_run:12": the pages of that thing show the job while it runs.
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus, "job_status", 20),
                                              default=JobStatus.queued)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    # JSON: {"files": {"pdf": {"stored_name": ..., "filename": ..., "mimetype": ...}}, "url": "..."}
    result_json: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    started_at = mapped_column(UTCDateTime)
    finished_at = mapped_column(UTCDateTime)

    created_by = relationship("User")

    @property
    def result(self) -> dict:
        return json.loads(self.result_json) if self.result_json else {}

    @property
    def percent(self) -> int:
        if self.status is JobStatus.finished:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def is_over(self) -> bool:
        return self.status in (JobStatus.finished, JobStatus.failed)
