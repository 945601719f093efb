"""UI text of the decision tools (intervals, costs, constraints, per type, runs side by side), EN and JA.

Merged into ``ui.i18n.EN`` / ``JA`` by ``ui/i18n.py``; kept apart so the decision tools' strings stay together.
"""

from __future__ import annotations

__all__ = ["DECISIONS_EN", "DECISIONS_JA"]

DECISIONS_EN: dict[str, str] = {
    "d_source": "source", "d_source_fitted": "fitted", "d_source_cross_fitted": "cross-fitted",
    "d_source_hold_out": "hold-out",
    "d_prov_fitted": "Fitted: the threshold was chosen on these {n} pictures, so these figures are optimistic "
                     "(too few pictures of a class to cross-fit).",
    "d_prov_cross_fitted": "Cross-fitted: each of these {n} pictures is judged by a threshold (and supervised "
                           "head) chosen on the other {folds} folds only, at every threshold.",
    "d_prov_hold_out": "Hold-out: measured on {n} pictures the model never saw.",
    "d_fitted_line": "Fitted on these pictures (threshold chosen on them, optimistic): F1 {f1}, precision {p}, "
                     "recall {r}.",
    "d_range_help": "95 % interval of the headline figures (cross-fitted or hold-out): exact binomial "
                    "(Clopper-Pearson) for proportions, stratified bootstrap (1,000 resamples) for F1, AUROC and "
                    "costs, with exact bounds where every resample agrees (never a zero width).",
    "d_false_alarm_rate": "False-alarm rate",
    "d_auroc": "AUROC",
    "d_recall_sentence": "Recall {recall} ({low}–{high}): with {n} defect pictures, a miss rate up to {miss} "
                         "cannot be ruled out.",
    "d_width_label": "Interval width wanted",
    "d_width_help": "How narrow the recall interval should be; the answer assumes the recall stays as it is.",
    "d_width_done": "The recall interval is already narrower than {width}.",
    "d_width_needed": "About **{n}** defect pictures would bring the recall interval under {width} wide.",
    "d_width_never": "No practical number of defect pictures brings the interval under {width}.",
    "d_band": "95 % band",
    "d_tab_costs": "Costs", "d_tab_constraints": "Constraints", "d_tab_types": "Per defect type",
    "d_tab_compare": "Compare runs",
    "d_costs_intro": "What does a threshold cost per 1,000 parts? Enter the cost of a missed defect, of a false "
                     "alarm (re-inspection) and the defect rate on the line.",
    "d_cost_miss": "Cost of a missed defect", "d_cost_false_alarm": "Cost of a false alarm",
    "d_defect_rate": "Defect rate on the line", "d_rate_unit": "Unit",
    "d_rate_unit_help": "/1,000: defective parts per 1,000 parts; ppm: per million parts.",
    "d_cost_sentence": "At {threshold}: per 1,000 parts, about {fa} false alarms ({fa_low}–{fa_high}) and "
                       "{esc} escapes ({esc_low}–{esc_high}); expected cost {cost} ({cost_low}–{cost_high}).",
    "d_cheapest": "Cheapest threshold **{threshold}** (bootstrap {low}–{high}).",
    "d_use": "Use this threshold", "d_cost_title": "Expected cost per 1,000 parts",
    "d_cost_axis": "cost per 1,000 parts", "d_cost_curve": "expected cost", "d_cheapest_point": "cheapest",
    "d_current_point": "current threshold",
    "d_costs_given": "Costs: a missed defect {miss}, a false alarm {fa}, defect rate {rate} per 1,000 parts.",
    "d_costs_saved_note": "Saving the threshold also keeps these costs with the run (the report states them).",
    "d_min_recall": "Highest threshold with recall ≥", "d_max_fa": "Lowest threshold with false-alarm rate ≤",
    "d_constraint_found": "Threshold **{threshold}**: recall {recall}, false-alarm rate {fa}.",
    "d_constraint_none": "No threshold meets this on the test pictures.",
    "d_col_type": "defect type", "d_col_caught": "caught", "d_col_recall": "recall (95 %)",
    "d_col_pixel_recall": "pixel recall", "d_col_pixel_precision": "pixel precision", "d_col_iou": "pixel IoU",
    "d_col_folder": "good folder", "d_col_false_alarms": "false alarms", "d_col_fa_rate": "rate (95 %)",
    "d_types_title": "Recall per defect type", "d_folders_title": "False alarms per good folder",
    "d_compare_intro": "Pick two or more runs of this project scored on the same test pictures.",
    "d_compare_pick": "Runs to compare", "d_compare_need_two": "Pick at least two runs.",
    "d_compare_differ": "The runs' test pictures differ: compared on the {n} pictures they share.",
    "d_compare_same": "Same {n} test pictures in every run.",
    "d_col_run": "run", "d_col_threshold": "saved threshold", "d_col_auroc_diff": "AUROC − first run (95 %)",
    "d_disagree_title": "Pictures where the runs disagree ({n})",
    "d_col_picture": "picture", "d_col_truth": "truth",
    "d_filter_type": "Defect type", "d_filter_outcome": "Outcome", "d_all": "all",
    "d_gallery_empty": "No picture matches this filter.",
    "d_report_title": "Decision figures", "d_report_intervals": "At the saved threshold {threshold}",
    "d_figure": "figure", "d_value": "value", "d_interval": "95 % interval", "d_counts": "counts",
    "d_precision": "precision", "d_recall": "recall", "d_accuracy": "accuracy", "d_f1": "F1",
}

