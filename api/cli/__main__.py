"""``python -m api.cli``: the ``k2q`` command (as the process tests run it)."""

from api.cli import main

main()
