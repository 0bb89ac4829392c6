"""Masking of ID numbers, phone numbers and contacts: what exports and the read API show."""

import pytest

from server.records.personal_data import mask, mask_row, mask_text, mask_value, mask_written


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("13812345678", "138****5678"),
        ("330102194101011234", "330***********1234"),
        ("33010219410101123X", "330***********123X"),
        ("0571-88888888", "057******8888"),
        ("12345678", "123*5678"),
        ("1234567", "*******"),  # too short to keep anything
        ("", ""),
    ],
)
def test_mask_keeps_the_first_three_and_last_four_of_long_enough_values(
    value: str, shown: str
) -> None:
    assert mask(value) == shown
    assert len(mask(value)) == len(value)


def test_numbers_lists_and_objects_under_a_sensitive_key_are_masked_throughout() -> None:
    assert mask_value(13812345678) == "138****5678"  # a tablet wrote a number
    assert mask_value(["13812345678", None, True]) == ["138****5678", None, True]
    assert mask_value({"home": "13812345678"}) == {"home": "138****5678"}


def test_rows_are_masked_by_key_at_any_depth_and_left_alone_otherwise() -> None:
    row = {
        "head_name": "张桂英",
        "phone": "13812345678",
        "extra": {"contact": "13900001111", "next_step": "回访"},
        "count": 12345678901,
    }
    masked = mask_row(row)
    assert masked == {
        "head_name": "张桂英",
        "phone": "138****5678",
        "extra": {"contact": "139****1111", "next_step": "回访"},
        "count": 12345678901,  # not a sensitive key
    }
    assert row["phone"] == "13812345678"  # the input is not changed


def test_written_values_are_masked_by_their_field_or_the_keys_they_hold() -> None:
    assert mask_written("phone", "13812345678") == "138****5678"
    members = [{"name": "张三", "id_number": "330102194101011234"}]
    assert mask_written("members", members) == [{"name": "张三", "id_number": "330***********1234"}]
    assert mask_written("findings", "老人独居 13812345678") == "老人独居 13812345678"
    assert mask_written(None, {"phone": "13812345678"}) == {"phone": "138****5678"}


def test_numbers_in_text_are_masked() -> None:
    message = '走访目的: "13812345678" is not one of routine, care_visit'
    assert mask_text(message) == '走访目的: "138****5678" is not one of routine, care_visit'
    assert mask_text("身份证 33010219410101123X 有误") == "身份证 330***********123X 有误"
    assert mask_text("more than 50 items") == "more than 50 items"
