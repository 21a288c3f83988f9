"""Tests for the objects index: ``Store.object_ids`` and ``Store.objects_by_ids``.

The Objects screen scrolls a whole store with these two calls, so they must
list exactly what ``Store.objects`` pages through, in the same order, with
the same search semantics.
"""

from __future__ import annotations

import array
import shutil
from collections.abc import Iterator
from pathlib import Path

import helpers
import pytest
from bulk_objects import BULK_OBJECTS, ON_DISK_EVERY, build_bulk_store

from zbtui.store.errors import QueryCancelled
from zbtui.store.formats import split_store_path
from zbtui.store.open import StoreOptions, open_store
from zbtui.store.zb import ZbStore


def all_pages(store, *, limit: int = 7, **query) -> list[int]:
    """Every id ``Store.objects`` lists, walking its keyset pages."""
    ids: list[int] = []
    after = None
    while True:
        page = store.objects(after=after, limit=limit, **query)
        ids.extend(row.id for row in page.items)
        if page.next_key is None:
            return ids
        after = page.next_key


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZbStore]:
    db_path = build_bulk_store(str(tmp_path_factory.mktemp("bulk")))
    store = open_store(StoreOptions(db=db_path, env={}))
    assert isinstance(store, ZbStore)
    yield store
    store.close()


# -- the demo store ------------------------------------------------------------------


def test_every_object_once_in_name_order(zb_alive, demo_alive) -> None:
    ids = zb_alive.object_ids()
    assert isinstance(ids, array.array) and ids.itemsize == 8
    assert len(ids) == len(set(ids)) == demo_alive.facts["counts"]["objects"]
    rows = zb_alive.objects_by_ids(ids)
    names = [row.name for row in rows]
    assert names == sorted(names)  # the demo's names are unique, so no ties
    assert list(ids) == all_pages(zb_alive)


def test_size_order_is_largest_first(zb_alive) -> None:
    ids = zb_alive.object_ids(sort="size")
    sizes = [row.nar_size for row in zb_alive.objects_by_ids(ids)]
    assert sizes == sorted(sizes, reverse=True)
    assert list(ids) == all_pages(zb_alive, sort="size")


@pytest.mark.parametrize("sort", ["name", "size"])
@pytest.mark.parametrize("drv_only", [False, True])
def test_same_as_objects_pages(zb_alive, demo_alive, sort: str, drv_only: bool) -> None:
    hello = demo_alive.facts["packages"]["hello-2.12.1"]["outputs"]["out"]
    digest = split_store_path(hello)[1]
    for search in (None, "ssl", "OPENSSL", digest[:3], digest, "no-such-name"):
        query = {"sort": sort, "search": search, "drv_only": drv_only}
        assert list(zb_alive.object_ids(**query)) == all_pages(zb_alive, **query), query


def test_search_semantics(zb_alive, demo_alive) -> None:
    packages = demo_alive.facts["packages"]
    openssl = set(packages["openssl-3.0.13"]["outputs"].values()) | {packages["openssl-3.0.13"]["drv"]}
    found = {row.path for row in zb_alive.objects_by_ids(zb_alive.object_ids(search="SSL"))}
    assert openssl <= found
    assert all("ssl" in split_store_path(p)[2].lower() for p in found)

    hello = packages["hello-2.12.1"]["drv"]
    by_digest = zb_alive.objects_by_ids(zb_alive.object_ids(search=split_store_path(hello)[1][:10]))
    assert [row.path for row in by_digest] == [hello]

    drvs = zb_alive.objects_by_ids(zb_alive.object_ids(drv_only=True))
    assert drvs and all(row.path.endswith(".drv") for row in drvs)
    assert hello in {row.path for row in drvs}

    assert len(zb_alive.object_ids(search="no-such-name")) == 0


def test_objects_by_ids_keeps_the_order_asked_and_skips_non_objects(zb_alive, demo_alive) -> None:
    ids = list(zb_alive.object_ids())
    wanted = ids[::-1][:10]
    rows = zb_alive.objects_by_ids(wanted)
    assert [row.id for row in rows] == wanted
    absent = demo_alive.facts["absent_paths"][0]
    absent_id = zb_alive.object_info(absent).id
    assert absent_id is not None
    assert [row.id for row in zb_alive.objects_by_ids([ids[0], absent_id, 10**9, ids[1]])] == [ids[0], ids[1]]
    assert zb_alive.objects_by_ids([]) == []


