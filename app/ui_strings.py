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
        "correct_label": "Wrong? It was:",
        "correct_button": "It was a {digit}",
        "correct_saving": "Saving your correction…",
        "correct_thanks": "Thank you! Saved as a {digit}: the network can learn from it.",
        "correct_failed": "The correction was not saved: {message}",
    },
    "zh-CN": {
        # The drawing page's own words (as in the locale branch), then the correction row's.
        "page_title": "digitdraw：写一个数字，看神经网络读出它",
        "app_name": "digitdraw",
        "tagline": "写一个 0 到 9 的数字。你写的时候，网络就在读。",
        "pad_label": "画板：用鼠标、手指或触控笔写一个数字",
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
        "model_option": "{name} — MNIST 准确率 {accuracy}",
        "result_heading": "网络读到的是",
        "hint": "在框里写一个 0 到 9 的数字。你写的时候答案就会出现。",
        "confidence": "把握 {percent}",
        "pending": "正在读取…",
        "announce": "预测：{digit}，把握 {percent}",
        "chart_heading": "每个数字的概率",
        "preview_heading": "模型看到的图像",
        "preview_caption": "28 × 28 像素",
        "preview_alt": "你的画作，转换成模型读取的 28 × 28 像素图像",
        "error_unreachable": "无法连接 digitdraw 服务器。请确认它正在运行，然后再写一次。",
        "error_http": "服务器返回了错误（HTTP {status}）。请再写一次。",
        "error_models": "无法加载模型列表：{message}",
        "footer": "只在这台服务器上运行：无需联网。程序可以通过 POST /predict 调用同一个模型。",
        "correct_label": "认错了？其实是：",
        "correct_button": "其实是 {digit}",
        "correct_saving": "正在保存你的更正…",
        "correct_thanks": "谢谢！已记为 {digit}，网络可以从中学习。",
        "correct_failed": "更正没有保存：{message}",
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
