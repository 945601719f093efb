"""UI text in English and Japanese. ``t(key, **values)`` reads the language chosen in the sidebar."""

from __future__ import annotations

import streamlit as st

from ui.i18n_decisions import DECISIONS_EN, DECISIONS_JA
from ui.i18n_labels import LABELS_EN, LABELS_JA
from ui.i18n_monitor import MONITOR_EN, MONITOR_JA

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "STRINGS", "explain", "t", "translate"]

LANGUAGES = {"en": "English", "ja": "日本語"}
DEFAULT_LANGUAGE = "en"

EN: dict[str, str] = {
    # navigation and general
    "page_home": "Projects", "page_data": "Data", "page_train": "Train", "page_threshold": "Threshold",
    "page_inference": "Inference", "page_report": "Report",
    "error": "Error", "open_project": "Project: {name}", "no_project_short": "No project open",
    "no_project": "Open or create a project first.", "go_home": "Go to Projects",
    "go_data": "Next: add data", "go_train": "Next: train a model", "go_threshold": "Next: set the threshold",
    "go_inference": "Run on new images", "go_report": "Download the report",
    "good": "good", "defect": "defect", "log": "Log",
    # home
    "home_title": "Hamacho — visual anomaly detection", "workspace": "Workspace: {path}",
    "new_project": "New project", "new_project_hint": "e.g. ワッシャー検査 2025-01", "create": "Create",
    "created": "Project {name} created.", "opened": "Project {name} opened.",
    "demo_text": "**No data at hand?** Generate a small demo set of washers with scratches, spots, cracks and "
                 "missing pieces (with masks) and open it.",
    "demo_button": "Try the demo", "demo_making": "Generating the demo images…",
    "projects": "Projects", "no_projects": "No project yet: create one or try the demo.",
    "is_open": "open", "n_runs": "{n} run(s)", "open": "Open",
    "project_runs": "Trained runs of {name}", "no_runs": "No trained run in this project yet.",
    "manage_project": "Rename or delete this project", "rename_to": "New name", "rename": "Rename",
    "renamed": "Project renamed to {name}.", "delete_confirm": "Yes, delete {name} with all its data and runs",
    "delete": "Delete project", "deleted": "Project {name} deleted.",
    "busy_project": "A training job of this project is queued or running: wait or cancel it first.",
    "col_run": "run", "col_date": "date", "col_model": "model", "col_backbone": "backbone",
    "col_cross_fitted_f1": "cross-fitted F1",
    # data
    "data_title": "Data", "data_where": "Stored in {path}",
    "tab_folders": "Drop folders", "tab_zip": "ZIP file", "tab_server": "Folder on the server",
    "drop_good": "Good images (folder)", "drop_good_help": "The folder of good parts; sub-folders are kept.",
    "drop_bad": "Defect images (folder)",
    "drop_bad_help": "A folder whose sub-folders are the defect types (e.g. bad/scratch, bad/crack).",
    "drop_mask": "Masks (optional folder)",
    "drop_mask_help": "Same sub-folders and file names as the defect images; any non-zero pixel is defect.",
    "drop_zip": "ZIP of the folder layout",
    "drop_zip_help": "Holding good/, bad/<type>/ and optionally mask/<type>/ (possibly inside one top folder).",
    "server_path": "Folder on the server", "server_path_help": "A folder holding good/, bad/<type>/, mask/<type>/.",
    "import": "Import", "imported": "{n} image(s) saved in the project.",
    "counts": "Images", "col_class": "class / type", "col_images": "images", "col_masks": "masks",
    "problems": "Problems found", "no_problems": "Every file is usable.",
    "n_problems": "{n} file(s) left out or partly used:", "col_file": "file", "col_reason": "reason",
    "thumbnails": "Thumbnails (masks outlined in green)",
    "no_data": "No data yet: drop a folder of good images (and defect images, masks) above.",
    "clear_data": "Remove the project's data", "clear_confirm": "Yes, remove good/, bad/ and mask/",
    "clear": "Remove data",
    # train
    "train_title": "Train", "opt_model": "Model",
    "help_model": "PatchCore: most accurate, memory bank of good patches. PaDiM: faster, Gaussian per position.",
    "opt_backbone": "Backbone",
    "help_backbone": "Feature extractor. tf_efficientnet_lite0 works offline; others need their weights cached.",
    "opt_resize": "Resize", "help_resize": "Keep the aspect ratio (recommended) or squash to a square.",
    "resize_keep-aspect": "keep aspect", "resize_square": "square",
    "opt_tiling": "Tiling", "help_tiling": "Cut images far larger than the model input (line-scan photos, "
    "multi-megapixel cameras) into overlapping tiles, so small defects keep their pixels. auto: only when the long "
    "side is over 4x the model input (keep aspect); on: whenever an image is larger than one tile; off: never.",
    "tiling_auto": "auto", "tiling_on": "on", "tiling_off": "off",
    "regions_caption": "{n} region(s), the highest at x {x}, y {y} ({w} × {h} px)",
    "tiles_info": "Tiles: **{n}** per image ({rows} × {cols}) of {th} × {tw} px: each image costs {n} forward "
    "passes; maps are stitched back to full resolution.",
    "opt_auto_size": "Automatic size", "help_auto_size": "Long side up to 512 px, never above the native size.",
    "opt_image_size": "Image size (px)", "help_image_size": "Square side, or long side when keeping the aspect.",
    "opt_coreset": "Coreset ratio", "help_coreset": "Share of training patches kept in PatchCore's memory bank.",
    "opt_bank": "Max bank size", "help_bank": "Upper limit on memory-bank entries (memory and speed).",
    "opt_batch": "Batch size", "help_batch": "Images per forward pass; lower it if memory runs out.",
    "opt_split": "Test share of good images", "help_split": "Good images held out to measure the model.",
    "opt_seed": "Seed", "help_seed": "The same seed gives the same split and bank.",
    "opt_good_only": "Good-only mode", "help_good_only": "Ignore defect images; threshold = mean + 3 std.",
    "opt_csv": "Per-pixel CSV files", "help_csv": "Write each anomaly map as CSV (large files).",
    "csv_size": "The per-pixel CSV files of the test images will take about {gb} GB: untick the box to skip them.",
    "split_counts": "Training: **{train}** good images · test: {test}",
    "shape_info": "Input shape: **{h} × {w}** px — {reason}",
    "bank_info": "Memory bank: about **{bank}** entries (from {candidates} training patches).",
    "padim_info": "PaDiM models **{bank}** patch positions ({candidates} training patches).",
    "time_info": "Rough training time on a 2-core CPU: about {minutes} min (a GPU is much faster).",
    "start": "Start training", "queued": "Training {id} queued.", "jobs": "Training jobs",
    "no_jobs": "No training yet.", "cancel": "Cancel", "eta": "· about {s} s left in this stage",
    "elapsed": "{s} s", "status_queued": "queued", "status_running": "running", "status_done": "done",
    "status_failed": "failed", "status_cancelled": "cancelled",
    "status_interrupted": "interrupted (the server stopped before it finished)",
    "job_done": "Saved. Image F1 {f1}, AUROC {auroc} ({s} s).", "next_threshold": "Next: set the threshold",
    # threshold
    "threshold_title": "Threshold", "pick_run": "Run",
    "threshold_intro": "{n} test images ({good} good, {bad} defect). Moving the sliders uses the saved scores only.",
    "image_threshold": "Image threshold (normalized score)",
    "image_threshold_help": "0.5 = the adaptive threshold fitted in training; a higher value flags fewer images.",
    "pixel_threshold": "Pixel threshold (normalized map)",
    "pixel_threshold_help": "Which pixels the predicted mask marks as defect.",
    "save_threshold": "Save threshold to the run",
    "threshold_saved": "Saved: image {image}, pixel {pixel}. Inference and reports use them now.",
    "saved_thresholds": "Saved in the run: image {image}, pixel {pixel}",
    "m_precision": "Precision", "m_recall": "Recall", "m_f1": "F1", "m_accuracy": "Accuracy",
    "m_delta_help": "Change against the saved threshold.",
    "gallery": "Images that flip",
    "gallery_help": "False positives and false negatives first, then the images closest to the threshold. "
                    "Left: heat map; right: predicted defect (red) and ground truth (green). Each picture's score and "
                    "verdict are the saved run's (what inference will say), so a few may differ from the cross-fitted "
                    "counts above.",
    "chart_curve": "curve", "chart_point": "current threshold", "chart_pr": "Precision-recall",
    "chart_roc": "ROC", "chart_recall": "recall", "chart_precision": "precision", "chart_fpr": "false positive rate",
    "chart_tpr": "true positive rate", "chart_good": "good", "chart_defect": "defect",
    "chart_histogram": "Scores: good vs defect", "chart_score": "normalized score", "chart_count": "images",
    "chart_confusion": "Confusion matrix", "chart_predicted": "verdict", "chart_truth": "truth",
    # inference
    "inference_title": "Inference", "tab_files": "Images", "tab_folder": "Folder",
    "drop_images": "Drop images", "drop_folder": "Drop a folder", "server_images": "Image or folder on the server",
    "run_inference": "Run", "running": "Running inference…", "pick_session": "Results",
    "no_inference": "Drop images above to run the model on them.",
    "inference_summary": "{n} image(s), **{bad}** judged defect.",
    "col_score": "score", "col_norm_score": "normalized score", "col_verdict": "verdict",
    # report
    "report_title": "Report", "report_intro": "Choose what goes in; index.html in the ZIP opens offline.",
    "part_combined": "Combined pictures", "part_heat_maps": "Heat maps", "part_masks": "Predicted masks",
    "part_inputs": "Input images", "part_csv": "Per-pixel CSV files", "part_metrics": "Metrics CSV, JSON and plots",
    "part_settings": "Settings used (config.yaml)", "build_zip": "Build the ZIP", "building": "Building…",
    "zip_ready": "{name} is ready ({mb} MB).", "download": "Download ZIP",
}

