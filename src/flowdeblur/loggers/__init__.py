"""Lightning loggers adapted to the project's runs."""
