"""Reports re-rendered from the run store: terminal tables, a markdown experiment log in the
seed's style, and a self-contained HTML page with charts (also written as PNG files).

Every figure comes from the stored per-sample records (``service.runsummary``); a report
never re-runs anything.
"""
