"""UI text of the review loop (relabel, history, refused imports, retrain with the corrections, data doctor), EN/JA.

Merged into ``ui.i18n.EN`` / ``JA`` by ``ui/i18n.py``.
"""

from __future__ import annotations

__all__ = ["LABELS_EN", "LABELS_JA"]

LABELS_EN: dict[str, str] = {
    "l_button": "Label", "l_now": "Now: {label}",
    "l_good": "good", "l_defect": "defect", "l_excluded": "exclude (unusable photo)",
    "l_choice": "This picture is", "l_type": "Defect type", "l_new_type": "new type…", "l_type_name": "New type name",
    "l_why": "Why (required to exclude)", "l_apply": "Apply", "l_undo": "Undo",
    "l_done": "{picture}: {before} → {after}.", "l_undone": "Undone: {picture} is {after} again.",
    "l_history": "Label history", "l_history_empty": "No label change yet.",
    "l_history_help": "Every relabel, added picture and undo of this project (also in <project>/history.jsonl and "
                      "in the report ZIP).",
    "l_col_when": "When (UTC)", "l_col_who": "Who", "l_col_picture": "Picture", "l_col_from": "From",
    "l_col_to": "To", "l_col_why": "Why", "l_col_sha": "SHA-256",
    "l_refused": "{n} refused file(s) kept from earlier imports", "l_dismiss": "Dismiss all",
    "l_add": "Add to the dataset as", "l_added": "Added to the dataset: {picture} ({after}).",
    "l_retrain": "Retrain with {n} change(s)",
    "l_retrain_help": "Starts training with this run's settings on the corrected data; when it is done the two runs "
                      "are compared side by side.",
    "l_retrain_queued": "Retraining queued ({id}). When it is done, Compare runs shows the two runs.",
    "l_compare_title": "Before and after the corrections",
    "l_compare_help": "Both runs judged against the corrected labels on the test pictures they share (a picture "
                      "that moved keeps its pairing).",
    "l_changes_between": "Label changes between the runs: {n}",
    "l_runs": "Before: run **{old}** · after: run **{new}**",
    "l_gone": "This picture is no longer in the dataset (removed outside the app).",
    "l_changed_verdicts": "Pictures whose verdict changed: {n}",
    "l_col_run": "Run", "l_col_auroc_diff": "AUROC − first run", "l_col_verdict_old": "Before",
    "l_col_verdict_new": "After", "l_col_truth": "Label now",
    "doc_title": "Data doctor", "doc_help": "Looks for problems before training: the same picture twice (also "
                 "across good/defect or train/test), good pictures unlike the others, defects that score like good, "
                 "empty or odd masks, odd sizes, brightness or blur. Each finding has a one-click fix.",
    "doc_features": "Also compare the pictures with the model's features",
    "doc_features_help": "Each good picture is scored against a bank built without it (5 folds, 128 px): slower.",
    "doc_run": "Examine the data", "doc_running": "Examining…",
    "doc_summary": "{n} pictures examined in {s} s: {found} finding(s).", "doc_heat": "where it differs",
    "doc_defect": "Mark as defect", "doc_good": "Mark as good", "doc_exclude": "Exclude",
    "doc_duplicate": "Same picture twice", "doc_near_duplicate": "Nearly the same picture twice",
    "doc_unlike_good": "Good picture unlike the others: is it really good?",
    "doc_defect_like_good": "Defect that scores like the good pictures: is the defect visible?",
    "doc_mask_empty": "Empty mask", "doc_mask_size": "Mask of another size than its picture",
    "doc_mask_large": "Mask covering most of the picture", "doc_odd_size": "Size far from the others",
    "doc_odd_channels": "Channels unlike the others", "doc_odd_brightness": "Brightness far from the others",
    "doc_blurred": "Blurred (much less sharp than the others)",
    "doc_across_good_and_defect": "one good, one defect", "doc_across_train_and_test": "across train and test",
    "doc_across_split_drawn": "both good: may land in train and test", "doc_across_same_label": "same label",
    # the Report page's wrong verdicts; drawing a defect's mask
    "l_wrong_title": "Wrong verdicts at the saved threshold: {n}",
    "l_wrong_help": "False alarms and misses of this run, the clearest first. A label error fixed here is in the "
                    "label history, which the report ZIP carries; retrain from the Threshold page.",
    "l_false_alarm": "false alarm", "l_missed": "missed",
    "l_draw": "Draw the defect (optional)",
    "l_draw_help": "Boxes or strokes over the picture become its mask (a 0/255 PNG in mask/<type>/, listed in the "
                   "label history; undo keeps it in excluded/mask/drawn/). A defect without a mask is fine too.",
    "l_draw_mode": "Draw", "l_draw_rect": "boxes", "l_draw_free": "free strokes",
}

