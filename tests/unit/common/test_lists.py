"""The row edits every editable list shares."""

import pytest

from playground.common.lists import edit_rows


def test_rows_move_and_go_and_edits_that_do_not_apply_change_nothing():
    rows = ["a", "b", "c"]
    assert edit_rows(rows, "up", 1) == ["b", "a", "c"] and edit_rows(rows, "down", 1) == ["a", "c", "b"]
    assert edit_rows(rows, "remove", 2) == ["a", "b"] and rows == ["a", "b", "c"]  # a new list
    assert (
        edit_rows(rows, "up", 0) == rows and edit_rows(rows, "down", 2) == rows and edit_rows(rows, "remove", 9) == rows
    )
    with pytest.raises(ValueError, match="Unknown row edit"):
        edit_rows(rows, "shuffle", 0)
