"""Hamacho workbench: the router (ui/router.py). State is initialised once; pages live in pages/ and call
hamacho_core. Each page also calls ``ensure_routed()`` so that any URL works as the first request of a server."""

from __future__ import annotations

from ui.router import main

main()