JA: dict[str, str] = {
    "page_home": "プロジェクト", "page_data": "データ", "page_train": "学習", "page_threshold": "しきい値",
    "page_inference": "推論", "page_report": "レポート",
    "error": "エラー", "open_project": "プロジェクト: {name}", "no_project_short": "プロジェクト未選択",
    "no_project": "先にプロジェクトを開くか作成してください。", "go_home": "プロジェクト画面へ",
    "go_data": "次へ: データを追加", "go_train": "次へ: モデルを学習", "go_threshold": "次へ: しきい値を設定",
    "go_inference": "新しい画像で推論", "go_report": "レポートをダウンロード",
    "good": "良品", "defect": "不良", "log": "ログ",
    "home_title": "Hamacho — 外観異常検知", "workspace": "ワークスペース: {path}",
    "new_project": "新しいプロジェクト", "new_project_hint": "例: ワッシャー検査 2025-01", "create": "作成",
    "created": "プロジェクト {name} を作成しました。", "opened": "プロジェクト {name} を開きました。",
    "demo_text": "**手元にデータがない場合:** 傷・シミ・ひび・欠けのあるワッシャーの小さなデモデータ"
                 "(マスク付き)を生成して開きます。",
    "demo_button": "デモを試す", "demo_making": "デモ画像を生成中…",
    "projects": "プロジェクト一覧", "no_projects": "プロジェクトがありません。作成するかデモを試してください。",
    "is_open": "開いています", "n_runs": "学習結果 {n} 件", "open": "開く",
    "project_runs": "{name} の学習結果", "no_runs": "このプロジェクトにはまだ学習結果がありません。",
    "manage_project": "プロジェクト名の変更・削除", "rename_to": "新しい名前", "rename": "名前を変更",
    "renamed": "プロジェクト名を {name} に変更しました。",
    "delete_confirm": "{name} をデータと学習結果ごと削除する", "delete": "プロジェクトを削除",
    "deleted": "プロジェクト {name} を削除しました。",
    "busy_project": "このプロジェクトの学習が待機中または実行中です。終了を待つか中止してください。",
    "col_run": "学習結果", "col_date": "日時", "col_model": "モデル", "col_backbone": "バックボーン",
    "col_cross_fitted_f1": "クロスフィット F1",
    "data_title": "データ", "data_where": "保存先: {path}",
    "tab_folders": "フォルダをドロップ", "tab_zip": "ZIP ファイル", "tab_server": "サーバー上のフォルダ",
    "drop_good": "良品画像(フォルダ)", "drop_good_help": "良品のフォルダ。サブフォルダはそのまま保持します。",
    "drop_bad": "不良画像(フォルダ)", "drop_bad_help": "サブフォルダが不良の種類になります(例: bad/scratch)。",
    "drop_mask": "マスク(任意・フォルダ)",
    "drop_mask_help": "不良画像と同じサブフォルダ・ファイル名。0 以外の画素が不良です。",
    "drop_zip": "フォルダ構成の ZIP",
    "drop_zip_help": "good/、bad/<種類>/、任意で mask/<種類>/ を含む ZIP(最上位フォルダ 1 つの中でも可)。",
    "server_path": "サーバー上のフォルダ", "server_path_help": "good/、bad/<種類>/、mask/<種類>/ を含むフォルダ。",
    "import": "取り込む", "imported": "{n} 枚の画像をプロジェクトに保存しました。",
    "counts": "画像数", "col_class": "クラス / 種類", "col_images": "画像", "col_masks": "マスク",
    "problems": "見つかった問題", "no_problems": "すべてのファイルが使用できます。",
    "n_problems": "{n} 件のファイルが除外または一部のみ使用されます:", "col_file": "ファイル", "col_reason": "理由",
    "thumbnails": "サムネイル(マスクは緑の輪郭)",
    "no_data": "データがありません。上で良品画像のフォルダ(と不良画像・マスク)をドロップしてください。",
    "clear_data": "プロジェクトのデータを削除", "clear_confirm": "good/、bad/、mask/ を削除する",
    "clear": "データを削除",
    "train_title": "学習", "opt_model": "モデル",
    "help_model": "PatchCore: 高精度(良品パッチのメモリバンク)。PaDiM: 高速(位置ごとのガウス分布)。",
    "opt_backbone": "バックボーン",
    "help_backbone": "特徴抽出器。tf_efficientnet_lite0 はオフラインで使えます。他は重みのキャッシュが必要です。",
    "opt_resize": "リサイズ", "help_resize": "縦横比を保つ(推奨)か、正方形に変形します。",
    "resize_keep-aspect": "縦横比を保つ", "resize_square": "正方形",
    "opt_tiling": "タイル分割",
    "help_tiling": "モデル入力よりはるかに大きい画像(ラインスキャン、高画素カメラ)を重なりのあるタイルに分割し、"
    "小さな欠陥の画素を保ちます。自動: 長辺がモデル入力の 4 倍を超えるとき(縦横比維持時)、"
    "オン: 画像が 1 タイルより大きいとき常に、オフ: 分割しない。",
    "tiling_auto": "自動", "tiling_on": "オン", "tiling_off": "オフ",
    "regions_caption": "異常領域 {n} 件、最もスコアの高い領域 x {x}, y {y}({w} × {h} px)",
    "tiles_info": "タイル: 1 画像あたり **{n}** 枚({rows} × {cols})、各 {th} × {tw} px。"
    "1 画像につき {n} 回の推論を行い、マップは元の解像度に貼り合わせます。",
    "opt_auto_size": "サイズ自動", "help_auto_size": "長辺は最大 512 px、元の解像度を超えません。",
    "opt_image_size": "画像サイズ (px)", "help_image_size": "正方形の一辺、または縦横比維持時の長辺。",
    "opt_coreset": "コアセット比率", "help_coreset": "PatchCore のメモリバンクに残す学習パッチの割合。",
    "opt_bank": "最大バンクサイズ", "help_bank": "メモリバンクの上限(メモリと速度)。",
    "opt_batch": "バッチサイズ", "help_batch": "1 回に処理する画像数。メモリ不足なら下げてください。",
    "opt_split": "良品のテスト割合", "help_split": "評価用に取り分ける良品画像の割合。",
    "opt_seed": "シード", "help_seed": "同じシードなら同じ分割・バンクになります。",
    "opt_good_only": "良品のみモード", "help_good_only": "不良画像を使いません。しきい値 = 平均 + 3σ。",
    "opt_csv": "画素ごとの CSV", "help_csv": "異常マップを CSV で書き出します(大きなファイル)。",
    "csv_size": "テスト画像の画素ごとの CSV は約 {gb} GB になります。不要ならチェックを外してください。",
    "split_counts": "学習: 良品 **{train}** 枚 · テスト: {test}",
    "shape_info": "入力サイズ: **{h} × {w}** px — {reason}",
    "bank_info": "メモリバンク: 約 **{bank}** 件(学習パッチ {candidates} 件から)。",
    "padim_info": "PaDiM はパッチ位置 **{bank}** 箇所をモデル化します(学習パッチ {candidates} 件)。",
    "time_info": "学習時間の目安(2コアCPU): 約 {minutes} 分(GPU ならずっと速くなります)。",
    "start": "学習を開始", "queued": "学習 {id} を登録しました。", "jobs": "学習ジョブ",
    "no_jobs": "まだ学習していません。", "cancel": "中止", "eta": "· この段階の残り約 {s} 秒",
    "elapsed": "{s} 秒", "status_queued": "待機中", "status_running": "実行中", "status_done": "完了",
    "status_failed": "失敗", "status_cancelled": "中止",
    "status_interrupted": "中断(完了前にサーバーが停止しました)",
    "job_done": "保存しました。画像 F1 {f1}、AUROC {auroc}({s} 秒)。", "next_threshold": "次へ: しきい値を設定",
    "threshold_title": "しきい値", "pick_run": "学習結果",
    "threshold_intro": "テスト画像 {n} 枚(良品 {good}、不良 {bad})。スライダーは保存済みスコアだけを使います。",
    "image_threshold": "画像しきい値(正規化スコア)",
    "image_threshold_help": "0.5 = 学習時に求めた適応しきい値。値を上げると不良判定が減ります。",
    "pixel_threshold": "画素しきい値(正規化マップ)",
    "pixel_threshold_help": "予測マスクで不良とする画素を決めます。",
    "save_threshold": "しきい値を学習結果に保存",
    "threshold_saved": "保存しました: 画像 {image}、画素 {pixel}。推論とレポートに反映されます。",
    "saved_thresholds": "保存済み: 画像 {image}、画素 {pixel}",
    "m_precision": "適合率", "m_recall": "再現率", "m_f1": "F1", "m_accuracy": "正解率",
    "m_delta_help": "保存済みしきい値との差。",
    "gallery": "判定が変わる画像",
    "gallery_help": "誤検出・見逃しを先頭に、次にしきい値に近い画像。左: ヒートマップ、右: 予測した不良(赤)と"
                    "正解(緑)。各画像のスコアと判定は保存済みモデルのもの (推論で出る値) なので、上のクロスフィットの"
                    "件数と少し異なることがあります。",
    "chart_curve": "曲線", "chart_point": "現在のしきい値", "chart_pr": "適合率-再現率",
    "chart_roc": "ROC", "chart_recall": "再現率", "chart_precision": "適合率", "chart_fpr": "偽陽性率",
    "chart_tpr": "真陽性率", "chart_good": "良品", "chart_defect": "不良",
    "chart_histogram": "スコア分布: 良品と不良", "chart_score": "正規化スコア", "chart_count": "画像数",
    "chart_confusion": "混同行列", "chart_predicted": "判定", "chart_truth": "正解",
    "inference_title": "推論", "tab_files": "画像", "tab_folder": "フォルダ",
    "drop_images": "画像をドロップ", "drop_folder": "フォルダをドロップ",
    "server_images": "サーバー上の画像またはフォルダ",
    "run_inference": "実行", "running": "推論中…", "pick_session": "結果",
    "no_inference": "上に画像をドロップするとモデルで判定します。",
    "inference_summary": "{n} 枚中 **{bad}** 枚を不良と判定。",
    "col_score": "スコア", "col_norm_score": "正規化スコア", "col_verdict": "判定",
    "report_title": "レポート",
    "report_intro": "含める内容を選んでください。ZIP 内の index.html はオフラインで開けます。",
    "part_combined": "結合画像", "part_heat_maps": "ヒートマップ", "part_masks": "予測マスク",
    "part_inputs": "入力画像", "part_csv": "画素ごとの CSV", "part_metrics": "評価指標 CSV・JSON・グラフ",
    "part_settings": "使用した設定 (config.yaml)", "build_zip": "ZIP を作成", "building": "作成中…",
    "zip_ready": "{name} の準備ができました({mb} MB)。", "download": "ZIP をダウンロード",
}

