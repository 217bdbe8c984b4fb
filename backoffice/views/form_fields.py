"""A form's fields as Flask-Admin's ``lib.render_form_fields`` draws them, in Python.

The member form is the enroller's most drawn page. Flask-Admin's macro reaches
each field through three Jinja macros, a dozen attribute tests and a copy of
its keyword arguments per field; this draws the same markup (label, required
mark, widget with its Bootstrap class, the reasons a value was refused or the
field's help text) straight from the fields. WTForms still draws each widget.

Unlike the macro, the view's ``form_widget_args`` are copied, never changed
(the macro added "form-control" and "is-invalid" to the view's own dict, which
every request shares).

A blank form (nothing typed, nothing refused, no record behind it: the member
form an enroller opens for each new member) is drawn once per app and kept,
keyed by all it depends on: the form's class, the language, each field's id,
name and value (empty), its choices with their labels, and the view's widget
arguments. Its CSRF token is not kept: hidden fields are drawn every time.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired

from backoffice.views.page_parts import kept_per_app

_REQUIRED = (DataRequired, InputRequired)
_BLANK = (None, False, "")  # the values of a field nothing was given for
_KEPT = 256  # blank forms kept per app


def form_fields(form, form_opts=None) -> Markup:
    """The form's hidden fields (its CSRF token), then every other field."""
    if form_opts is not None and form_opts.form_rules:
        raise ValueError("form_fields draws plain forms; use lib.render_form_fields for rules")
    widget_args = form_opts.widget_args if form_opts is not None else {}
    fields = [field for field in form if getattr(field.widget, "input_type", None) != "hidden"]
    drawn = kept_per_app("blank_forms", _blank_key(form, fields, widget_args),
                         lambda: Markup("\n").join(
                             _field(field, widget_args.get(field.short_name) or {})
                             for field in fields), _KEPT)
    return Markup("\n").join((form.hidden_tag(), drawn))


def _blank_key(form, fields, widget_args) -> tuple | None:
    """What a blank form's drawing depends on, or None when the form is not blank (or a
    field's state is one this does not know how to name)."""
    if getattr(form, "_obj", True) is not None:  # an AdminForm for no record, only
        return None
    parts = []
    for field in fields:
        if field.raw_data is not None or field.errors or field.data not in _BLANK \
                or type(field.data) not in (type(None), bool, str):
            return None
        choices = getattr(field, "choices", None)
        if choices is not None:
            if not isinstance(choices, list | tuple) or \
                    not all(isinstance(choice, SelectChoice) for choice in choices):
                return None
            choices = tuple((choice.value, str(choice.label),
                             tuple(sorted(choice.render_kw.items())) if choice.render_kw else (),
                             choice.optgroup) for choice in choices)
        parts.append((type(field), field.id, field.name, field.data, choices))
    try:
        args = tuple(sorted((name, tuple(sorted(values.items())))
                            for name, values in widget_args.items()))
        key = (type(form), str(get_locale()), args, tuple(parts))
        hash(key)
    except TypeError:  # a widget argument that cannot be a key
        return None
    return key


def _required(field) -> bool:
    # flask_admin.helpers.is_required_form_field, without its import per call
    # (Flask-Admin's FieldListInputRequired is an InputRequired)
    return any(isinstance(validator, _REQUIRED) for validator in field.validators)


def _field(field, widget_args: dict) -> Markup:
    kwargs = dict(widget_args)
    if "prepend" in kwargs or "append" in kwargs:
        raise ValueError("form_fields draws no input groups (prepend/append)")
    errors = field.errors if isinstance(field.errors, list | tuple) else ()
    reasons = [error for error in errors if isinstance(error, str)]
    input_type = getattr(field.widget, "input_type", None)
    checkbox = input_type == "checkbox"
    kwargs.setdefault("class", "" if checkbox else
                      "form-control-file" if input_type == "file" else "form-control")
    if reasons:
        kwargs["class"] = f"{kwargs['class']} is-invalid"
    mark = _MARK if _required(field) else _NO_MARK
    html = [_LABEL.format(column=kwargs.get("column_class", ""), id=field.id,
                          block="d-block mb-0" if checkbox else "", label=field.label.text,
                          mark=mark),
            field(**kwargs)]  # WTForms' widget: Markup
    top = "mt-0" if checkbox else ""
    if reasons:
        html.append(_ERRORS.format(top=top))
        html.extend(Markup("<li>{}</li>\n").format(reason) for reason in reasons)
        html.append(Markup("</ul>\n</div>"))
    elif field.description:  # the macro's field.description|safe: the form's own text
        html.append(_HELP.format(top=top, text=Markup(field.description)))  # noqa: S704
    html.append(Markup("\n</div>"))
    return Markup("").join(html)


_MARK = Markup('<strong class="text-danger">&#42;</strong>')
_NO_MARK = Markup("&nbsp;")
_LABEL = Markup('<div class="form-group {column}">\n'
                '<label for="{id}" class="col-form-label {block}">{label}\n{mark}\n</label>\n')
_ERRORS = Markup('\n<div class="invalid-feedback">\n<ul class="form-text text-danger {top}">\n')
_HELP = Markup('\n<small class="form-text text-muted {top}">\n{text}\n</small>')


def init_app(app: Flask) -> None:
    app.jinja_env.globals["form_fields"] = form_fields
