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
        "teach_title": "digitdraw classroom: the class wall",
        "teach_brand": "digitdraw classroom",
        "teach_key_heading": "Teacher sign-in",
        "teach_key_intro": "Enter the teacher key that the server printed when it started.",
        "teach_key_label": "Teacher key",
        "teach_key_submit": "Open the teacher page",
        "teach_key_wrong": "That key is not right. Use the key printed when the server started.",
        "teach_lobby_heading": "Your classes",
        "teach_start": "Start a class",
        "teach_no_classes": "No classes yet: start one, and students join with their phones.",
        "teach_open": "Open",
        "teach_delete": "Delete",
        "teach_class_summary": "{students} students, {drawings} drawings",
        "teach_class_ended": "ended",
        "teach_join_heading": "Join the class",
        "teach_join_steps": "Scan the code with a phone camera, or open:",
        "teach_code_label": "Class code",
        "teach_address_label": "Address for phones",
        "teach_qr_title": "QR code of the join address",
        "teach_local_only": (
            "This server only listens on this computer, so phones cannot reach it. Restart it "
            "with: python -m app --host 0.0.0.0"
        ),
        "teach_isolation_hint": (
            "No phone has joined yet. School Wi-Fi often keeps devices apart: if phones cannot "
            "open the address, turn on a phone hotspot and connect the laptop and the students' "
            "phones to it."
        ),
        "teach_students": "Students",
        "teach_drawings": "Drawings",
        "teach_prompt_label": "Ask for a digit",
        "teach_prompt_none": "Free drawing",
        "teach_prompt_banner": "Draw a {digit}",
        "teach_controls": "Class controls",
        "teach_pause": "Pause sending",
        "teach_resume": "Resume sending",
        "teach_veil": "Hide all",
        "teach_reveal": "Reveal",
        "teach_clear": "Clear the wall",
        "teach_end": "End the class",
        "teach_end_confirm": "End this class? Students can no longer join or send drawings.",
        "teach_export_csv": "Export CSV",
        "teach_export_npz": "Export .npz (MNIST)",
        "teach_wall_heading": "The wall",
        "teach_wall_empty": "Drawings appear here as students send them.",
        "teach_hide_tile": "Hide the drawing of {name}",
        "teach_hidden_tile": "Hidden by the teacher",
        "teach_veiled_tile": "Hidden until the reveal",
        "teach_score": "The network read {right} of {total} right",
        "teach_group": "Read as {digit}",
        "teach_matrix_heading": "Class confusion matrix",
        "teach_matrix_caption": (
            "Rows: the digit asked for (or the student's own label). Columns: the network's answer."
        ),
        "teach_matrix_corner": "asked \\ read",
        "teach_label_tag": "it was a {digit}",
        "teach_tile_alt": "Drawing by {name}, as the 28 by 28 image the model saw",
        "teach_status_live": "Live",
        "teach_status_reconnecting": "Reconnecting…",
        "teach_status_ended": "This class has ended.",
        "teach_paused_banner": "Sending is paused.",
        "teach_back": "All classes",
        "join_title": "Join the class — digitdraw",
        "join_heading": "Join the class",
        "join_code_label": "Class code",
        "join_name_label": "Your name (optional)",
        "join_name_hint": "Leave it empty for a generated name such as Blue Otter.",
        "join_submit": "Join",
        "join_you_are": "You are {name}",
        "join_prompt_free": "Draw any digit, then send it to the class.",
        "join_prompt": "Draw a {digit}",
        "join_send": "Send to class",
        "join_sent": "Sent! The network read {digit}.",
        "join_wrong_heading": "Was the network wrong? It was a:",
        "join_label_button": "It was a {digit}",
        "join_labelled": "Thanks: you said it was a {digit}.",
        "join_paused": "The teacher paused sending for a moment.",
        "join_ended": "The class has ended. Thank you!",
        "join_offline": "Connection lost; reconnecting…",
        "join_unknown": "No class has this code. Check the code on the projector.",
    },
    "zh-CN": {
        "teach_title": "digitdraw 课堂：全班作品墙",
        "teach_brand": "digitdraw 课堂",
        "teach_key_heading": "教师登录",
        "teach_key_intro": "请输入服务器启动时打印的教师密钥。",
        "teach_key_label": "教师密钥",
        "teach_key_submit": "打开教师页面",
        "teach_key_wrong": "密钥不正确。请使用服务器启动时打印的密钥。",
        "teach_lobby_heading": "你的课堂",
        "teach_start": "开始上课",
        "teach_no_classes": "还没有课堂：开始一个，学生用手机加入。",
        "teach_open": "打开",
        "teach_delete": "删除",
        "teach_class_summary": "{students} 名学生，{drawings} 幅作品",
        "teach_class_ended": "已结束",
        "teach_join_heading": "加入课堂",
        "teach_join_steps": "用手机相机扫描二维码，或打开：",
        "teach_code_label": "课堂代码",
        "teach_address_label": "手机使用的地址",
        "teach_qr_title": "加入地址的二维码",
        "teach_local_only": (
            "服务器只在本机监听，手机无法访问。请用以下命令重启：python -m app --host 0.0.0.0"
        ),
        "teach_isolation_hint": (
            "还没有手机加入。学校 Wi-Fi 常常隔离设备：如果手机打不开这个地址，请打开手机热点，让"
            "笔记本电脑和学生的手机都连上它。"
        ),
        "teach_students": "学生",
        "teach_drawings": "作品",
        "teach_prompt_label": "要求画的数字",
        "teach_prompt_none": "自由画",
        "teach_prompt_banner": "请画 {digit}",
        "teach_controls": "课堂控制",
        "teach_pause": "暂停发送",
        "teach_resume": "恢复发送",
        "teach_veil": "全部隐藏",
        "teach_reveal": "揭晓",
        "teach_clear": "清空作品墙",
        "teach_end": "结束课堂",
        "teach_end_confirm": "要结束这节课吗？学生将无法再加入或发送作品。",
        "teach_export_csv": "导出 CSV",
        "teach_export_npz": "导出 .npz（MNIST 格式）",
        "teach_wall_heading": "作品墙",
        "teach_wall_empty": "学生发送的作品会出现在这里。",
        "teach_hide_tile": "隐藏 {name} 的作品",
        "teach_hidden_tile": "已被老师隐藏",
        "teach_veiled_tile": "揭晓前隐藏",
        "teach_score": "网络认对了 {total} 幅中的 {right} 幅",
        "teach_group": "识别为 {digit}",
        "teach_matrix_heading": "全班混淆矩阵",
        "teach_matrix_caption": "行：要求画的数字（或学生自己标注的数字）。列：网络的回答。",
        "teach_matrix_corner": "要求 \\ 识别",
        "teach_label_tag": "其实是 {digit}",
        "teach_tile_alt": "{name} 的作品，模型看到的 28×28 图像",
        "teach_status_live": "实时",
        "teach_status_reconnecting": "正在重新连接…",
        "teach_status_ended": "这节课已结束。",
        "teach_paused_banner": "发送已暂停。",
        "teach_back": "所有课堂",
        "join_title": "加入课堂 — digitdraw",
        "join_heading": "加入课堂",
        "join_code_label": "课堂代码",
        "join_name_label": "你的名字（可不填）",
        "join_name_hint": "不填的话会生成一个名字，比如“Blue Otter”。",
        "join_submit": "加入",
        "join_you_are": "你是 {name}",
        "join_prompt_free": "画任意一个数字，然后发送给全班。",
        "join_prompt": "请画 {digit}",
        "join_send": "发送给全班",
        "join_sent": "已发送！网络识别为 {digit}。",
        "join_wrong_heading": "网络认错了吗？其实是：",
        "join_label_button": "其实是 {digit}",
        "join_labelled": "谢谢：你说这是 {digit}。",
        "join_paused": "老师暂时停止了发送。",
        "join_ended": "这节课结束了，谢谢！",
        "join_offline": "连接已断开，正在重新连接…",
        "join_unknown": "没有这个代码的课堂。请核对投影上的代码。",
        "page_title": "digitdraw：写一个数字，看神经网络怎样读它",
        "app_name": "digitdraw",
        "tagline": "写一个 0 到 9 的数字，神经网络边看边读。",
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
        "result_heading": "神经网络读到",
        "hint": "在方框里写一个 0 到 9 的数字，边写边出答案。",
        "confidence": "把握 {percent}",
        "pending": "正在读…",
        "announce": "预测：{digit}，把握 {percent}",
        "chart_heading": "每个数字的概率",
        "preview_heading": "模型看到的图像",
        "preview_caption": "28 × 28 像素",
        "preview_alt": "你写的数字，变成模型读取的 28×28 像素图像",
        "error_unreachable": "连不上 digitdraw 服务器。请确认它正在运行，然后再写一次。",
        "error_http": "服务器返回了错误（HTTP {status}）。请再写一次。",
        "error_models": "无法加载模型列表：{message}",
        "footer": "只在这台服务器上运行，无需联网。程序也可以用 POST /predict 调用同一个模型。",
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


# The words the classroom pages' scripts format or show themselves.
CLASSROOM_CLIENT_KEYS: Final = tuple(
    key for key in UI_STRINGS["en"] if key.startswith(("teach_", "join_"))
)


def classroom_strings_json(strings: dict[str, str]) -> str:
    """The classroom scripts' strings and the drawing page's, as JSON for a data attribute."""
    keys = (*CLIENT_KEYS, *CLASSROOM_CLIENT_KEYS)
    return json.dumps({key: strings[key] for key in keys}, ensure_ascii=False)
