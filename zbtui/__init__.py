"""zbtui: a read-only terminal browser for zb and Nix store databases.

Importing this package must not import Textual: the store layer and the
``zbtui query`` command work without it.
"""

__version__ = "0.1.0"
