"""The file drop: `files.write_extract` and `files.archive` into a local directory."""
