"""``python -m policybench.bench`` is ``bench``."""

from .cli import main

main()