def test_rows_match_objects(zb_alive) -> None:
    page = zb_alive.objects(limit=20).items
    assert tuple(zb_alive.objects_by_ids([row.id for row in page])) == page


def test_unknown_sort(zb_alive) -> None:
    with pytest.raises(ValueError):
        zb_alive.object_ids(sort="date")


# -- a bigger store ---------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["name", "size"])
def test_bulk_same_as_objects_pages(bulk, sort: str) -> None:
    for query in ({}, {"search": "open"}, {"drv_only": True}, {"search": "z", "drv_only": True}):
        ids = bulk.object_ids(sort=sort, **query)
        assert list(ids) == all_pages(bulk, sort=sort, limit=200, **query), query
    assert len(bulk.object_ids(sort=sort)) == BULK_OBJECTS


def test_bulk_ties_are_ordered_by_id(bulk) -> None:
    rows = bulk.objects_by_ids(bulk.object_ids())
    keys = [(row.name, row.id) for row in rows]
    assert keys == sorted(keys)
    rows = bulk.objects_by_ids(bulk.object_ids(sort="size"))
    keys = [(-row.nar_size, row.id) for row in rows]
    assert keys == sorted(keys)


def test_bulk_objects_by_ids_across_chunks(bulk) -> None:
    ids = list(bulk.object_ids())
    wanted = ids[1234:2468][::-1]  # more than two chunks of 500, in an unsorted order
    rows = bulk.objects_by_ids(wanted)
    assert [row.id for row in rows] == wanted
    assert len(bulk.objects_by_ids(ids)) == BULK_OBJECTS


def test_bulk_on_disk(bulk) -> None:
    rows = bulk.objects_by_ids(range(1, 31))
    assert [bulk.on_disk(row.path) for row in rows] == [row.id % ON_DISK_EVERY == 0 for row in rows]


def test_object_ids_is_cancellable(bulk) -> None:
    with pytest.raises(QueryCancelled):
        with bulk.cancellable(lambda: True):
            bulk.object_ids(sort="name")


def test_a_search_of_the_name_index_is_cancellable(bulk) -> None:
    # Served from memory once the index exists (no SQLite step to interrupt):
    # a superseded keystroke's scan asks between chunks whether to go on.
    everything = bulk.object_ids(sort="name")  # builds the index
    index = bulk._name_index
    pattern = index.pattern(b"t", False)
    asked: list[int] = []

    def check() -> None:
        asked.append(1)
        raise QueryCancelled("superseded")

    with pytest.raises(QueryCancelled):
        index.scan(pattern, None, check)
    assert asked == [1]
    rows, _last = index.scan(pattern, None)
    assert len(rows) == len(bulk.object_ids(sort="name", search="t")) > 0
    with pytest.raises(QueryCancelled):
        with bulk.cancellable(lambda: True):
            bulk.object_ids(sort="name", search="t")
    assert bulk.object_ids(sort="name") is everything  # the index is still there


# -- the same contract on a real Nix database ----------------------------------------------


def test_nix_same_as_objects_pages(tmp_path: Path) -> None:
    realdata = Path(helpers.REALDATA)
    for name in ("db.sqlite", "schema", "ca-schema"):
        shutil.copyfile(realdata / name, tmp_path / name)
    store = open_store(StoreOptions(db=str(tmp_path / "db.sqlite"), env={}, nix_conf=()))
    try:
        assert store.kind == "nix"
        for sort in ("name", "size"):
            for query in ({}, {"search": "lib"}, {"drv_only": True}, {"search": "s0"}):
                ids = store.object_ids(sort=sort, **query)
                assert list(ids) == all_pages(store, sort=sort, limit=3, **query), (sort, query)
        ids = list(store.object_ids())
        assert [row.id for row in store.objects_by_ids(ids[::-1])] == ids[::-1]
    finally:
        store.close()
