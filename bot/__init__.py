"""The process: settings, the application's wiring, background work and the command line."""