# supervised boost
EN.update({
    "opt_supervised": "Learn from the defect pictures (supervised)",
    "help_supervised": "A light head on the frozen features learns from the defect pictures (and their masks) "
                       "on top of the good-only model. auto: on from 10 defect pictures. Every figure of such a "
                       "run is cross-fitted: each picture is judged by a head that never saw it.",
    "supervised_auto": "auto", "supervised_on": "on", "supervised_off": "off",
    "supervised_inactive": "Supervised head off: {n} defect picture(s), auto needs {need}.",
    "supervised_active": "Supervised head on: learns from {n} defect pictures and their masks.",
    "supervised_no_masks": "{n} defect picture(s) have no mask: their highest-scoring patches are taken as the "
                           "defect. Masks would help the supervised head.",
    "supervised_run": "Supervised run: every figure on this page is cross-fitted over {folds} folds (each picture "
                      "scored by a head that never saw it). Image AUROC: good-only model {plain}, with the head "
                      "{boosted}.",
    "supervised_no_masks_run": "This run had no masks: masks would help the supervised head.",
    "curve_expander": "How much would more defect pictures help?",
    "curve_help": "Cross-fitted image AUROC and recall (threshold chosen on other pictures) of heads that learned "
                  "from this many defect pictures. A curve still rising at the right: more defect pictures help.",
    "curve_title": "Learning curve", "curve_x": "defect pictures the head learned from",
    "curve_auroc": "image AUROC", "curve_recall": "recall at the threshold",
    "stage_supervised_head_(cross-fitting)": "supervised head (cross-fitting)",
})
JA.update({
    "opt_supervised": "不良画像からも学習(教師あり)",
    "help_supervised": "良品だけのモデルに加え、固定した特徴量の上の軽いヘッドが不良画像(とマスク)から学習します。"
                       "auto: 不良画像が 10 枚以上で有効。この場合の評価値はすべてクロスフィット"
                       "(各画像をその画像を見ていないヘッドで判定)です。",
    "supervised_auto": "自動", "supervised_on": "オン", "supervised_off": "オフ",
    "supervised_inactive": "教師ありヘッドはオフ: 不良画像 {n} 枚(自動は {need} 枚以上で有効)。",
    "supervised_active": "教師ありヘッドはオン: 不良画像 {n} 枚とマスクから学習します。",
    "supervised_no_masks": "マスクのない不良画像が {n} 枚あります: スコアの最も高いパッチを不良とみなします。"
                           "マスクがあると教師ありヘッドの精度が上がります。",
    "supervised_run": "教師ありの学習結果: このページの値はすべて {folds} 分割のクロスフィットです"
                      "(各画像をその画像を見ていないヘッドで判定)。画像 AUROC: 良品のみのモデル {plain}、"
                      "ヘッドあり {boosted}。",
    "supervised_no_masks_run": "この学習にはマスクがありませんでした: マスクがあると教師ありヘッドの精度が上がります。",
    "curve_expander": "不良画像を増やすとどれだけ良くなるか",
    "curve_help": "この枚数の不良画像から学習したヘッドの、クロスフィットした画像 AUROC と再現率"
                  "(閾値は他の画像で決定)。右端でまだ上がっていれば、不良画像を増やす効果があります。",
    "curve_title": "学習曲線", "curve_x": "ヘッドが学習した不良画像の枚数",
    "curve_auroc": "画像 AUROC", "curve_recall": "閾値での再現率",
    "stage_supervised_head_(cross-fitting)": "教師ありヘッドを学習中(クロスフィット)",
})

