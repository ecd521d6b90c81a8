"""policybench's front end: the ``bench`` CLI, progress display, reports and the simulated server.

``bench`` imports ``service``; ``service`` never imports ``bench``.
"""
