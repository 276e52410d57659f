"""The control plane: what operators and scrapers read across every app (/metrics today; the
/ops/ pages, health and knowledge views are to move here from workspaces). It stands at the
top of the layers, so it may read any app and no app imports it."""