# Inference page: large folders on the Ray cluster (ui/cluster_scoring.py)
EN.update({
    "cluster_offer": "{n} pictures: this folder can be scored on the Ray cluster at {address}.",
    "cluster_run": "Score on the Ray cluster",
    "cluster_done": "{n} pictures scored ({problems} could not be used). Results: {path}/pred_outputs.csv",
})
JA.update({
    "cluster_offer": "{n} 枚の画像があります。Ray クラスター ({address}) で判定できます。",
    "cluster_run": "Ray クラスターで判定",
    "cluster_done": "{n} 枚を判定しました(使用できない画像 {problems} 枚)。結果: {path}/pred_outputs.csv",
})

# Train page: the sealed hold-out (ui/holdout_view.py)
EN.update({
    "opt_holdout": "Sealed hold-out (share of the labelled test pictures)",
    "help_holdout": "Good and defect test pictures set aside before training (stratified by defect type, by the "
                    "seed): never used for the memory bank, the supervised head, the threshold or the "
                    "normalization, and scored by the final model at the end. Their figures are measured on "
                    "pictures the model never saw. 0 = no hold-out.",
    "holdout_suggest": "{n} defect pictures: enough for a sealed hold-out (e.g. 0.2), whose figures come from "
                       "pictures the model never saw.",
    "holdout_few": "{n} defect picture(s): a sealed hold-out is worth it from about {need}; below that it leaves "
                   "too few pictures to choose the threshold on.",
    "holdout_on": "Hold-out: {good} good and {defect} defect pictures set aside and measured at the end. Cost: "
                  "they are not used to choose the threshold (or to teach the supervised head): {left_good} good "
                  "and {left_defect} defect pictures remain for that.",
    "holdout_too_few": "This share leaves too few pictures: the hold-out and the remaining test pictures each need "
                       "at least {n} good and {n} defect pictures. Choose another share or add pictures.",
    "holdout_range": "Use 0 (no hold-out) or a share between {low} and {high}.",
})
JA.update({
    "opt_holdout": "封印したホールドアウト(ラベル付きテスト画像の割合)",
    "help_holdout": "学習の前に取り分ける良品・不良のテスト画像(不良の種類ごとに層別、シードで決定)。メモリバンク、"
                    "教師ありヘッド、閾値、正規化には一切使わず、最後に完成したモデルで判定します。その評価値は"
                    "モデルが一度も見ていない画像での値です。0 = 使わない。",
    "holdout_suggest": "不良画像が {n} 枚あります: 封印したホールドアウト(例: 0.2)を使えます。評価値を"
                       "モデルが見ていない画像で測れます。",
    "holdout_few": "不良画像 {n} 枚: ホールドアウトは {need} 枚程度から有効です。これより少ないと閾値を決める"
                   "画像が足りなくなります。",
    "holdout_on": "ホールドアウト: 良品 {good} 枚・不良 {defect} 枚を取り分け、最後に評価します。代わりに、"
                  "閾値の決定(と教師ありヘッドの学習)に使える画像が減ります: 残りは良品 {left_good} 枚・"
                  "不良 {left_defect} 枚です。",
    "holdout_too_few": "この割合では画像が足りません: ホールドアウトと残りのテスト画像の両方に、良品と不良が"
                       "それぞれ {n} 枚以上必要です。割合を変えるか画像を追加してください。",
    "holdout_range": "0(使わない)か、{low}〜{high} の割合を指定してください。",
})

