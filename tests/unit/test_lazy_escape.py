from flask import render_template_string
from flask_babel import lazy_gettext as _l


def test_lazy_messages_quoting_typed_text_are_escaped(app):
    with app.test_request_context("/"):
        message = _l("Unknown commune: %(name)s", name="<b>Lyon</b>")
        html = render_template_string("{{ message }}", message=message)
    assert "<b>" not in html
    assert "&lt;b&gt;Lyon&lt;/b&gt;" in html
