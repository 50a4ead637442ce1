"""The ER7 splitter reads what hl7apy reads: every field path the SIU reader uses, on generated
messages (components, subcomponents, repetitions, empty and missing fields)."""

from __future__ import annotations

from typing import Any

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message as Hl7apyMessage
from hl7apy.parser import parse_message
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connectors.hl7v2.ack import build_ack
from connectors.hl7v2.er7 import Header, normalise, parse, repetitions, segment, value

#: The paths ``connectors.hl7v2.siu`` and ``header_of`` read (numbers — SCH-9, AIS-7, AIP-9 — are
#: left out: hl7apy rewrites them, "015" as "15"; the hub reads them with ``float``).
PATHS: dict[str, list[tuple[Any, ...]]] = {
    "MSH": [("msh_3", 1), ("msh_4", 1), ("msh_5", 1), ("msh_6", 1), ("msh_9", 1), ("msh_9", 2),
            ("msh_10",), ("msh_11", 1), ("msh_12", 1)],
    "SCH": [("sch_1", 1), ("sch_1", 2), ("sch_2", 1), ("sch_2", 2), ("sch_6", 1), ("sch_6", 2),
            ("sch_7", 1), ("sch_7", 2), ("sch_8", 1), ("sch_8", 2), ("sch_10", 1),
            ("sch_11", 4), ("sch_11", 5)],
    "TQ1": [("tq1_7",), ("tq1_8",)],
    "PID": [("pid_5", 1, 1), ("pid_5", 1), ("pid_5", 2), ("pid_7",), ("pid_15", 1)],
    "AIS": [("ais_3", 1), ("ais_3", 2), ("ais_4",), ("ais_8", 1)],
    "AIG": [("aig_3", 1), ("aig_3", 2)],
    "AIL": [("ail_3", 1), ("ail_3", 2), ("ail_3", 3), ("ail_3", 4, 1), ("ail_3", 9)],
    "AIP": [("aip_3", 1), ("aip_3", 2), ("aip_3", 2, 1), ("aip_3", 3), ("aip_4", 1), ("aip_6",),
            ("aip_10", 1)],
}
REPEATED = {"pid_3": [(1,), (4, 1), (5,)], "pid_13": [(1,), (3,), (4,), (6,), (7,), (12,)],
            "pid_14": [(1,), (4,)]}

text = st.text(alphabet="ABCxyz019 .-+@", max_size=6)
#: Subcomponents only where the datatype has them (hl7apy keeps ``&`` as text elsewhere): the
#: SIU reader's three-level paths, checked in ``test_subcomponents``.
components = st.lists(text, min_size=1, max_size=5).map("^".join)
fields = st.lists(components, min_size=1, max_size=2).map("~".join)


def segment_text(name: str, count: int) -> st.SearchStrategy[str]:
    return st.lists(fields, min_size=0, max_size=count).map(lambda f: "|".join([name, *f]))


@st.composite
def messages(draw: st.DrawFn) -> str:
    msh = (f"MSH|^~\\&|{draw(components)}|{draw(components)}|HUB|HUB|20260101||"
           f"SIU^{draw(st.sampled_from(['S12', 'S15']))}^SIU_S12|{draw(text)}|P|2.5.1")
    body = [draw(segment_text(name, 16)) for name in draw(st.lists(
        st.sampled_from(["SCH", "TQ1", "PID", "RGS", "AIS", "AIG", "AIL", "AIP"]), max_size=8))]
    return "\r".join([msh, *body])


@settings(max_examples=300, deadline=None)
@given(messages())
@example("MSH|^~\\&|||HUB|HUB|20260101||SIU^S12^SIU_S12||P|2.5.1\rPID||| \rSCH")  # a blank PID-3
def test_the_splitter_reads_what_hl7apy_reads(er7: str) -> None:
    theirs = parse_message(normalise(er7), find_groups=False, validation_level=VALIDATION_LEVEL.QUIET)
    ours = parse(er7)
    assert [s.name for s in ours.segments] == [c.name for c in theirs.children]
    for name, paths in PATHS.items():
        mine, other = segment(ours, name), _first(theirs, name)
        for path in paths:
            if len(path) == 1 and mine is not None and "^" in _raw(mine, path[0]):
                continue  # a whole field holding "^": hl7apy reads it by its datatype
            expected = _hl7apy_value(other, *path) if other is not None else ""
            assert (value(mine, *path) if mine is not None else "") == expected, (name, path)
    pid, their_pid = segment(ours, "PID"), _first(theirs, "PID")
    if pid is not None and their_pid is not None:
        for field, paths in REPEATED.items():
            mine_reps, their_reps = repetitions(pid, field), list(getattr(their_pid, field))
            assert len(mine_reps) == len(their_reps)
            for rep, their_rep in zip(mine_reps, their_reps, strict=True):
                for path in paths:
                    assert value(rep, *path) == _hl7apy_value(their_rep, *path), (field, path)


