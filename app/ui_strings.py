"""Every word the pages show, in one table per language (English, Simplified Chinese).

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
        # The look inside, /compare and /report (issue 12).
        "nav_label": "Pages",
        "nav_draw": "Draw",
        "nav_compare": "Compare models",
        "language_label": "Language",
        "report_link": "Model report",
        "inside_toggle": "Look inside",
        "inside_heading": "A look inside the network",
        "inside_intro": (
            "What the model computed for this drawing, layer after layer. Tap a bar or a digit "
            "below to ask why it is not another digit."
        ),
        "inside_empty": "Draw a digit to see inside the network.",
        "saliency_heading": "Which pixels count",
        "saliency_why": "Why {digit}?",
        "saliency_why_not": "Why not {digit}?",
        "saliency_caption": (
            "Red pixels push towards {digit}, blue pixels push away; white does not matter. Scal"
            "e ±{max}."
        ),
        "saliency_alt": (
            "Saliency map: how much each of the 28 × 28 pixels changes the probability of the ch"
            "osen digit"
        ),
        "target_label": "Explain the digit",
        "layers_heading": "Layer after layer",
        "layer_shape": "{kind}, output {shape}",
        "layer_strongest": "Strongest: {units}",
        "weights_heading": "What the first layer looks for",
        "weights_caption_dense": (
            "Each picture is one unit of the first layer: its 784 weights laid out as 28 × 28 "
            "(red positive, blue negative). The units that pushed most towards the explained "
            "digit on this drawing come first."
        ),
        "weights_caption_conv": (
            "Each picture is one 3 × 3 filter of the first layer (red positive, blue negative). "
            "The filters that pushed most towards the explained digit on this drawing come first."
        ),
        "about_InputLayer": "The drawing as 28 × 28 numbers from 0 (black) to 255 (white ink).",
        "about_Rescaling": "Divides every pixel by 255, so the numbers run from 0 to 1.",
        "about_Reshape": "Adds a colour channel: the picture becomes 28 × 28 × 1 for the filters.",
        "about_Conv2D": (
            "Slides small filters over the picture; each map lights up where its pattern (an "
            "edge, a curve, a corner) appears."
        ),
        "about_BatchNormalization": (
            "Rescales each map to the range it had during training, so the next layer gets "
            "numbers of a familiar size."
        ),
        "about_ReLU": (
            "Keeps positive values and turns negative ones into 0: only patterns that are "
            "present pass on."
        ),
        "about_Activation": "Applies the activation function to every value.",
        "about_MaxPooling2D": (
            "Keeps the strongest value of each 2 × 2 square: the maps get smaller and care less "
            "about exact positions."
        ),
        "about_Dropout": (
            "During training it switched random units off; when reading a digit it changes nothing."
        ),
        "about_Flatten": "Lays all the maps out in one long row of numbers for the dense layers.",
        "about_Dense": (
            "Each unit weighs every number of the layer before and adds them up: it fires for a "
            "combination of features."
        ),
        "about_softmax": (
            "One unit per digit, turned into probabilities that add up to 100%: the answer is "
            "the biggest."
        ),
        "compare_title": "Compare the models — digitdraw",
        "compare_heading": "Every model on the same drawing",
        "compare_intro": (
            "Draw once; every model answers side by side, so you can see where they disagree."
        ),
        "report_title": "Report: {name} — digitdraw",
        "report_heading": "Model report: {name}",
        "report_architecture": "Architecture",
        "report_layer": "Layer",
        "report_kind": "Kind",
        "report_shape": "Output shape",
        "report_params": "Parameters",
        "report_total_params": "Total parameters",
        "report_curves": "Training curves",
        "report_curves_caption": (
            "Accuracy per epoch on the training data and on held-out validation data."
        ),
        "report_train": "Training",
        "report_validation": "Validation",
        "report_epoch": "Epoch",
        "report_accuracy": "Accuracy",
        "report_confusion": "Confusion matrix on the 10,000 MNIST test digits",
        "report_confusion_caption": (
            "Row: the true digit. Column: the model's answer. Off the diagonal are its mistakes."
        ),
        "report_true": "True digit",
        "report_answer": "Answer",
        "report_per_class": "Accuracy per digit",
        "report_scores": "How well it reads",
        "report_mnist_test": "MNIST test digits",
        "report_real_strokes": "Real drawings (pen strokes of unseen writers)",
        "report_real_images": "Real drawings as images",
        "report_not_measured": "not measured",
        "report_training": "How it was trained",
        "report_epochs": "Epochs",
        "report_seconds": "Training time",
        "report_seconds_value": "{seconds} s",
        "report_data": "Data",
        "report_command": "Command",
        "report_gallery": "MNIST test digits it gets wrong",
        "report_gallery_caption": (
            "Each picture is a test digit; below it the true digit, the model's answer and its "
            "confidence."
        ),
        "report_gallery_item": "True {label}, answered {answer} ({percent})",
        "report_gallery_missing": "No gallery yet: run python -m training report.",
    },
    "zh-CN": {
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
        # The look inside, /compare and /report (issue 12).
        "nav_label": "页面",
        "nav_draw": "写数字",
        "nav_compare": "比较模型",
        "language_label": "语言",
        "report_link": "模型报告",
        "inside_toggle": "看看里面",
        "inside_heading": "看看神经网络的内部",
        "inside_intro": (
            "模型一层接一层地为这个数字算出的数值。点一根柱子或下面的数字，问问它为什么不是另一"
            "个数字。"
        ),
        "inside_empty": "写一个数字，就能看到网络的内部。",
        "saliency_heading": "哪些像素起作用",
        "saliency_why": "为什么是 {digit}？",
        "saliency_why_not": "为什么不是 {digit}？",
        "saliency_caption": (
            "红色像素把答案推向 {digit}，蓝色像素把它推开；白色无关紧要。刻度 ±{max}。"
        ),
        "saliency_alt": "显著性图：28×28 个像素中每一个对所选数字概率的影响",
        "target_label": "解释这个数字",
        "layers_heading": "一层接一层",
        "layer_shape": "{kind}，输出 {shape}",
        "layer_strongest": "最强：{units}",
        "weights_heading": "第一层在找什么",
        "weights_caption_dense": (
            "每张图是第一层的一个单元：它的 784 个权重排成 28×28（红色为正，蓝色为负）。在这个数"
            "字上最能把答案推向所解释数字的单元排在前面。"
        ),
        "weights_caption_conv": (
            "每张图是第一层的一个 3×3 滤波器（红色为正，蓝色为负）。在这个数字上最能把答案推向所"
            "解释数字的滤波器排在前面。"
        ),
        "about_InputLayer": "你写的数字，变成 28×28 个数：0 是黑色，255 是白色墨迹。",
        "about_Rescaling": "把每个像素除以 255，让数值落在 0 到 1 之间。",
        "about_Reshape": "加上一个颜色通道：图像变成 28×28×1，供滤波器使用。",
        "about_Conv2D": (
            "用小滤波器在图像上滑动；某种图案（边缘、弧线、拐角）出现的地方，对应的特征图就会变亮。"
        ),
        "about_BatchNormalization": "把每张特征图调整到训练时的范围，让下一层得到熟悉大小的数值。",
        "about_ReLU": "保留正数，把负数变成 0：只有出现了的图案才会传下去。",
        "about_Activation": "对每个数值使用激活函数。",
        "about_MaxPooling2D": "在每个 2×2 方块里只留下最大的值：特征图变小，对精确位置不那么敏感。",
        "about_Dropout": "训练时随机关掉一些单元；读数字时它什么也不改变。",
        "about_Flatten": "把所有特征图排成一长串数，交给全连接层。",
        "about_Dense": "每个单元给前一层的每个数加权再相加：它对某种特征组合作出反应。",
        "about_softmax": "每个数字一个单元，换算成加起来是 100% 的概率：最大的就是答案。",
        "compare_title": "比较模型 — digitdraw",
        "compare_heading": "所有模型读同一个数字",
        "compare_intro": "只写一次，所有模型并排作答，看看它们在哪里意见不同。",
        "report_title": "报告：{name} — digitdraw",
        "report_heading": "模型报告：{name}",
        "report_architecture": "网络结构",
        "report_layer": "层",
        "report_kind": "类型",
        "report_shape": "输出形状",
        "report_params": "参数",
        "report_total_params": "参数总数",
        "report_curves": "训练曲线",
        "report_curves_caption": "每一轮在训练数据和留出的验证数据上的准确率。",
        "report_train": "训练",
        "report_validation": "验证",
        "report_epoch": "轮次",
        "report_accuracy": "准确率",
        "report_confusion": "在 10,000 个 MNIST 测试数字上的混淆矩阵",
        "report_confusion_caption": "行：真实的数字。列：模型的答案。对角线以外就是它的错误。",
        "report_true": "真实数字",
        "report_answer": "答案",
        "report_per_class": "每个数字的准确率",
        "report_scores": "它读得有多好",
        "report_mnist_test": "MNIST 测试数字",
        "report_real_strokes": "真实手写（没见过的书写者的笔画）",
        "report_real_images": "真实手写（图像）",
        "report_not_measured": "未测量",
        "report_training": "它是怎样训练的",
        "report_epochs": "训练轮数",
        "report_seconds": "训练时间",
        "report_seconds_value": "{seconds} 秒",
        "report_data": "数据",
        "report_command": "命令",
        "report_gallery": "它读错的 MNIST 测试数字",
        "report_gallery_caption": "每张图是一个测试数字；下面是真实数字、模型的答案和它的把握。",
        "report_gallery_item": "真实 {label}，答成 {answer}（{percent}）",
        "report_gallery_missing": "还没有图集：请运行 python -m training report。",
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
) + tuple(  # the look inside: a sentence per layer kind, its captions and titles
    key
    for key in UI_STRINGS["en"]
    if key.startswith(("about_", "saliency_", "layer_", "weights_caption_"))
)


def ui_strings(locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """The table for `locale`, with English filling any key a translation lacks."""
    table = dict(UI_STRINGS[DEFAULT_LOCALE])
    table.update(UI_STRINGS.get(locale, {}))
    return table


def client_strings_json(strings: dict[str, str], keys: tuple[str, ...] = CLIENT_KEYS) -> str:
    """The script's share of `strings` as JSON, for a data attribute (the template escapes it)."""
    return json.dumps({key: strings[key] for key in keys}, ensure_ascii=False)
