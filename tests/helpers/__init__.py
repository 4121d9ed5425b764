"""Test-only Lava processes."""
