"""The domain's rules as plain functions.

Services take the acting user where it matters, raise ServiceError (or
ValidationError) with a translatable message, and never commit: the boundary
that called them (a view, a CLI command) commits once.
"""
