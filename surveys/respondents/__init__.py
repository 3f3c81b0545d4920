"""A resident answering: the journey, following units, and what keeps answers anonymous."""
