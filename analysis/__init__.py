"""Pure computation at the bottom of the house: plain values in, plain values out.

It imports nothing of the project; what it needs arrives as its own dataclasses."""