# ---- jobs in worker processes, login and access (app side)
EN.update({
    "starting_worker": "starting the worker process…", "eta_total": "· about {s} s left",
    "queue_slot": "Waiting: position {n} in the queue, starts in about {s} s.",
    "stage_checking_images": "checking images", "stage_extracting_features": "extracting features",
    "stage_coreset": "choosing the memory bank", "stage_predicting": "scoring the test images",
    "stage_reading_masks": "reading masks", "stage_writing_outputs": "writing outputs", "stage_done": "done",
    "login_title": "Sign in", "login_password": "Password", "login_button": "Sign in",
    "login_wrong": "Wrong password.", "login_oidc": "Sign in with your organisation's account",
    "signed_in_as": "Signed in as {name}", "logout": "Sign out",
    "open_to_network": "This app is reachable from other machines and has no login: anyone on the network can see "
                       "and change every project. Configure a login (README, Access) or listen on 127.0.0.1 only.",
})
JA.update({
    "starting_worker": "ワーカープロセスを起動中…", "eta_total": "· 残り約 {s} 秒",
    "queue_slot": "待機中: 順番 {n} 番目、開始まで約 {s} 秒。",
    "stage_checking_images": "画像を確認中", "stage_extracting_features": "特徴を抽出中",
    "stage_coreset": "メモリバンクを選択中", "stage_predicting": "テスト画像を評価中",
    "stage_reading_masks": "マスクを読み込み中", "stage_writing_outputs": "結果を書き出し中", "stage_done": "完了",
    "login_title": "ログイン", "login_password": "パスワード", "login_button": "ログイン",
    "login_wrong": "パスワードが違います。", "login_oidc": "組織のアカウントでログイン",
    "signed_in_as": "{name} としてログイン中", "logout": "ログアウト",
    "open_to_network": "このアプリは他のマシンから接続でき、ログインがありません。"
                       "ネットワーク上の誰でも全プロジェクトを閲覧・変更できます。"
                       "ログインを設定する(README の Access)か、127.0.0.1 だけで待ち受けてください。",
})

