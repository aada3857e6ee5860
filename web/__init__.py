"""Mien's web server: serves the page, the model and the browser packages."""
