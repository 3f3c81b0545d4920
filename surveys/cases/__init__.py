"""Cases: a problem a resident raises is routed to the unit that must solve it, handled,
called back and counted in appraisal, without anyone learning who raised it."""
