"""Every word the drawing page shows, in one table per language.

Templates render these by key and the page script receives the few it formats itself (through a
data attribute), so translating the page means adding one table here and nothing else. Placeholders
in braces ({digit}, {percent}) are filled in by the page script.
"""

import json
from typing import Final

DEFAULT_LOCALE: Final = "en"

UI_STRINGS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "page_title": "digitdraw: draw a digit, watch the network read it",
        "app_name": "digitdraw",
        "tagline": "Draw a digit from 0 to 9. The network reads it as you draw.",
        "pad_label": "Drawing pad: draw one digit with a mouse, a finger or a pen",
        "pad_placeholder": "Draw a digit here",
        "toolbar_label": "Drawing tools",
        "undo": "Undo",
        "redo": "Redo",
        "clear": "Clear",
        "shortcuts": "Shortcuts",
        "shortcut_undo": "undo",
        "shortcut_redo": "redo",
        "shortcut_clear": "clear",
        "model_label": "Model",
        "model_loading": "Loading models…",
        "model_default": "Default model",
        "model_option": "{name} — {accuracy} MNIST",
        "result_heading": "The network reads",
        "hint": "Draw a digit from 0 to 9 in the box. The answer appears while you draw.",
        "confidence": "{percent} confident",
        "pending": "Reading…",
        "announce": "Prediction: {digit}, {percent} confident",
        "chart_heading": "Probability of each digit",
        "preview_heading": "What the model sees",
        "preview_caption": "28 × 28 pixels",
        "preview_alt": "Your drawing as the 28 by 28 pixel image the model reads",
        "error_unreachable": (
            "Cannot reach the digitdraw server. Check that it is running, then draw again."
        ),
        "error_http": "The server answered with an error (HTTP {status}). Try drawing again.",
        "error_models": "Could not load the list of models: {message}",
        "footer": "Runs on this server only: no internet needed. Programs can call the same model "
        "with POST /predict.",
    },
}

# The strings the page script formats or shows itself; the rest only appear in templates.
CLIENT_KEYS: Final = (
    "model_default",
    "model_option",
    "confidence",
    "pending",
    "announce",
    "error_unreachable",
    "error_http",
    "error_models",
)


def ui_strings(locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """The table for `locale`, with English filling any key a translation lacks."""
    table = dict(UI_STRINGS[DEFAULT_LOCALE])
    table.update(UI_STRINGS.get(locale, {}))
    return table


def client_strings_json(strings: dict[str, str]) -> str:
    """The script's share of `strings` as JSON, for a data attribute (the template escapes it)."""
    return json.dumps({key: strings[key] for key in CLIENT_KEYS}, ensure_ascii=False)
