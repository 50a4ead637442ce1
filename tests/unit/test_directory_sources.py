"""EMR staff and services sources (FHIR Bundle, CSV) → rows and row conflicts; malformed refused."""

from __future__ import annotations

import json

import pytest

from connectors.directory import parse_source
from hub.imports.rows import MalformedSource, RowConflict, ServiceRow, StaffRow
from tests.support.fhir import bundle, healthcare_service, practitioner


def test_staff_bundle_gives_rows_and_conflicts() -> None:
    source = bundle(
        practitioner("p1", "Dre Isabelle Tremblay", "gp", "1-23456"),
        practitioner("p2", "Marc Gagnon", "infirmier", via_role=False),
        practitioner("p3", "Sans Type", None),
        practitioner("p4", "", "gp"),
        practitioner("p5", "Dr Inconnu", "chaman"),
    )
    parsed = parse_source("staff", source)
    assert parsed.rows == [
        StaffRow("p1", "Dre Isabelle Tremblay", "gp", "1-23456"),
        StaffRow("p2", "Marc Gagnon", "nurse", None),
    ]
    assert parsed.conflicts == [
        RowConflict("p3", "Sans Type", "missing required field: type"),
        RowConflict("p4", "", "missing required field: name"),
        RowConflict("p5", "Dr Inconnu", "unknown professional type 'chaman'"),
    ]


def test_services_bundle_reads_duration_category_product() -> None:
    source = bundle(
        healthcare_service("s1", "Consultation", 15, "in_person", True, 24),
        healthcare_service("s2", "Vaccin", 10, product="Pfizer-BioNTech", delay_hours=12),
        healthcare_service("s3", "Sans durée", None),
        healthcare_service("s4", "Bizarre", 10, category="underwater"),
    )
    parsed = parse_source("services", source)
    assert parsed.rows == [
        ServiceRow("s1", "Consultation", 15, "in_person", True, 24, None),
        ServiceRow("s2", "Vaccin", 10, "in_person", True, 12, "Pfizer-BioNTech"),
    ]
    assert [(c.source_id, c.reason) for c in parsed.conflicts] == [
        ("s3", "service without duration"), ("s4", "unknown service category 'underwater'"),
    ]


def test_csv_sources() -> None:
    staff = "source_id,name,type,licence\nA1,Dre Roy,md,111\nA2,Luc,,\nA3,Léa,ips,\n"
    parsed = parse_source("staff", staff)
    assert parsed.rows == [StaffRow("A1", "Dre Roy", "gp", "111"), StaffRow("A3", "Léa", "ips", None)]
    assert parsed.conflicts == [RowConflict("A2", "Luc", "missing required field: type")]
    services = ("source_id,name,duration_minutes,category,online,cancellation_delay_hours,product\n"
                "S1,Consultation,15,phone,oui,24,\nS2,Sans durée,,in_person,non,0,\n")
    parsed = parse_source("services", services)
    assert parsed.rows == [ServiceRow("S1", "Consultation", 15, "phone", True, 24, None)]
    assert parsed.conflicts == [RowConflict("S2", "Sans durée", "service without duration")]


@pytest.mark.parametrize("kind,source,message", [
    ("staff", "", "empty"),
    ("staff", "{not json", "not valid JSON"),
    ("staff", json.dumps({"resourceType": "Patient", "id": "x"}), "must be a FHIR Bundle"),
    ("staff", json.dumps({"resourceType": "Bundle", "type": "nonsense-type", "entry": "x"}), "not valid FHIR"),
    ("staff", bundle(healthcare_service("s1", "Consultation")), "holds HealthcareService"),
    ("services", bundle(practitioner("p1", "Dr X")), "holds Practitioner, PractitionerRole"),
    ("staff", "nom,genre\nx,y\n", "lacks column(s) source_id, name, type"),
    ("services", "source_id,name\nS1,a,b,c\n", "more fields than the header"),
])
def test_malformed_sources_are_refused_whole(kind: str, source: str, message: str) -> None:
    with pytest.raises(MalformedSource, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_source(kind, source)


def test_roles_may_name_their_practitioner_by_full_url() -> None:
    source = json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:7f0c2a4e-0000-4000-8000-000000000001",
         "resource": {"resourceType": "Practitioner", "name": [{"given": ["Léa"], "family": "Côté"}],
                      "identifier": [{"system": "https://www.oiiq.org/fhir/sid/permis", "value": "OIIQ-9"}]},
         "request": {"method": "POST", "url": "Practitioner"}},
        {"fullUrl": "urn:uuid:7f0c2a4e-0000-4000-8000-000000000002",
         "resource": {"resourceType": "PractitionerRole",
                      "practitioner": {"reference": "urn:uuid:7f0c2a4e-0000-4000-8000-000000000001"},
                      "code": [{"text": "Infirmière praticienne spécialisée", "coding": [{"code": "IPS"}]}]},
         "request": {"method": "POST", "url": "PractitionerRole"}},
    ]})
    parsed = parse_source("staff", source)
    assert parsed.rows == [StaffRow("OIIQ-9", "Léa Côté", "ips", "OIIQ-9")]
