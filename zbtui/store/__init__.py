"""Read-only query layer over zb and Nix store databases (apsw only, no UI)."""