# The core explains its input-shape choice in English (hamacho_core.preprocess); phrases in Japanese, longest first.
_REASON_JA = (
    ("the shape keep-aspect would give", "縦横比維持で得られるサイズ"),
    ("median native long side", "元画像の長辺の中央値"), ("median native size", "元画像サイズの中央値"),
    ("never upsampled", "拡大なし"), ("median aspect h/w", "縦横比(高さ/幅)の中央値"),
    ("sides rounded to multiples of", "各辺を次の倍数に丸め:"), ("across the middle 80% of the pictures",
                                                                "(中央 80% の画像)"),
    ("mixed aspect ratios", "縦横比がまちまち"), ("a square with the pixels of", "同じ画素数の正方形:"),
    ("overlapping tiles of", "重なりのあるタイル、各"), ("at most", "最大"), ("auto tiling", "自動タイル分割"),
    ("tiling on", "タイル分割オン"), ("scaled to a", "→ キャンバス"), ("canvas", ""), ("cut into", "を分割:"),
    ("auto: up to", "自動: 最大"), ("requested", "指定"), ("long side", "長辺"), ("square", "正方形"),
    ("(default)", "(既定)"), ("tiles", "タイル"), ("apart", "の開き"), ("over", "超"),
)


def explain(reason: str) -> str:
    """The core's input-shape reason in the session's language (numbers kept)."""
    if st.session_state.get("lang", DEFAULT_LANGUAGE) != "ja":
        return reason
    for english, japanese in _REASON_JA:
        reason = reason.replace(english, japanese)
    return reason


