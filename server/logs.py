"""Logging that never holds a secret.

At DEBUG, botocore, aiohttp and urllib3 log whole request and response bodies, and those
hold env var values (secret ones too) and every item; uvicorn and strawberry can log headers.
These loggers are kept at INFO or above whatever level the server runs at. The server's own
logs name ids and error codes, never values or tokens.
"""

from __future__ import annotations

import logging

__all__ = ["keep_secrets_out_of_logs"]

TALKATIVE = ("botocore", "aiobotocore", "aiohttp", "urllib3", "boto3", "httpx", "httpcore")


def keep_secrets_out_of_logs() -> None:
    for name in TALKATIVE:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
