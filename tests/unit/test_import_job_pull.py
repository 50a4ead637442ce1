"""ImportJob of format ``emr``: each run pulls a document from the EMR and keeps it."""

from __future__ import annotations

from uuid import uuid4

import pytest

from aggregates.errors import Conflict
from aggregates.import_job import ImportJob


def test_a_pull_keeps_the_document_until_the_next_attempt() -> None:
    job = ImportJob.start(uuid4(), "staff", "emr", '{"emr": "omnimed"}')
    assert job.document is None
    job.pulled('{"resourceType": "Bundle"}')
    job.finish(2, 0, 0, [])
    assert (job.status, job.document) == ("succeeded", '{"resourceType": "Bundle"}')
    with pytest.raises(Conflict):
        job.pulled("{}")  # a finished run pulls nothing more
    job.retry()
    assert (job.status, job.attempt, job.document) == ("running", 2, None)
    names = [type(e).__name__ for e in job.collect_events()]
    assert names == ["Started", "Pulled", "Finished", "Retried"]
