"""SMS/USSD hotline web application."""

from hotline.app import create_app

__all__ = ["create_app"]
