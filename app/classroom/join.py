"""How students get in: short join codes, friendly names, student tokens, and the QR code.

Codes avoid letters and digits that people misread off a projector (0/O, 1/I/L), and are read
case-insensitively. Tokens are random; only their SHA-256 is stored, so a copy of the store
lets nobody act as a student.
"""

import hashlib
import re
import secrets
import unicodedata

import segno

from app.errors import InputError, NameTooLong

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 5  # 31**5 = 28 million codes: unguessable enough for a lesson, short to type
ADJECTIVES = (
    "Blue", "Red", "Green", "Golden", "Silver", "Purple", "Orange", "Brave", "Calm", "Clever",
    "Happy", "Lucky", "Quick", "Quiet", "Sunny", "Swift", "Witty", "Bright", "Gentle", "Jolly",
)  # fmt: skip
ANIMALS = (
    "Otter", "Panda", "Fox", "Owl", "Tiger", "Koala", "Dolphin", "Falcon", "Rabbit", "Turtle",
    "Penguin", "Badger", "Heron", "Lynx", "Seal", "Whale", "Zebra", "Gecko", "Moose", "Robin",
)  # fmt: skip
_SPACES = re.compile(r"\s+")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """What the student typed, as stored: upper case, no spaces or dashes."""
    return re.sub(r"[\s-]", "", code).upper()


def friendly_name() -> str:
    return f"{secrets.choice(ADJECTIVES)} {secrets.choice(ANIMALS)}"


def clean_name(name: str | None, max_length: int) -> str:
    """The name to show: control characters gone, spaces collapsed; a friendly one if empty.

    It is still untrusted text: pages put it in with textContent (or Jinja's escaping), never
    as HTML.
    """
    if name is None:
        return friendly_name()
    if not isinstance(name, str):
        raise InputError("name: the name must be text.")
    spaced = _SPACES.sub(" ", unicodedata.normalize("NFC", name))  # tabs, newlines -> one space
    visible = "".join(ch for ch in spaced if unicodedata.category(ch)[0] != "C").strip()
    visible = _SPACES.sub(" ", visible)
    if len(visible) > max_length:
        raise NameTooLong(
            f"name: at most {max_length} characters, this one has {len(visible)}. "
            "Use a shorter name or leave it empty for a generated one."
        )
    return visible or friendly_name()


def new_student_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def qr_svg(url: str, title: str) -> str:
    """An inline <svg id="join-qr"> of `url`, made here, offline; scales with CSS."""
    qr = segno.make(url, error="m")
    return qr.svg_inline(
        scale=8,
        border=2,
        dark="#000",
        light="#fff",
        svgid="join-qr",
        svgclass="join-qr",
        title=title,
        omitsize=True,
    )
