"""``python -m wsnmec``: the same command line as the ``wsnmec`` script (useful in a source checkout)."""

from .cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through the command line
    main()
