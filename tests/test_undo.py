"""The undo log under the state's containers: whatever a transaction did to them, a rollback
gives back exactly what was there (issue 11: a bug's 500 changes nothing). The HTTP tests of
test_hostile.py hold it for handlers; this holds it for every change a container allows."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from ecm_mock.state import TrackedDict, TrackedList, TrackedSet, UndoLog

KEYS = st.integers(0, 2)  # few keys: changes meet the same containers often
VALUES = st.integers(0, 9)

LIST_CHANGES = st.one_of(
    st.tuples(st.just("append"), VALUES),
    st.tuples(st.just("extend"), st.lists(VALUES, max_size=3)),
    st.tuples(st.just("pop"), st.none()),
    st.tuples(st.just("insert"), VALUES),
    st.tuples(st.just("setitem"), VALUES),
    st.tuples(st.just("delitem"), st.none()),
    st.tuples(st.just("sort"), st.none()),
    st.tuples(st.just("clear"), st.none()),
)
DICT_CHANGES = st.one_of(
    st.tuples(st.just("set"), KEYS, st.lists(VALUES, max_size=3)),
    st.tuples(st.just("del"), KEYS, st.none()),
    st.tuples(st.just("pop"), KEYS, st.none()),
    st.tuples(st.just("setdefault"), KEYS, st.lists(VALUES, max_size=2)),
    st.tuples(st.just("inner"), KEYS, LIST_CHANGES),
    st.tuples(st.just("clear"), st.none(), st.none()),
)
SET_CHANGES = st.tuples(st.sampled_from(["add", "discard", "clear", "update"]), VALUES)


def change_list(items: list, change: tuple) -> None:
    name, value = change
    if name in ("pop", "delitem") and not items:
        return
    if name in ("append", "extend", "insert"):
        getattr(items, name)(*((0, value) if name == "insert" else (value,)))
    elif name == "setitem":
        if items:
            items[0] = value
    elif name == "delitem":
        del items[0]
    else:
        getattr(items, name)()


def change_dict(index: dict, change: tuple) -> None:
    name, key, value = change
    if name == "set":
        index[key] = value
    elif name in ("del", "pop") and key in index:
        index.pop(key) if name == "pop" else index.__delitem__(key)
    elif name == "setdefault":
        index.setdefault(key, value)
    elif name == "inner" and key in index:
        change_list(index[key], value)
    elif name == "clear":
        index.clear()


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    start=st.dictionaries(KEYS, st.lists(VALUES, max_size=3), max_size=4),
    changes=st.lists(DICT_CHANGES, max_size=12),
    set_start=st.sets(VALUES, max_size=4),
    set_changes=st.lists(SET_CHANGES, max_size=6),
)
def test_a_rollback_gives_back_exactly_what_was_there(start, changes, set_start, set_changes):
    undo = UndoLog()
    index = TrackedDict(copy.deepcopy(start), undo=undo, nested=True)
    numbers = TrackedSet(set_start, undo=undo)
    undo.begin()
    for change in changes:
        change_dict(index, change)
    for name, value in set_changes:
        getattr(numbers, name)(
            *(() if name == "clear" else ([value],) if name == "update" else (value,))
        )
    undo.rollback()
    assert {k: list(v) for k, v in index.items()} == start
    assert set(numbers) == set_start
    assert all(type(v) is TrackedList for v in index.values())


@settings(max_examples=300, derandomize=True, deadline=None)
@given(start=st.lists(VALUES, min_size=1, max_size=4), changes=st.lists(LIST_CHANGES, max_size=8))
def test_a_rollback_gives_back_a_list_whatever_was_done_to_it(start, changes):
    undo = UndoLog()
    items = TrackedList(start, undo=undo)
    undo.begin()
    for change in changes:
        change_list(items, change)
    undo.rollback()
    assert list(items) == start


def test_changes_outside_a_transaction_or_committed_stay():
    undo = UndoLog()
    index = TrackedDict({1: [1]}, undo=undo, nested=True)
    index[2] = [2]  # no transaction: nothing noted
    assert undo.entries == []
    undo.begin()
    index[1].append(3)
    undo.commit()
    undo.rollback()  # nothing left to undo
    assert index == {1: [1, 3], 2: [2]}
