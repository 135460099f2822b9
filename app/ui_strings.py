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
        # Number mode (POST /predict/number).
        "mode_label": "What to read",
        "mode_digit": "One digit",
        "mode_number": "A number",
        "number_pad_label": "Drawing pad: write a number with a mouse, a finger or a pen",
        "number_pad_placeholder": "Write a number here",
        "number_heading": "The network reads the number",
        "number_hint": "Write a number of up to 12 digits, side by side. Each digit gets a box.",
        "number_digits_label": "The digits, left to right: pick one to see its probabilities",
        "number_digit": "Digit {position}: {digit}, {percent} confident",
        "number_announce": "Number: {number}",
    },
    # Simplified Chinese; keys missing here fall back to English (see ui_strings()).
    "zh-CN": {
        "page_title": "digitdraw：写一个数字，看神经网络如何识别",
        "app_name": "digitdraw",
        "tagline": "写一个 0 到 9 的数字。你一边写，网络一边识别。",
        "pad_label": "绘图板：用鼠标、手指或笔写一个数字",
        "pad_placeholder": "在这里写一个数字",
        "toolbar_label": "绘图工具",
        "undo": "撤销",
        "redo": "重做",
        "clear": "清除",
        "shortcuts": "快捷键",
        "shortcut_undo": "撤销",
        "shortcut_redo": "重做",
        "shortcut_clear": "清除",
        "model_label": "模型",
        "model_loading": "正在加载模型…",
        "model_default": "默认模型",
        "model_option": "{name} — MNIST {accuracy}",
        "result_heading": "网络识别为",
        "hint": "在框里写一个 0 到 9 的数字。写的时候答案就会出现。",
        "confidence": "置信度 {percent}",
        "pending": "正在识别…",
        "announce": "识别结果：{digit}，置信度 {percent}",
        "chart_heading": "每个数字的概率",
        "preview_heading": "模型看到的图像",
        "preview_caption": "28 × 28 像素",
        "preview_alt": "你的书写被转换成模型读取的 28×28 像素图像",
        "error_unreachable": "无法连接 digitdraw 服务器。请确认它正在运行，然后再写一次。",
        "error_http": "服务器返回了错误（HTTP {status}）。请再写一次。",
        "error_models": "无法加载模型列表：{message}",
        "footer": "只在本服务器上运行，无需联网。程序可以通过 POST /predict 调用同一个模型。",
        "mode_label": "识别内容",
        "mode_digit": "一个数字",
        "mode_number": "一个多位数",
        "number_pad_label": "绘图板：用鼠标、手指或笔写一个多位数",
        "number_pad_placeholder": "在这里写一个数",
        "number_heading": "网络读出的数",
        "number_hint": "并排写一个最多 12 位的数。每个数字都会有一个框。",
        "number_digits_label": "从左到右的各位数字：选一个查看它的概率",
        "number_digit": "第 {position} 位：{digit}，置信度 {percent}",
        "number_announce": "数：{number}",
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
    "number_pad_label",
    "number_pad_placeholder",
    "number_digit",
    "number_announce",
)


def ui_strings(locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """The table for `locale`, with English filling any key a translation lacks."""
    table = dict(UI_STRINGS[DEFAULT_LOCALE])
    table.update(UI_STRINGS.get(locale, {}))
    return table


def client_strings_json(strings: dict[str, str]) -> str:
    """The script's share of `strings` as JSON, for a data attribute (the template escapes it)."""
    return json.dumps({key: strings[key] for key in CLIENT_KEYS}, ensure_ascii=False)