def test_subcomponents() -> None:
    er7 = ("MSH|^~\\&|EMR|CLIN|HUB|HUB|20260101||SIU^S12^SIU_S12|C1|P|2.5.1\r"
           "PID|1||X^^^RAMQ&x&ISO^JHN||Roy&Van&der^Ann^^^||19850101\r"
           "AIL|1||^^^CLIN01&1.2&ISO^^^^^Bureau 1\rAIP|1||12^Gagnon&de^Luc|GP")
    theirs = parse_message(normalise(er7), find_groups=False, validation_level=VALIDATION_LEVEL.QUIET)
    ours = parse(er7)
    for name, path in (("PID", ("pid_5", 1, 1)), ("PID", ("pid_5", 1)), ("AIL", ("ail_3", 4, 1)),
                       ("AIP", ("aip_3", 2, 1)), ("AIP", ("aip_3", 2)), ("PID", ("pid_5",))):
        assert value(segment(ours, name), *path) == _hl7apy_value(_first(theirs, name), *path), path
    [cx] = repetitions(segment(ours, "PID"), "pid_3")
    assert value(cx, 4, 1) == "RAMQ" and value(cx, 5) == "JHN"


def test_the_ack_is_what_hl7apy_builds() -> None:
    received = Header(control_id="C1", application="OMN|X", facility="CLIN01", trigger="S12")
    for args in (("AA", "booked"), ("AE", "bad ^ thing", "102", "PID-7"), ("AR", "no", "", "SCH-11.4")):
        ours = build_ack(received, *args).split("\r")
        theirs = _hl7apy_ack(received, *args).split("\r")
        assert [s.split("|")[:6] + s.split("|")[8:9] + s.split("|")[10:] for s in ours] == [
            s.split("|")[:6] + s.split("|")[8:9] + s.split("|")[10:] for s in theirs]


def _raw(seg: Any, field: str) -> str:
    found = repetitions(seg, field)
    return found[0].text if found else ""


def _first(message: Any, name: str) -> Any:
    found = [c for c in message.children if c.name == name]
    return found[0] if found else None


def _hl7apy_value(element: Any, *path: str | int) -> str:
    """hl7apy's reading of a path (what ``er7.value`` did before the splitter)."""
    current = element
    for step in path:
        if current is None:
            return ""
        if isinstance(step, str):
            found = getattr(current, step)
            current = found[0] if len(found) else None
            continue
        current = _hl7apy_child(current, step)
    return "" if current is None else str(current.to_er7()).strip()


def _hl7apy_child(element: Any, step: int) -> Any:
    try:
        children = list(element.children)
        for child in children:
            if child.name.endswith(f"_{step}") and child.name.rsplit("_", 1)[1] == str(step):
                return child
        return element if step == 1 and not children else None
    except (AttributeError, IndexError, TypeError):
        return None


def _hl7apy_ack(received: Header, code: str, text: str = "", error_code: str = "",
                location: str = "") -> str:
    ack = Hl7apyMessage("ACK", version="2.5.1", validation_level=VALIDATION_LEVEL.QUIET)
    ack.msh.msh_3, ack.msh.msh_4 = "HUB", "HUB"
    ack.msh.msh_5, ack.msh.msh_6 = received.application.replace("|", " "), received.facility
    ack.msh.msh_9 = f"ACK^{received.trigger}^ACK"
    ack.msh.msh_11 = "P"
    ack.msa.msa_1, ack.msa.msa_2 = code, received.control_id
    if text:
        ack.msa.msa_3 = text.replace("^", " ")
    if code != "AA":
        from connectors.hl7v2.er7 import ERROR_NAMES
        error_code = error_code or "207"
        segment_name, _, rest = location.partition("-")
        ack.err.err_2 = segment_name + ("^1^" + rest.split(".", 1)[0] if rest else "")
        ack.err.err_3 = f"{error_code}^{ERROR_NAMES[error_code]}^HL70357"
        ack.err.err_4 = "E"
        ack.err.err_8 = text.replace("^", " ")
    return str(ack.to_er7())
