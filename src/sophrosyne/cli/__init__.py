"""Command-line entry points (``sophrosyne …``): the outermost edge."""
