import pytest

from app.members.cards import check_member_number, luhn_digit, member_number
from app.members.errors import InvalidMemberNumber


@pytest.mark.parametrize(
    ("sequence", "number"), [(1, "000018"), (2, "000026"), (10, "000109"), (12345, "123455")]
)
def test_member_numbers_carry_a_luhn_check_digit(sequence, number):
    assert member_number(sequence) == number


def test_known_luhn_value():
    # 7992739871 is the textbook Luhn example: its check digit is 3.
    assert luhn_digit("7992739871") == "3"


@pytest.mark.parametrize("typed", ["000019", "000081", "100018", "12345", "1234567", "abcdef", ""])
def test_typos_are_caught_before_any_lookup(typed):
    with pytest.raises(InvalidMemberNumber):
        check_member_number(typed)


def test_spaces_are_allowed():
    assert check_member_number(" 000 018 ") == "000018"
