"""A campaign: rules and windows, scheduling, running steps, delivery, the admin dialogue
and commands."""
