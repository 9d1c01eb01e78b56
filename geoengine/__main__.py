"""``python -m geoengine`` is the ``geoengine`` command."""

from .cli import main

if __name__ == "__main__":
    main()