# reliability: imports checked at the door, server-folder roots
EN.update({
    "importing": "Checking and saving the pictures…",
    "server_roots": "Folders allowed for import: {roots}",
    "server_off": "Importing a folder of the server is off: the administrator sets HAMACHO_IMPORT_ROOTS to the "
                  "folders it may read. Upload the pictures or a ZIP instead.",
})
JA.update({
    "importing": "画像を確認して保存しています…",
    "server_roots": "読み込みを許可されたフォルダ: {roots}",
    "server_off": "サーバー上のフォルダの読み込みは無効です。管理者が HAMACHO_IMPORT_ROOTS に読み込み可能なフォルダを"
                  "設定します。画像または ZIP をアップロードしてください。",
})


EN.update(DECISIONS_EN)  # the decision tools' text (ui/i18n_decisions.py)
JA.update(DECISIONS_JA)
EN.update(MONITOR_EN)  # the Monitor page's text (ui/i18n_monitor.py)
JA.update(MONITOR_JA)
EN.update(LABELS_EN)  # the review loop's text (ui/i18n_labels.py)
JA.update(LABELS_JA)

STRINGS: dict[str, dict[str, str]] = {"en": EN, "ja": JA}


def translate(language: str, key: str, **values: object) -> str:
    """The text of ``key`` in ``language`` (English, then the key itself, when missing)."""
    text = STRINGS.get(language, EN).get(key) or EN.get(key) or key
    return text.format(**values) if values else text


