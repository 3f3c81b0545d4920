"""Cadres and inspectors in the field: profiles and invites, progress notes, inspections."""
