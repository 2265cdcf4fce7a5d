"""``telesniff bench``: the real pipeline as separate processes, measured from outside.

A listener process fed by a synthetic source, Redis, one or more ``telesniff consumer``
processes, one ``telesniff gateway`` and processes of WebSocket clients; the controller
(``telesniff.bench.run``) starts them, drives the phases (throughput, burst, latency),
reads the figures from the database, the clients and ``/proc``, and stops everything it
started.  See ``docs/bench.md``.
"""
