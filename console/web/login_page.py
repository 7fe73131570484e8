"""The login page: a plain HTML form (no script) posting to ``POST /auth/session``.

Everything put into the page (the user name typed, the address to return to, messages) is
HTML-escaped; the page forbids scripts, frames and foreign form targets by its CSP.
"""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in - Waybill console</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f8fafc; color: #0f172a; margin: 0; }}
main {{ max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem;
  border: 1px solid #e2e8f0; border-radius: .75rem; }}
h1 {{ font-size: 1.4rem; margin: 0 0 1.2rem; }}
label {{ display: block; margin: .8rem 0 .3rem; font-size: .9rem; }}
input[type=text], input[type=password] {{ width: 100%; box-sizing: border-box; padding: .5rem;
  border: 1px solid #cbd5e1; border-radius: .4rem; font-size: 1rem; }}
button {{ margin-top: 1.2rem; width: 100%; padding: .6rem; border: 0; border-radius: .4rem;
  background: #ff4b4b; color: #fff; font-size: 1rem; cursor: pointer; }}
.error {{ background: #fee2e2; color: #991b1b; padding: .6rem; border-radius: .4rem; }}
.info {{ background: #e0f2fe; color: #075985; padding: .6rem; border-radius: .4rem; }}
.hint {{ color: #64748b; font-size: .8rem; margin-top: 1.2rem; }}
</style></head>
<body><main>
<h1>Waybill console</h1>
{notice}
<form method="post" action="/auth/session">
<input type="hidden" name="next" value="{next}">
<label for="user">User</label>
<input id="user" name="user" type="text" autocomplete="username" value="{user}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>
<p class="hint">No account? An admin adds one with
<code>waybill user add NAME --role ROLE</code>.</p>
</main></body></html>
"""


def login_page(
    next_url: str,
    *,
    user: str = "",
    error: str | None = None,
    info: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The login form, returning to ``next_url`` (already checked by ``links.safe_next``)."""
    notice = ""
    if error:
        notice = f'<p class="error" role="alert">{escape(error)}</p>'
    elif info:
        notice = f'<p class="info">{escape(info)}</p>'
    body = _PAGE.format(notice=notice, next=escape(next_url), user=escape(user[:64]))
    headers = {
        "Content-Security-Policy": CSP,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    return HTMLResponse(body, status_code=status, headers=headers)
