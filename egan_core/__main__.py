"""``python -m egan_core`` is the ``egan`` CLI (so torchrun can launch it)."""

from egan_core.cli import main

if __name__ == "__main__":
    main()
