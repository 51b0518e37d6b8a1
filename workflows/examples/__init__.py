"""Worked examples that use photoprop from other tools (importable; each has a ``main()``)."""
