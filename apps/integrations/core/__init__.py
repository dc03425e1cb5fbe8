"""The built-in `core` system: `core.echo` and `core.fail`, for trying models and for tests."""
