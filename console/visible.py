r"""Text from agents, payloads, inputs and people, made safe to print on a terminal.

A terminal interprets control characters: ESC starts a sequence that recolours the screen, moves
the cursor or retitles the window, and a newline lets a value forge a line of its own (a fake
kill switch under ``waybill kills``, a fake row in ``waybill runs``). ``visible`` shows each as
its escape instead (ESC as ``\x1b``, a newline as ``\n``), so the text is read, never obeyed.
What is stored is never changed: apply ``visible`` where a line is assembled for the screen.
"""

from __future__ import annotations

_BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
"""Marks that reorder the rest of a line as it is displayed ("Trojan Source", CVE-2021-42574):
a reason could make a line read as something it does not say."""

_SHOWN_AS_ESCAPES = {
    # repr() spells each the way Python would: \n, \t, \x1b, \x9b, \u2028.
    code: repr(chr(code))[1:-1]
    for code in (
        *range(0x20),  # C0: ESC, newline, carriage return, backspace, bell, ...
        *range(0x7F, 0xA0),  # DEL and C1 (0x9B is a one-byte CSI on some terminals)
        0x2028,  # line and paragraph separators: line breaks to some viewers
        0x2029,
        *_BIDI_CONTROLS,
    )
}


def visible(value: object) -> str:
    r"""``str(value)`` with every control character shown as its escape (ESC as ``\x1b``, a
    newline as ``\n``); printable text, Unicode included, unchanged.

    Args:
        value: What an agent, a payload, an input or a person said (any value: it is printed
            as ``str(value)``).

    Returns:
        One line that does to a terminal nothing but show itself.
    """
    return str(value).translate(_SHOWN_AS_ESCAPES)
