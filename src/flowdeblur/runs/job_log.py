"""The job's log, ``<run dir>/train.log`` (Hydra's ``hydra.job_logging`` file handler): Lightning's log lines,
warnings and the console summary go there as well as to the console."""

from __future__ import annotations

import logging

from hydra.core.hydra_config import HydraConfig

# Lightning gives these loggers a console handler of their own (and stops propagation) when it is imported
# before logging is configured, which keeps their lines out of the job's log file
LIBRARY_LOGGERS = ("pytorch_lightning", "lightning_fabric", "lightning.pytorch", "lightning.fabric")


def route_to_job_log() -> None:
    """Inside a Hydra app, which has configured logging: send Lightning's loggers and Python warnings through the
    root handlers (console and job log) instead of Lightning's own console handler."""
    if not HydraConfig.initialized():
        return
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if type(h) is logging.StreamHandler]:
            logger.removeHandler(handler)
        logger.propagate = True
    logging.captureWarnings(True)


def to_log_files(text: str, name: str = "flowdeblur") -> None:
    """Write ``text`` (something already printed, e.g. the results table) to the job's log files only: the
    file handlers of the root logger, not the console again."""
    record = logging.LogRecord(name, logging.INFO, __file__, 0, text.rstrip("\n"), None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


class ConsoleFormatter(logging.Formatter):
    """Console lines as the libraries print them: the bare message, ``WARNING:``/``ERROR:`` before ours."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.WARNING and record.name != "py.warnings":
            return f"{record.levelname}: {message}"
        return message
