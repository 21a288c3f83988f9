"""Demo and test stores: a zb database, store directory and logs, built to the spec.

This package WRITES databases, which is why it lives outside :mod:`zbtui.store`
(the read-only layer, which never imports it):

* :mod:`zbtui.demo.schema`: the version-5 zb schema and ``create_zb_database``.
* :mod:`zbtui.demo.builder`: ``build_demo_store``, a deterministic, realistic
  store (shared glibc-rooted DAG, absent paths, signatures in every status,
  builds in every state including orphans, hostile logs) and its ground-truth
  ``facts`` for tests.
* :mod:`zbtui.demo.live`: ``SimulatedServer``, a thread that writes heartbeats
  and progressing builds as ``zb serve`` would, for ``zbtui --demo`` and tests.

Importing this package imports nothing heavy; import the submodules you need.
"""
