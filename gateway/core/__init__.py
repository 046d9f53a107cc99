"""The foundation every floor stands on: settings, database, clock, blobs, metrics, timing, i18n.

It imports nothing of the project but ``matching``; channels, the domain and the process all
build on it (the contracts in ``.importlinter``).
"""