LABELS_JA: dict[str, str] = {
    "l_button": "ラベル", "l_now": "現在: {label}",
    "l_good": "良品", "l_defect": "不良", "l_excluded": "除外(使えない写真)",
    "l_choice": "この画像は", "l_type": "不良の種類", "l_new_type": "新しい種類…", "l_type_name": "新しい種類の名前",
    "l_why": "理由(除外には必須)", "l_apply": "適用", "l_undo": "元に戻す",
    "l_done": "{picture}: {before} → {after}。", "l_undone": "元に戻しました: {picture} は再び {after} です。",
    "l_history": "ラベル変更の履歴", "l_history_empty": "ラベルの変更はまだありません。",
    "l_history_help": "このプロジェクトのラベル変更・追加した画像・取り消しのすべて"
                      "(<project>/history.jsonl とレポート ZIP にも記録)。",
    "l_col_when": "日時 (UTC)", "l_col_who": "変更者", "l_col_picture": "画像", "l_col_from": "変更前",
    "l_col_to": "変更後", "l_col_why": "理由", "l_col_sha": "SHA-256",
    "l_refused": "以前の取り込みで拒否されたファイル {n} 件", "l_dismiss": "すべて確認済みにする",
    "l_add": "データセットに追加:", "l_added": "データセットに追加しました: {picture}({after})。",
    "l_retrain": "{n} 件の変更で再学習",
    "l_retrain_help": "この学習と同じ設定で、修正後のデータで学習します。終わると 2 つの学習結果を並べて比較します。",
    "l_retrain_queued": "再学習を登録しました ({id})。終わると「学習結果の比較」に 2 つの結果が表示されます。",
    "l_compare_title": "修正の前と後",
    "l_compare_help": "両方の学習結果を、共通するテスト画像について修正後のラベルで評価しています"
                      "(移動した画像も対応付けたまま)。",
    "l_changes_between": "2 つの学習の間のラベル変更: {n} 件",
    "l_runs": "修正前: **{old}** · 修正後: **{new}**",
    "l_gone": "この画像はもうデータセットにありません(アプリの外で削除されました)。",
    "l_changed_verdicts": "判定が変わった画像: {n} 枚",
    "l_col_run": "学習結果", "l_col_auroc_diff": "AUROC − 1 つ目", "l_col_verdict_old": "修正前",
    "l_col_verdict_new": "修正後", "l_col_truth": "現在のラベル",
    "doc_title": "データ診断", "doc_help": "学習の前に問題を探します: 同じ画像の重複(良品と不良、学習とテストの"
                 "間も)、他と似ていない良品、良品のようなスコアの不良、空や異常なマスク、サイズ・明るさ・ぼけの外れ値。"
                 "見つかった問題はワンクリックで直せます。",
    "doc_features": "モデルの特徴量でも比較する",
    "doc_features_help": "各良品を、その画像を除いて作ったバンクで採点します(5 分割、128 px)。時間がかかります。",
    "doc_run": "データを診断", "doc_running": "診断中…",
    "doc_summary": "{n} 枚を {s} 秒で診断: {found} 件。", "doc_heat": "異なる箇所",
    "doc_defect": "不良にする", "doc_good": "良品にする", "doc_exclude": "除外",
    "doc_duplicate": "同じ画像が 2 枚", "doc_near_duplicate": "ほぼ同じ画像が 2 枚",
    "doc_unlike_good": "他と似ていない良品: 本当に良品ですか?",
    "doc_defect_like_good": "良品のようなスコアの不良: 不良は写っていますか?",
    "doc_mask_empty": "空のマスク", "doc_mask_size": "画像とサイズが違うマスク",
    "doc_mask_large": "画像の大部分を覆うマスク", "doc_odd_size": "サイズが他と大きく違う",
    "doc_odd_channels": "チャンネル数が他と違う", "doc_odd_brightness": "明るさが他と大きく違う",
    "doc_blurred": "ぼけている(他よりかなり不鮮明)",
    "doc_across_good_and_defect": "良品と不良", "doc_across_train_and_test": "学習とテストの間",
    "doc_across_split_drawn": "両方良品: 学習とテストに分かれうる", "doc_across_same_label": "同じラベル",
    # the Report page's wrong verdicts; drawing a defect's mask
    "l_wrong_title": "保存したしきい値で判定を誤った画像: {n} 枚",
    "l_wrong_help": "この学習結果の誤報と見逃し(はっきりしたものから)。ここで直したラベルはラベル変更の履歴に残り、"
                    "レポート ZIP にも入ります。再学習はしきい値ページから。",
    "l_false_alarm": "誤報", "l_missed": "見逃し",
    "l_draw": "不良の場所を描く(任意)",
    "l_draw_help": "画像の上に描いた矩形や線がマスクになります(mask/<種類>/ に 0/255 の PNG、ラベル変更の履歴に記録、"
                   "元に戻すと excluded/mask/drawn/ に残ります)。マスクなしの不良でもかまいません。",
    "l_draw_mode": "描き方", "l_draw_rect": "矩形", "l_draw_free": "フリーハンド",
}
