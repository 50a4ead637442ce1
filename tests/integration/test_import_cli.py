"""``hub import staff|services --clinic ID FILE`` end to end on a SQLite file."""

from __future__ import annotations

import json

import pytest

from entrypoints.cli.main import main
from hub.scheduling.reads import StoreReads
from tests.support.fhir import bundle, healthcare_service
from tests.support.scheduling import ADDRESS, make_app


def test_cli_imports_reports_conflicts_and_retries(sqlite_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", sqlite_url)
    app = make_app(sqlite_url)
    clinic_id = app.register_clinic("Clinique CLI", ADDRESS, "418-555-0000", "clinic").id
    staff = tmp_path / "staff.csv"
    staff.write_text("source_id,name,type,licence\nA1,Dre Roy,md,111\nA2,Luc,,\n", encoding="utf-8")
    assert main(["import", "staff", "--clinic", str(clinic_id), str(staff), "--json"]) == 3
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (result["status"], result["imported"]) == ("conflicts", 1)
    assert result["conflicts"] == [{"source_id": "A2", "name": "Luc", "reason": "missing required field: type"}]

    staff.write_text("source_id,name,type,licence\nA1,Dre Roy,md,111\nA2,Luc,nurse,\n", encoding="utf-8")
    assert main(["import", "retry", result["id"], str(staff), "--json"]) == 0
    retried = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (retried["status"], retried["imported"], retried["created"]) == ("succeeded", 2, 1)

    services = tmp_path / "services.json"
    services.write_text(bundle(healthcare_service("s1", "Consultation", 15)), encoding="utf-8")
    assert main(["import", "services", "--clinic", str(clinic_id), str(services)]) == 0
    assert "succeeded — 1 imported" in capsys.readouterr().out
    assert [s.name for s in StoreReads(app).services(frozenset({clinic_id}))] == ["Consultation"]
    app.close()


def test_cli_refuses_bad_input_and_writes_nothing(sqlite_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", sqlite_url)
    app = make_app(sqlite_url)
    clinic_id = app.register_clinic("Clinique CLI", ADDRESS, "418-555-0000", "clinic").id
    head = app.head()
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Patient"}', encoding="utf-8")
    assert main(["import", "services", "--clinic", str(clinic_id), str(bad)]) == 1
    assert "must be a FHIR Bundle" in capsys.readouterr().err
    assert main(["import", "staff", "--clinic", "not-a-uuid", str(bad)]) == 1
    assert main(["import", "staff", "--clinic", str(clinic_id), str(tmp_path / "missing.csv")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert app.head() == head
    app.close()
