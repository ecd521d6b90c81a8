"""The web viewer over the run store: runs, one run, its samples, one sample, compare.

* :mod:`.app` the aiohttp sub-application (routes, handlers, login), :mod:`.mount` adds
  it at ``/ui`` (``bench serve`` does), :mod:`.standalone` serves it alone (``bench view``);
* :mod:`.queries` the paged, indexed reads, :mod:`.live` figures of a running run,
  :mod:`.filters` a samples page's parameters, :mod:`.requests` the prompts rebuilt;
* :mod:`.pages`, :mod:`.compare_page`, :mod:`.html` the HTML; ``static/`` CSS and JS.
"""
