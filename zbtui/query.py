"""``zbtui query``: the store layer as JSON, for scripts and for tests.

Nothing here imports Textual. Every function takes an open ``Store`` and
returns plain JSON-able data built from the store's dataclasses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .store.base import Store
from .store.errors import StoreError
from .store.formats import split_store_path
from .store.logs import LogError, open_log
from .store.models import Build, BuildDetail, BuildResult, ObjectRow, Realization
from .store.sanitize import sanitize_log

__all__ = ["COMMANDS", "NotFound"]


class NotFound(StoreError):
    """The thing asked for is not in the database (exit status 1)."""


def stats(store: Store) -> dict[str, Any]:
    summary = store.summary()
    data = dataclasses.asdict(summary)
    data["builds"] = dict(summary.builds)
    data["warnings"] = list(summary.warnings)
    data["trust"] = store.trust_description()
    return data


def _object_row(row: ObjectRow) -> dict[str, Any]:
    return {"path": row.path, "name": row.name, "digest": row.digest, "nar_size": row.nar_size, "is_drv": row.is_drv}


def objects(store: Store, search: str | None, sort: str, limit: int, drv_only: bool = False) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = None
    while len(rows) < limit:
        page = store.objects(sort=sort, search=search, drv_only=drv_only, after=after, limit=min(500, limit - len(rows)))
        rows.extend(_object_row(r) for r in page.items)
        if page.next_key is None:
            break
        after = page.next_key
    return rows


def _all_edges(fetch, path: str) -> list[str]:
    out: list[str] = []
    after = None
    while True:
        page = fetch(path, after=after, limit=1000)
        out.extend(e.path for e in page.items)
        if page.next_key is None:
            return sorted(out)
        after = page.next_key


def object_(store: Store, path: str) -> dict[str, Any]:
    with store.snapshot():
        resolved = _resolve(store, path)
        info = store.object_info(resolved)
        if info is None:
            raise NotFound(f"no such path in the database: {path}")
        references = _all_edges(store.references, resolved)
        referrers = _all_edges(store.referrers, resolved)
        closure = store.closure(resolved)
    ca = info.content_address
    data: dict[str, Any] = {
        "path": info.path,
        "digest": info.digest,
        "name": info.name,
        "is_object": info.is_object,
        "nar_size": info.nar_size,
        "nar_hash": info.nar_hash,
        "nar_hash_sri": info.nar_hash_value.sri if info.nar_hash_value else None,
        "nar_hash_nix32": info.nar_hash_value.nix32 if info.nar_hash_value else None,
        "ca": info.ca,
        "content_address": (
            {"method": ca.method, "algorithm": ca.hash.algorithm, "hash": ca.hash.nix32.split(":", 1)[1], "explained": ca.explain()}
            if ca
            else None
        ),
        "on_disk": info.on_disk,
        "references": references,
        "self_reference": info.path in references,
        "referrers": referrers,
        "closure": {"count": closure.count, "nar_size": closure.nar_size},
    }
    if store.kind == "nix":
        data.update(
            registration_time=info.registration_time,
            deriver=info.deriver,
            ultimate=info.ultimate,
            signatures=[{"key_name": s.key_name, "status": s.status, "text": s.text} for s in info.signatures],
            # DerivationOutputs, both ways: who declares this path, and what a .drv declares.
            derivers=list(store.derivers_of(info.path)),
            derivation_outputs=(
                {o.name: {"path": o.path, "present": o.present_in_store} for o in store.derivation_outputs(info.path)}
                if info.is_drv
                else None
            ),
        )
    if info.problems:
        data["problems"] = list(info.problems)
    return data


RESOLVE_CANDIDATES = 50
"""Candidates looked at when a name is given: enough to find the one exact name."""


def _resolve(store: Store, text: str) -> str:
    candidates = store.resolve(text, limit=RESOLVE_CANDIDATES)
    if text in candidates or len(candidates) == 1:
        return text if text in candidates else candidates[0]
    if not candidates:
        raise NotFound(f"no such path in the database: {text}")
    # "hello-2.12.1" names hello-2.12.1 exactly, not hello-2.12.1.drv or .tar.gz.
    exact = [c for c in candidates if split_store_path(c)[2] == text.strip()]
    if len(exact) == 1:
        return exact[0]
    shown = exact or candidates
    raise NotFound(
        f"{text!r} is ambiguous: it matches {shown[0]}, {shown[1]}"
        f"{' and more' if len(shown) > 2 else ''}; give more of the path or the digest"
    )


def why(store: Store, source: str, target: str) -> dict[str, Any]:
    with store.snapshot():
        a, b = _resolve(store, source), _resolve(store, target)
        return {"from": a, "to": b, "chain": store.why(a, b)}


def _realization(r: Realization) -> dict[str, Any]:
    return {
        "drv_hash": r.drv_hash.sri,
        "drv_hash_nix32": r.drv_hash.nix32,
        "output_name": r.output_name,
        "output_path": r.output_path,
        "present_in_store": r.present_in_store,
        "reference_classes": [
            {
                "path": c.path,
                "drv_hash": c.drv_hash.sri if c.drv_hash else None,
                "output_name": c.output_name,
            }
            for c in r.reference_classes
        ],
        "signatures": [
            {"format": s.format, "public_key": s.public_key, "key_name": s.key_name, "status": s.status, "count": s.count}
            for s in r.signatures
        ],
    }


def realizations(store: Store, path: str | None, drv_hash: str | None) -> list[dict[str, Any]]:
    if drv_hash is not None:
        found = store.realizations_for_drv_hash(drv_hash)
    elif path is not None:
        with store.snapshot():
            found = store.realizations_for_path(_resolve(store, path))
    else:
        found = store.realizations(limit=1000).items
    return [_realization(r) for r in found]


def _build(b: Build) -> dict[str, Any]:
    return {
        "id": b.id,
        "status": b.status.value,
        "started_at": b.started_at,
        "ended_at": b.ended_at,
        "duration_ms": b.duration_ms,
        "internal_error": b.internal_error,
        "result_count": b.result_count,
        "result_counts": dict(b.result_counts),
        "expand": (
            {"builder": b.expand_builder, "args": list(b.expand_args or ()), "env": dict(b.expand_env or {})}
            if b.expand_builder is not None
            else None
        ),
        "expand_problem": b.expand_problem,
    }


def builds(store: Store, status: str | None, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while len(out) < limit:
        page = store.builds(status=status, after=after, limit=min(500, limit - len(out)))
        out.extend(_build(b) for b in page.items)
        if page.next_key is None:
            break
        after = page.next_key
    return out


def _result(r: BuildResult) -> dict[str, Any]:
    return {
        "drv_path": r.drv_path,
        "status": r.status,
        "built": r.built,
        "started_at": r.started_at,
        "builder_started_at": r.builder_started_at,
        "builder_ended_at": r.builder_ended_at,
        "ended_at": r.ended_at,
        "drv_hash": r.drv_hash.sri if r.drv_hash else None,
        "outputs": {o.name: o.path for o in r.outputs},
        "log_path": r.log.path,
        "log_exists": r.log.exists,
        "log_size": r.log.size,
        "log_problem": r.log.reason,
    }


def build(store: Store, build_id: str) -> dict[str, Any]:
    detail: BuildDetail | None = store.build(build_id)
    if detail is None:
        raise NotFound(f"no such build: {build_id}")
    data = _build(detail.build)
    data["results"] = [_result(r) for r in detail.results]
    data["orphan_evidence"] = list(detail.orphan_evidence)
    if detail.server is not None:
        data["server"] = dataclasses.asdict(detail.server)
    return data


JSON_LOG_CAP = 16 << 20
"""Most log bytes put in one JSON answer; text output streams without a cap."""


def log_ref(store: Store, build_id: str, drv_path: str):
    """The ``LogRef`` of one build result, or NotFound saying why there is none."""
    detail = store.build(build_id)
    if detail is None:
        raise NotFound(f"no such build: {build_id}")
    matches = [r for r in detail.results if r.drv_path == drv_path or r.drv_path.endswith("/" + drv_path)]
    if not matches:
        raise NotFound(f"build {build_id} has no result for {drv_path}")
    ref = matches[0].log
    if not ref.exists or ref.path is None:
        raise NotFound(f"no log for {matches[0].drv_path}: {ref.reason}")
    return ref


def log_chunks(path: str, tail: int | None, cap: int | None = None, chunk: int = 1 << 20):
    """Yield (offset, size, bytes) pieces of a log from the start or its last ``tail`` bytes."""
    try:
        with open_log(path) as handle:
            size = handle.size()
            offset = max(0, size - tail) if tail is not None else 0
            end = size if cap is None else min(size, offset + cap)
            while offset < end:
                data = handle.read(offset, min(chunk, end - offset))
                if not data:
                    break
                yield offset, size, data
                offset += len(data)
    except LogError as exc:
        raise StoreError(str(exc)) from None


def log(store: Store, build_id: str, drv_path: str, tail: int | None) -> dict[str, Any]:
    """The sanitized log of one build result (the last ``tail`` bytes if given)."""
    ref = log_ref(store, build_id, drv_path)
    start, size, parts = None, None, []
    for offset, size, data in log_chunks(ref.path, tail, cap=JSON_LOG_CAP):
        start = offset if start is None else start
        parts.append(data)
    data = b"".join(parts)
    size = size or 0
    start = start if start is not None else size
    return {
        "path": ref.path,
        "size": size,
        "offset": start,
        "truncated": start + len(data) < size,
        "growing": ref.growing,
        "text": sanitize_log(data),
    }


def server(store: Store) -> dict[str, Any]:
    state = store.server()
    if state is None:
        return {"state": "none", "running_as_of": None, "age_ms": None, "note": "Nix databases record no server heartbeat"}
    return dataclasses.asdict(state)


COMMANDS: Sequence[str] = ("stats", "objects", "object", "why", "realizations", "builds", "build", "log", "server")
