"""The overdue rules: the built-in "1715" ones, a JSON file replacing them, and a bad file
named with its problem."""

import json
from pathlib import Path

import pytest

from schemas.enums import CaseStatus
from server.jobs.overdue_rules import BUILT_IN, RulesError, load_rules, parse_rules


def test_built_in_rules_are_the_1715_sizes() -> None:
    assert BUILT_IN.sizes == {"small": 1, "medium": 7, "large": 15}
    assert BUILT_IN.need_size("repair") == "small"
    assert BUILT_IN.need_size("维修") == "small"  # tablets may write the zh-CN label
    assert BUILT_IN.need_size("employment") == "large"
    assert BUILT_IN.need_size(None) == "medium"
    assert BUILT_IN.need_size("not-a-category") == "medium"
    assert BUILT_IN.case_status_days[CaseStatus.REGISTERED] == 3
    assert BUILT_IN.problems() == []


def test_no_file_means_the_built_in_rules() -> None:
    assert load_rules(None) is BUILT_IN


def test_a_file_replaces_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(
        json.dumps(
            {
                "sizes": {"quick": 2, "slow": 30},
                "need_sizes": {"repair": "quick", "health": "slow"},
                "default_need_size": "slow",
                "case_status_days": {"registered": 1},
                "follow_up": False,
            }
        ),
        encoding="utf-8",
    )
    rules = load_rules(str(path))
    assert rules.sizes == {"quick": 2, "slow": 30}
    assert rules.need_size("repair") == "quick"
    assert rules.need_size("childcare") == "slow"
    assert rules.case_status_days == {CaseStatus.REGISTERED: 1}
    assert rules.follow_up is False


def test_a_partial_file_keeps_the_defaults_it_does_not_name() -> None:
    rules = parse_rules(b'{"case_status_days": {"mediating": 30}}')
    assert rules.sizes == BUILT_IN.sizes and rules.need_sizes == BUILT_IN.need_sizes
    assert rules.case_status_days == {CaseStatus.MEDIATING: 30}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "malformed"),
        (b'{"sizes": {"small": -1}}', "$.sizes"),
        (b'{"need_sizes": {"gardening": "small"}}', "gardening"),
        (b'{"case_status_days": {"registered": "three"}}', "$.case_status_days"),
        (b'{"deadline_days": 3}', "deadline_days"),
        (b'{"need_sizes": {"repair": "huge"}}', "size 'huge' is used but not defined"),
        (b'{"default_need_size": "tiny"}', "size 'tiny'"),
        (b'{"case_status_days": {"closed": 3}}', "cannot limit 'closed'"),
    ],
)
def test_a_bad_file_is_a_clear_error_naming_the_problem(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "rules.json"
    path.write_bytes(content)
    with pytest.raises(RulesError) as raised:
        load_rules(str(path))
    assert str(path) in str(raised.value)
    assert problem.lower() in str(raised.value).lower(), raised.value


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"
    with pytest.raises(RulesError, match=r"nowhere\.json.*No such file"):
        load_rules(str(path))
