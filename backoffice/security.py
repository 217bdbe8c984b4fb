"""Security headers on every response, error pages and files included.

A Content-Security-Policy that runs scripts only from our own origin or with
this response's nonce (``nonce="{{ csp_nonce() }}"`` in any template;
Flask-Admin's templates get the same nonce through ``admin_csp_nonce_attribute``),
no framing, no MIME sniffing, referrers kept within the site, powerful browser
features off except the camera on the page that takes a member's photo, and
HSTS in production over https. Why this is a few lines here and not
flask-talisman: docs/security-headers.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from flask import Flask, current_app, g, request
from werkzeug.wrappers import Response

#: the policy; "{nonce}" becomes this response's nonce. Styles may be inline (scripts
#: are what an injection runs; Bootstrap, select2 and our templates use style=""),
#: images may be data: URIs (Bootstrap draws its select arrows and toggler that way).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'nonce-{nonce}'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

_CSP_BEFORE, _CSP_AFTER = CONTENT_SECURITY_POLICY.split("{nonce}")  # joined per response

#: features no page uses; the photo page alone gets the camera (CAMERA_HERE)
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), display-capture=(), geolocation=(), "
                      "gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), "
                      "usb=()")
CAMERA_HERE = PERMISSIONS_POLICY.replace("camera=()", "camera=(self)")

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors 'none' for browsers without CSP level 2
    # Same-origin requests keep the full referrer: Flask-WTF's CSRF check on https
    # compares it with the host. Other sites get nothing: list URLs carry searches.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}

HSTS = "max-age=31536000"  # a year; no includeSubDomains: other hosts of the domain are not ours


def csp_nonce() -> str:
    """This response's nonce, made on first use: the same for every script tag of a page."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def allows_camera(view: Callable) -> Callable:
    """Mark a view whose page may use the camera (the member's photo)."""
    view.allows_camera = True
    return view


def _view_allows_camera() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "allows_camera", False))


def set_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = _CSP_BEFORE + csp_nonce() + _CSP_AFTER
    response.headers["Permissions-Policy"] = (CAMERA_HERE if _view_allows_camera()
                                              else PERMISSIONS_POLICY)
    for name, value in HEADERS.items():
        response.headers[name] = value
    # request.is_secure is the client's scheme: ProxyFix rewrites it from the trusted
    # proxies' X-Forwarded-Proto only (PROXY_COUNT); never a redirect to https here.
    if current_app.config["ENV"] == "production" and request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(set_headers)
