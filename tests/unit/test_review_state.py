"""The console's review state: what the server wrote, or `edited` once a tablet wrote a
field after a record was sent back."""

from schemas.decode import decode
from schemas.review import review_state

TABLET = {"id": "a", "f": "phone", "v": "1", "by": "王芳", "at": "2026-11-23T09:30:00+08:00"}
SERVER = {**TABLET, "id": "b", "server": True}


def test_sent_back_becomes_edited_only_after_a_new_tablet_write() -> None:
    sent_back = {"state": "sent_back", "seen": 1}
    assert review_state(sent_back, [TABLET]) == "sent_back"
    assert review_state(sent_back, [TABLET, SERVER]) == "sent_back"  # the server's own write
    assert review_state(sent_back, [TABLET, {**TABLET, "id": "c"}]) == "edited"
    assert review_state({"state": "approved", "seen": 0}, [TABLET]) == "approved"


def test_states_the_server_does_not_write_are_not_reviewed_and_no_issue() -> None:
    for review in [{"state": "edited"}, {"state": "好"}, {"state": 3}, [], None]:
        assert review_state(review, []) is None
    content = {"meta": {"kind": "visit", "grid": "G1"}, "review": {"state": "whatever"}}
    decoded = decode("d", content)
    assert decoded.main_row["review_state"] is None  # type: ignore[index]
    assert not [issue for issue in decoded.issues if issue.path.startswith("review")]
