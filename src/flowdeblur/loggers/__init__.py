"""Lightning loggers adapted to the project's runs, and W&B run set-up, identity and sync."""
