"""``AdmissionLedger``: all-or-nothing bookings that never exceed a capacity."""

from __future__ import annotations

import pytest

from spfed.errors import AlreadyExists, InvalidArgument, QuotaViolation, ResourceExhausted
from wim import AdmissionLedger, Booking


def _ledger() -> AdmissionLedger:
    return AdmissionLedger({"ab": 100.0, "bc": 10.0, "cd": 0.3})


def test_booking_holds_bandwidth_on_every_link() -> None:
    ledger = _ledger()
    ledger.book("s1", ["ab", "bc", "ab"], 4)
    assert (ledger.booked("ab"), ledger.free("ab")) == (4, 96)
    assert (ledger.booked("bc"), ledger.free("bc")) == (4, 6)
    assert ledger.bookings() == [Booking("s1", "ab", 4), Booking("s1", "bc", 4)]


def test_a_booking_that_does_not_fit_holds_nothing_and_names_each_full_link() -> None:
    ledger = _ledger()
    ledger.book("s1", ["bc"], 8)
    with pytest.raises(ResourceExhausted) as caught:
        ledger.book("s2", ["ab", "bc", "cd"], 5)
    assert caught.value.quota_violations == (
        QuotaViolation("wan-link:bc", "5 Mbps asked; 2 of 10 Mbps free"),
        QuotaViolation("wan-link:cd", "5 Mbps asked; 0.3 of 0.3 Mbps free"),
    )
    assert ledger.booked("ab") == 0
    assert ledger.bookings() == [Booking("s1", "bc", 8)]


def test_filling_a_link_exactly_is_allowed_without_rounding_drift() -> None:
    ledger = _ledger()
    for i in range(3):
        ledger.book(f"s{i}", ["cd"], 0.1)  # 0.1 + 0.1 + 0.1 > 0.3 in naive float addition
    assert ledger.booked("cd") == 0.3
    with pytest.raises(ResourceExhausted):
        ledger.book("s3", ["cd"], 1e-6)  # one bit per second


def test_release_frees_exactly_that_service() -> None:
    ledger = _ledger()
    ledger.book("s1", ["ab", "bc"], 3)
    ledger.book("s2", ["ab"], 5)
    assert ledger.release("s1") == (Booking("s1", "ab", 3), Booking("s1", "bc", 3))
    assert ledger.bookings() == [Booking("s2", "ab", 5)]
    assert ledger.free("bc") == 10
    assert ledger.release("s1") == ()
    ledger.book("s1", ["bc"], 10)


def test_bad_bookings_are_refused() -> None:
    ledger = _ledger()
    ledger.book("s1", ["ab"], 1)
    with pytest.raises(AlreadyExists):
        ledger.book("s1", ["bc"], 1)
    with pytest.raises(InvalidArgument, match="invalid booking"):
        ledger.book("s2", ["ab", "zz"], 1)
    with pytest.raises(InvalidArgument):
        ledger.book("s2", ["ab"], -1)
    with pytest.raises(InvalidArgument):
        ledger.book("s2", ["ab"], float("nan"))
    assert ledger.bookings() == [Booking("s1", "ab", 1)]


def test_restore_takes_bookings_back_as_they_were_even_beyond_capacity() -> None:
    stored = [Booking("s1", "ab", 60), Booking("s1", "bc", 60), Booking("s2", "ab", 50)]
    ledger = _ledger()
    ledger.restore(stored)
    assert ledger.bookings() == stored
    assert ledger.free("ab") == -10
    with pytest.raises(ResourceExhausted):
        ledger.book("s3", ["ab"], 0.5)
    ledger.release("s1")
    ledger.book("s3", ["ab", "bc"], 10)


@pytest.mark.parametrize(
    ("stored", "error"),
    [
        ([Booking("s1", "zz", 1)], InvalidArgument),
        ([Booking("s1", "ab", 1), Booking("s1", "ab", 1)], InvalidArgument),
        ([Booking("s1", "ab", 1), Booking("s1", "bc", 2)], InvalidArgument),
        ([Booking("s2", "ab", -1)], InvalidArgument),
        ([Booking("s0", "ab", 1)], AlreadyExists),
    ],
)
def test_restore_is_all_or_nothing(stored: list[Booking], error: type[Exception]) -> None:
    ledger = _ledger()
    ledger.book("s0", ["bc"], 1)
    with pytest.raises(error):
        ledger.restore([Booking("ok", "ab", 1), *stored])
    assert ledger.bookings() == [Booking("s0", "bc", 1)]
