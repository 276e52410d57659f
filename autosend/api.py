"""REST endpoints of the autosend app (mounted under /api/v1/ by config/api.py)."""

from ninja import Router

from workspaces.context import API_AUTH

router = Router(tags=["autosend"], auth=API_AUTH)
