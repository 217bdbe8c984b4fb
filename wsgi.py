"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi run`."""

from backoffice import create_app
from backoffice.settings import refuse_to_serve_without_keys

app = create_app()
refuse_to_serve_without_keys(app)
