"""``python -m spfed``: the same as the ``spfed`` command."""

from spfed.cli import main

main()
