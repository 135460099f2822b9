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
        # Watch it learn (/learn): the teacher trains a tutorial model live.
        "learn_page_title": "Watch it learn: digitdraw",
        "learn_heading": "Watch it learn",
        "learn_tagline": "A real network trains on MNIST on this computer: the loss falls, the "
        "weights turn from noise into strokes, and it learns to read your digit.",
        "learn_settings": "Training settings",
        "learn_model": "Network",
        "learn_optimizer": "Optimizer",
        "learn_opt_sgd": "SGD",
        "learn_opt_momentum": "SGD with momentum",
        "learn_opt_rmsprop": "RMSprop",
        "learn_opt_adam": "Adam",
        "learn_learning_rate": "Learning rate",
        "learn_epochs": "Epochs",
        "learn_batch_size": "Batch size",
        "learn_train_size": "Training digits",
        "learn_hidden_units": "Hidden units (empty: as in the tutorial)",
        "learn_key": "Teacher key",
        "learn_start": "Start training",
        "learn_cancel": "Stop",
        "learn_status_idle": "Choose the settings and start. Draw a digit: before any training "
        "the network can only guess.",
        "learn_status_starting": "Starting TensorFlow…",
        "learn_status_training": "Epoch {epoch} of {epochs} · batch {step} of {steps}",
        "learn_status_testing": "Testing on {count} digits it has never seen…",
        "learn_status_saving": "Saving the model…",
        "learn_status_done": "Done: {name} reads {accuracy} of the MNIST test digits.",
        "learn_status_failed": "Training failed: {reason}",
        "learn_status_cancelled": "Training stopped.",
        "learn_need_key": "Type the teacher key printed when the server started, then start again.",
        "learn_mnist_missing": "MNIST is not on this computer: before class, run python -m "
        "training fetch-data on a machine with internet, or set DIGITDRAW_MNIST to mnist.npz.",
        "learn_loss_heading": "Loss: how wrong the network is",
        "learn_accuracy_heading": "Accuracy: how often it is right",
        "learn_loss_label": "Loss per batch (training) and per epoch (validation)",
        "learn_accuracy_label": "Accuracy per batch (training) and per epoch (validation)",
        "learn_legend_training": "training, batch by batch",
        "learn_legend_validation": "validation, each epoch",
        "learn_axis_batch": "batch",
        "learn_weights_heading": "First layer: what each unit looks for",
        "learn_weights_label": "The first layer's weights, one image per unit",
        "learn_weights_scale": "red: positive · white: zero · blue: negative",
        "learn_weights_before": "before training: random noise",
        "learn_weights_batch": "after batch {batch}",
        "learn_weights_show": "Show",
        "learn_weights_raw": "the weights",
        "learn_weights_change": "what training changed",
        "learn_answer_heading": "The network reads",
        "learn_answer_before": "before training",
        "learn_answer_batch": "after batch {batch}",
        "learn_pad_model": "Model on the pad",
        "learn_models_heading": "Models trained in class",
        "learn_models_empty": "None yet.",
        "learn_model_row": "{name}: {accuracy} on MNIST test ({digits} digits, {epochs} epochs)",
        "learn_delete": "Delete",
        "learn_delete_label": "Delete {name}",
    },
    "zh-CN": {
        "page_title": "digitdraw：写一个数字，看神经网络如何识别",
        "app_name": "digitdraw",
        "tagline": "写一个 0 到 9 的数字，神经网络会边看边认。",
        "pad_label": "画板：用鼠标、手指或笔写一个数字",
        "pad_placeholder": "在这里写一个数字",
        "toolbar_label": "画图工具",
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
        "result_heading": "神经网络认为是",
        "hint": "在框里写一个 0 到 9 的数字，写的时候答案就会出现。",
        "confidence": "把握 {percent}",
        "pending": "正在识别…",
        "announce": "识别结果：{digit}，把握 {percent}",
        "chart_heading": "每个数字的概率",
        "preview_heading": "模型看到的图像",
        "preview_caption": "28 × 28 像素",
        "preview_alt": "你写的数字，缩成模型读取的 28×28 像素图像",
        "error_unreachable": "无法连接 digitdraw 服务器。请确认它正在运行，然后再写一次。",
        "error_http": "服务器返回了错误（HTTP {status}）。请再写一次。",
        "error_models": "无法加载模型列表：{message}",
        "footer": "只在本服务器上运行，无需联网。程序可以通过 POST /predict 调用同一个模型。",
        "learn_page_title": "看它学习：digitdraw",
        "learn_heading": "看它学习",
        "learn_tagline": (
            "一个真正的神经网络正在这台电脑上用 MNIST 训练：损失下降，"
            "权重从噪声变成笔画，它学会读你写的数字。"
        ),
        "learn_settings": "训练设置",
        "learn_model": "网络",
        "learn_optimizer": "优化器",
        "learn_opt_sgd": "SGD（随机梯度下降）",
        "learn_opt_momentum": "带动量的 SGD",
        "learn_opt_rmsprop": "RMSprop",
        "learn_opt_adam": "Adam",
        "learn_learning_rate": "学习率",
        "learn_epochs": "轮数（epoch）",
        "learn_batch_size": "批大小",
        "learn_train_size": "训练用的数字数量",
        "learn_hidden_units": "隐藏单元数（留空：与教程相同）",
        "learn_key": "教师密钥",
        "learn_start": "开始训练",
        "learn_cancel": "停止",
        "learn_status_idle": "选好设置后开始。写一个数字：训练之前，网络只能瞎猜。",
        "learn_status_starting": "正在启动 TensorFlow…",
        "learn_status_training": "第 {epoch} 轮，共 {epochs} 轮 · 第 {step} 批，共 {steps} 批",
        "learn_status_testing": "正在用 {count} 个从没见过的数字测试…",
        "learn_status_saving": "正在保存模型…",
        "learn_status_done": "完成：{name} 能认对 {accuracy} 的 MNIST 测试数字。",
        "learn_status_failed": "训练失败：{reason}",
        "learn_status_cancelled": "训练已停止。",
        "learn_need_key": "请输入服务器启动时显示的教师密钥，然后重新开始。",
        "learn_mnist_missing": "这台电脑上没有 MNIST：上课前在能上网的电脑上运行 python -m "
        "training fetch-data，或把 DIGITDRAW_MNIST 设为 mnist.npz 的路径。",
        "learn_loss_heading": "损失：网络错得有多厉害",
        "learn_accuracy_heading": "准确率：它多常答对",
        "learn_loss_label": "每批（训练）和每轮（验证）的损失",
        "learn_accuracy_label": "每批（训练）和每轮（验证）的准确率",
        "learn_legend_training": "训练，逐批",
        "learn_legend_validation": "验证，每轮",
        "learn_axis_batch": "批",
        "learn_weights_heading": "第一层：每个单元在找什么",
        "learn_weights_label": "第一层的权重，每个单元一张图",
        "learn_weights_scale": "红：正 · 白：零 · 蓝：负",
        "learn_weights_before": "训练之前：随机噪声",
        "learn_weights_batch": "第 {batch} 批之后",
        "learn_weights_show": "显示",
        "learn_weights_raw": "权重本身",
        "learn_weights_change": "训练改变了什么",
        "learn_answer_heading": "神经网络认为是",
        "learn_answer_before": "训练之前",
        "learn_answer_batch": "第 {batch} 批之后",
        "learn_pad_model": "画板使用的模型",
        "learn_models_heading": "课堂上训练的模型",
        "learn_models_empty": "还没有。",
        "learn_model_row": "{name}：MNIST 测试准确率 {accuracy}（{digits} 个数字，{epochs} 轮）",
        "learn_delete": "删除",
        "learn_delete_label": "删除 {name}",
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


# The strings the /learn page script formats or shows itself: its own, and a few of the pad's.
LEARN_CLIENT_KEYS: Final = (
    *(key for key in UI_STRINGS[DEFAULT_LOCALE] if key.startswith("learn_")),
    "confidence",
    "model_option",
    "error_unreachable",
    "error_http",
)


def learn_strings_json(strings: dict[str, str]) -> str:
    """The /learn script's share of `strings` as JSON, for a data attribute."""
    return json.dumps({key: strings[key] for key in LEARN_CLIENT_KEYS}, ensure_ascii=False)
