"""The built-in `http` system: `http.request`, a JSON HTTP call through httpx."""
