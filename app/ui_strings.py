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
        "report_honest": "Honest answers",
        "report_calibration": "Confidence that means what it says",
        "report_calibration_caption": (
            "Temperature {t}: the expected calibration error on MNIST test digits and unseen pen "
            "writers goes from {raw} to {calibrated}."
        ),
        "report_reliability_alt": (
            "Reliability diagram: accuracy against confidence, before and after calibration. The "
            "closer a line is to the diagonal, the more the confidence means what it says."
        ),
        "report_not_digit": "Not a digit",
        "report_not_digit_caption": (
            "The digit detector answers \u201cnot a digit\u201d below a score of {threshold}, "
            "set so that at least 99% of real held-out digits are accepted."
        ),
        "report_real_digits": "Real digits the model never trained on",
        "report_source": "Digits",
        "report_accepted": "Accepted as digits",
        "report_right_among": "Read right among those",
        "report_source_mnist_test": "MNIST test digits",
        "report_source_pendigits_strokes": "Unseen pen writers, strokes",
        "report_source_pendigits_image": "Unseen pen writers, images",
        "report_rejected_caption": "Drawings that are not digits, refused",
        "report_drawing_kind": "Kind of drawing",
        "report_rejected": "Refused",
        "report_kind_letters": "Letters",
        "report_kind_words": "Words",
        "report_kind_symbols": "Symbols",
        "report_kind_font_glyphs": "Printed letters and signs",
        "report_kind_scribbles": "Scribbles",
        "report_kind_shapes": "Shapes",
        "report_kind_crossings": "Crossings",
        "report_kind_overlapping_digits": "Digits drawn over each other",
        "report_kind_half_digits": "Half digits",
        "report_kind_dots": "Dots",
        "report_kind_lines": "Lines",
        "report_tradeoff_alt": (
            "Trade-off curve: the share of real digits accepted against the share of non-digits "
            "refused, as the detector's threshold moves."
        ),
        "report_numbers": "Whole numbers",
        "report_numbers_caption": (
            "Numbers of 2 to 6 digits written with unseen pen writers' digits, read the way "
            "the number mode reads them."
        ),
        "report_spacing": "Gap between digits",
        "report_path": "Sent as",
        "report_numbers_right": "Numbers entirely right",
        "report_digits_right": "Digits right",
        "report_spacing_clear": "Clear",
        "report_spacing_close": "Close",
        "report_spacing_touching": "Touching",
        "report_path_strokes": "Strokes",
        "report_path_image": "Image",
        "report_scans": "Scanned digits (simulated low-resolution scans)",
        "report_scans_mnist": "Error on scanned MNIST test digits",
        "report_scans_pendigits": "Error on scanned pen writers' digits",
        "not_digit": "That doesn't look like a digit.",
        "best_guess": "The network's best guess: {digit} ({percent})",
        "announce_not_digit": (
            "That doesn't look like a digit. The network's best guess: {digit}, {percent}"
        ),
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
        "correct_label": "Wrong? It was:",
        "correct_button": "It was a {digit}",
        "correct_saving": "Saving your correction…",
        "correct_thanks": "Thank you! Saved as a {digit}: the network can learn from it.",
        "correct_failed": "The correction was not saved: {message}",
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
        "report_honest": "诚实的回答",
        "report_calibration": "名副其实的置信度",
        "report_calibration_caption": (
            "温度 {t}：在 MNIST 测试数字和未见过的书写者上，"
            "期望校准误差从 {raw} 降到 {calibrated}。"
        ),
        "report_reliability_alt": (
            "可靠性图：校准前后的准确率与置信度。曲线越接近对角线，置信度越名副其实。"
        ),
        "report_not_digit": "不是数字",
        "report_not_digit_caption": (
            "数字检测器的得分低于 {threshold} 时回答\u201c不是数字\u201d；"
            "这个阈值保证至少 99% 的真实数字被接受。"
        ),
        "report_real_digits": "模型从未训练过的真实数字",
        "report_source": "数字",
        "report_accepted": "被当作数字接受",
        "report_right_among": "其中认对的",
        "report_source_mnist_test": "MNIST 测试数字",
        "report_source_pendigits_strokes": "未见过的书写者（笔画）",
        "report_source_pendigits_image": "未见过的书写者（图片）",
        "report_rejected_caption": "不是数字的图形被拒绝的比例",
        "report_drawing_kind": "图形种类",
        "report_rejected": "被拒绝",
        "report_kind_letters": "字母",
        "report_kind_words": "单词",
        "report_kind_symbols": "符号",
        "report_kind_font_glyphs": "印刷的字母和符号",
        "report_kind_scribbles": "涂鸦",
        "report_kind_shapes": "形状",
        "report_kind_crossings": "交叉线",
        "report_kind_overlapping_digits": "叠在一起的数字",
        "report_kind_half_digits": "半个数字",
        "report_kind_dots": "点",
        "report_kind_lines": "线",
        "report_tradeoff_alt": (
            "权衡曲线：检测器阈值变化时，真实数字被接受的比例与非数字被拒绝的比例。"
        ),
        "report_numbers": "多位数",
        "report_numbers_caption": (
            "用未见过的书写者的数字组成的 2 到 6 位数，按多位数模式的方法识别。"
        ),
        "report_spacing": "数字间距",
        "report_path": "发送方式",
        "report_numbers_right": "完全认对的数",
        "report_digits_right": "认对的数字",
        "report_spacing_clear": "分开",
        "report_spacing_close": "靠近",
        "report_spacing_touching": "相连",
        "report_path_strokes": "笔画",
        "report_path_image": "图片",
        "report_scans": "扫描的数字（模拟低分辨率扫描）",
        "report_scans_mnist": "扫描的 MNIST 测试数字的错误率",
        "report_scans_pendigits": "扫描的书写者数字的错误率",
        "not_digit": "这看起来不像数字。",
        "best_guess": "网络的最佳猜测：{digit}（{percent}）",
        "announce_not_digit": "这看起来不像数字。网络的最佳猜测：{digit}，{percent}",
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
        "learn_opt_rmsprop": "RMSprop（均方根传播）",
        "learn_opt_adam": "Adam（自适应矩估计）",
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
        "correct_label": "认错了？其实是：",
        "correct_button": "其实是 {digit}",
        "correct_saving": "正在保存你的更正…",
        "correct_thanks": "谢谢！已记为 {digit}，网络可以从中学习。",
        "correct_failed": "更正没有保存：{message}",
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
    "best_guess",
    "announce_not_digit",
    "number_pad_label",
    "number_pad_placeholder",
    "number_digit",
    "number_announce",
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


# The words the classroom pages' scripts format or show themselves.
CLASSROOM_CLIENT_KEYS: Final = tuple(
    key for key in UI_STRINGS["en"] if key.startswith(("teach_", "join_"))
)


def classroom_strings_json(strings: dict[str, str]) -> str:
    """The classroom scripts' strings and the drawing page's, as JSON for a data attribute."""
    return client_strings_json(strings, (*CLIENT_KEYS, *CLASSROOM_CLIENT_KEYS))


# The strings the /learn page script formats or shows itself: its own, and a few of the pad's.
LEARN_CLIENT_KEYS: Final = (
    *(key for key in UI_STRINGS[DEFAULT_LOCALE] if key.startswith("learn_")),
    "confidence",
    "model_option",
    "error_unreachable",
    "error_http",
)
