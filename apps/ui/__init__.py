"""The web UI: server-rendered pages (inbox, process library, instances) over the apps' services and selectors."""