def t(key: str, **values: object) -> str:
    """The text of ``key`` in the session's language."""
    return translate(st.session_state.get("lang", DEFAULT_LANGUAGE), key, **values)

# inference engines (hamacho_core.export)
EN.update({"opt_engine": "Engine", "help_engine": "PyTorch runs the run itself; ONNX Runtime and OpenVINO run its "
           "exported model on the CPU (exported into the run folder on first use, same scores within 1e-3)."})
JA.update({"opt_engine": "推論エンジン", "help_engine": "PyTorch は学習済みモデルをそのまま実行します。ONNX Runtime と "
           "OpenVINO はエクスポートしたモデルを CPU で実行します"
           "(初回にモデルフォルダへエクスポート、スコアの差は 1e-3 以内)。"})

# Inference page: long inferences as jobs in worker processes (ui/inference_view.py, ui/job_view.py)
EN.update({
    "inference_jobs": "Inference jobs", "no_inference_jobs": "No inference job yet.",
    "inference_queued": "{n} picture(s): inference {id} queued; it runs in a worker process (progress below).",
    "inference_folder_queued": "Inference {id} of the server folder queued; it runs in a worker process "
                               "(progress below).",
    "cluster_queued": "Scoring on the Ray cluster queued as job {id} (progress below).",
    "inference_job_done": "{n} picture(s) scored, {bad} judged defect ({s} s).", "show_results": "Show the results",
    "results_gone": "The results of this job are no longer on disk.",
    "job_failed": "Stopped with an error: {error}",
    "job_interrupted": "Interrupted: the server stopped before this job finished. Start it again.",
    "session_problems": "Pictures this inference left out", "stage_scoring": "scoring",
    "stage_inference_predicting": "scoring the pictures",
})
JA.update({
    "inference_jobs": "推論ジョブ", "no_inference_jobs": "推論ジョブはまだありません。",
    "inference_queued": "{n} 枚: 推論 {id} を登録しました。ワーカープロセスで実行します(進捗は下に表示)。",
    "inference_folder_queued": "サーバー上のフォルダの推論 {id} を登録しました。ワーカープロセスで実行します"
                               "(進捗は下に表示)。",
    "cluster_queued": "Ray クラスターでの判定をジョブ {id} として登録しました(進捗は下に表示)。",
    "inference_job_done": "{n} 枚を判定し、{bad} 枚を不良と判定しました({s} 秒)。", "show_results": "結果を表示",
    "results_gone": "このジョブの結果はもうディスクにありません。",
    "job_failed": "エラーで停止しました: {error}",
    "job_interrupted": "中断: このジョブが終わる前にサーバーが停止しました。もう一度開始してください。",
    "session_problems": "この推論で除外された画像",
    "stage_scoring": "判定中", "stage_inference_predicting": "画像を判定中",
})
