"""Targets: the hosts actions run on, with their credentials encrypted at rest."""
