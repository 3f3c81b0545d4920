"""People: who is asking, units, roles and access, and the one open dialogue per person."""
