"""Control-plane pages (super-admins)."""

urlpatterns: list = []
