"""The reliability suite: faults, limits and load through the emulator and the real runtime client.

Tooling only (never packaged for Lambda). Each scenario runs against the emulator
(awslambdaric), moto_server behind a fault proxy and, where connections matter, a real
PostgreSQL, and returns a :class:`~tests.reliability.rows.Row` for the table that
``scripts/reliability`` prints and docs/reliability.md publishes.
"""
