"""Web console assets and translation catalogs."""
