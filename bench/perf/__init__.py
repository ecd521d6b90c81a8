"""Performance benchmarks (``bench perf ...``): figures measured side by side in one run.

Speed is never asserted in tests (shared, noisy machines); these commands print figures
and ratios against a reference measured in the same run, on the same server.
"""
