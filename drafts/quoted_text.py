"""Long and quoted email text, folded: the lead's new words stay in view, the quoted
history ("On Tue, Ada wrote:", "> …") and the tail of a very long message fold away."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Where a reply's quoted history starts: a "> " line, or the header mail clients write.
_QUOTE_HEADER = re.compile(
    r"^(On .{3,200} wrote:|-{2,} ?Original Message ?-{2,}|_{10,})\s*$", re.IGNORECASE
)
# Outlook's block: "From: …" followed by "Sent:"/"Date:"/"To:"/"Subject:" within 3 lines.
_FROM = re.compile(r"^From: .+$", re.IGNORECASE)
_HEADER_FIELD = re.compile(r"^(Sent|Date|To|Cc|Subject): ", re.IGNORECASE)
LONG_LINES = 18
LONG_CHARS = 1500


@dataclass(frozen=True)
class MessageParts:
    main: str
    # The rest of a long message (after `main`), folded under "Show the rest".
    more: str
    # The quoted history, folded under "Show quoted text".
    quoted: str


def message_parts(body: str) -> MessageParts:
    """Split a message body into what is shown, the folded rest and the quoted history."""
    lines = (body or "").replace("\r\n", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if _FROM.match(stripped) and any(
            _HEADER_FIELD.match(t.strip()) for t in lines[i + 1 : i + 4]
        ):
            cut = i
            break
        if stripped.startswith(">") or _QUOTE_HEADER.match(stripped):
            # Only a quote that runs to the end is history: a quoted line answered inline
            # in the middle is part of what the lead wrote.
            tail = [t.strip() for t in lines[i + 1 :] if t.strip()]
            if all(t.startswith(">") for t in tail) or _QUOTE_HEADER.match(stripped):
                cut = i
                break
    own = "\n".join(lines[:cut]).rstrip()
    quoted = "\n".join(lines[cut:]).strip()
    if not own and quoted:  # a message that is all quote: show it
        own, quoted = quoted, ""
    main, more = own, ""
    own_lines = own.split("\n")
    if len(own_lines) > LONG_LINES:
        main, more = "\n".join(own_lines[:LONG_LINES]), "\n".join(own_lines[LONG_LINES:])
    elif len(own) > LONG_CHARS:
        split = own.rfind(" ", 0, LONG_CHARS)
        split = split if split > LONG_CHARS // 2 else LONG_CHARS
        main, more = own[:split], own[split:].lstrip()
    return MessageParts(main=main, more=more, quoted=quoted)
