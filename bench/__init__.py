"""Mien's benchmarks: the page and its models measured as a visitor gets them, in headless
Chromium, against the expression models people use in browsers, in the same run. See README.md
here; ``python -m bench --help`` lists them."""