DECISIONS_JA: dict[str, str] = {
    "d_source": "出所", "d_source_fitted": "学習時", "d_source_cross_fitted": "クロスフィット",
    "d_source_hold_out": "ホールドアウト",
    "d_prov_fitted": "学習時の値: しきい値をこの {n} 枚で決めたため、楽観的な値です (クロスフィットには各クラス "
                     "2 枚以上が必要)。",
    "d_prov_cross_fitted": "クロスフィット: この {n} 枚の各画像を、他の {folds} 分割だけで決めたしきい値 "
                           "(と教師ありヘッド) で判定した値です (どのしきい値でも)。",
    "d_prov_hold_out": "ホールドアウト: モデルが一度も見ていない {n} 枚で測った値です。",
    "d_fitted_line": "この画像で決めたしきい値での値 (楽観的): F1 {f1}、適合率 {p}、再現率 {r}。",
    "d_range_help": "見出しの値 (クロスフィットまたはホールドアウト) の 95 % 区間: 割合は正確な二項区間 "
                    "(Clopper-Pearson)、F1・AUROC・コストは層別ブートストラップ (1,000 回)。すべての再標本が一致する"
                    "ところは正確な限界を使います (幅 0 にはなりません)。",
    "d_false_alarm_rate": "誤報率",
    "d_auroc": "AUROC",
    "d_recall_sentence": "再現率 {recall}({low}–{high}): 不良画像 {n} 枚では、見逃し率 {miss} までを否定できません。",
    "d_width_label": "求める区間の幅",
    "d_width_help": "再現率の区間をどこまで狭めたいか。再現率が今のままと仮定して答えます。",
    "d_width_done": "再現率の区間はすでに {width} より狭くなっています。",
    "d_width_needed": "不良画像が約 **{n}** 枚あれば、再現率の区間の幅が {width} を下回ります。",
    "d_width_never": "現実的な枚数では区間の幅が {width} を下回りません。",
    "d_band": "95 % 帯",
    "d_tab_costs": "コスト", "d_tab_constraints": "条件", "d_tab_types": "不良の種類別",
    "d_tab_compare": "学習結果の比較",
    "d_costs_intro": "しきい値ごとに 1,000 個あたりいくらかかるか。見逃し 1 件のコスト、誤報 1 件のコスト (再検査)、"
                     "ラインの不良率を入力してください。",
    "d_cost_miss": "見逃し 1 件のコスト", "d_cost_false_alarm": "誤報 1 件のコスト",
    "d_defect_rate": "ラインの不良率", "d_rate_unit": "単位",
    "d_rate_unit_help": "/1,000: 1,000 個あたりの不良数、ppm: 100 万個あたり。",
    "d_cost_sentence": "{threshold} では 1,000 個あたり、誤報 約 {fa} 件({fa_low}–{fa_high})、見逃し {esc} 件"
                       "({esc_low}–{esc_high})、期待コスト {cost}({cost_low}–{cost_high})。",
    "d_cheapest": "最もコストの低いしきい値 **{threshold}**(ブートストラップ {low}–{high})。",
    "d_use": "このしきい値を使う", "d_cost_title": "1,000 個あたりの期待コスト",
    "d_cost_axis": "1,000 個あたりのコスト", "d_cost_curve": "期待コスト", "d_cheapest_point": "最小コスト",
    "d_current_point": "現在のしきい値",
    "d_costs_given": "コスト: 見逃し {miss}、誤報 {fa}、不良率 1,000 個あたり {rate}。",
    "d_costs_saved_note": "しきい値を保存すると、このコストも学習結果に保存されます (レポートに記載)。",
    "d_min_recall": "再現率が次以上となる最大のしきい値", "d_max_fa": "誤報率が次以下となる最小のしきい値",
    "d_constraint_found": "しきい値 **{threshold}**: 再現率 {recall}、誤報率 {fa}。",
    "d_constraint_none": "テスト画像ではこの条件を満たすしきい値がありません。",
    "d_col_type": "不良の種類", "d_col_caught": "検出", "d_col_recall": "再現率 (95 %)",
    "d_col_pixel_recall": "画素再現率", "d_col_pixel_precision": "画素適合率", "d_col_iou": "画素 IoU",
    "d_col_folder": "良品フォルダ", "d_col_false_alarms": "誤報", "d_col_fa_rate": "誤報率 (95 %)",
    "d_types_title": "不良の種類別の再現率", "d_folders_title": "良品フォルダ別の誤報",
    "d_compare_intro": "同じテスト画像で評価した、このプロジェクトの学習結果を 2 つ以上選んでください。",
    "d_compare_pick": "比較する学習結果", "d_compare_need_two": "学習結果を 2 つ以上選んでください。",
    "d_compare_differ": "テスト画像が学習結果ごとに異なります: 共通の {n} 枚で比較しています。",
    "d_compare_same": "どの学習結果も同じテスト画像 {n} 枚です。",
    "d_col_run": "学習結果", "d_col_threshold": "保存済みしきい値", "d_col_auroc_diff": "AUROC − 最初の結果 (95 %)",
    "d_disagree_title": "判定が分かれた画像 ({n})",
    "d_col_picture": "画像", "d_col_truth": "正解",
    "d_filter_type": "不良の種類", "d_filter_outcome": "結果", "d_all": "すべて",
    "d_gallery_empty": "この条件に合う画像はありません。",
    "d_report_title": "判断のための数値", "d_report_intervals": "保存済みしきい値 {threshold} での値",
    "d_figure": "指標", "d_value": "値", "d_interval": "95 % 区間", "d_counts": "件数",
    "d_precision": "適合率", "d_recall": "再現率", "d_accuracy": "正解率", "d_f1": "F1",
}
