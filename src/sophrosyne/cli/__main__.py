"""``python -m sophrosyne.cli`` runs the same CLI as the ``sophrosyne`` script."""

from sophrosyne.cli.main import main

main()
