"""Packaging steps that decide the cold start: valid bytecode, a lean package, package facts.

Tooling: runs on the developer's machine after upstream's ``create_package`` has written
the zip (or the slim_handler tarball); never imported inside Lambda.
"""
