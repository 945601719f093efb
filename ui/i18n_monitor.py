"""The Monitor page's text (EN/JA); merged into ``ui.i18n``."""

from __future__ import annotations

__all__ = ["MONITOR_EN", "MONITOR_JA"]

MONITOR_EN: dict[str, str] = {
    "page_monitor": "Monitor", "monitor_title": "Monitor the line",
    "monitor_intro": "Every prediction recorded from the API, the Inference page and `hamacho score --record`, per "
                     "run and per day or shift. Stored in {url}.",
    "monitor_empty": "Nothing recorded yet: predictions made through the API or the Inference page appear here.",
    "monitor_run": "Run", "monitor_group": "Per", "monitor_by_day": "day", "monitor_by_shift": "shift",
    "monitor_tz": "Time zone of the days",
    "monitor_latest": "Latest {period}: {text}",
    "drift_ok": "Scores look like at training time (drift index {psi} below {watch}: no change).",
    "drift_watch": "Scores have moved a little since training (drift index {psi}, between {watch} and {alarm}): "
                   "keep an eye on the camera, the lighting and the parts.",
    "drift_alarm": "Scores have clearly moved since training (drift index {psi} above {alarm}): check the camera, the "
                   "lighting and the parts before trusting the verdicts; retrain if the change is intended.",
    "drift_unknown": "Too few pictures to judge drift ({n} scored; at least {min} are needed, and {min_ref} good test "
                     "pictures at training).",
    "col_period": "period", "col_pictures": "pictures", "col_defect_rate": "defect rate (95 % interval)",
    "col_mean_score": "mean normalized score", "col_drift": "drift", "col_psi": "drift index (PSI)",
    "level_ok": "OK", "level_watch": "watch", "level_alarm": "ALARM", "level_unknown": "too few",
    "monitor_rate_chart": "Defect rate per period", "monitor_rate_axis": "defect rate",
    "monitor_dist_chart": "Normalized scores of {period} beside the test pictures at training",
    "monitor_dist_live": "{period} ({n} pictures)", "monitor_dist_good": "good test pictures at training",
    "monitor_dist_defect": "defective test pictures at training", "monitor_share": "share of pictures",
    "monitor_score_axis": "normalized score (0.5 = the run's threshold)",
    "monitor_method": "How these figures are made: defect rate = share of 'defect' verdicts, with its exact "
                      "(Clopper-Pearson) 95 % interval. Drift index = population stability index (PSI) of the raw "
                      "scores against the run's {n_ref} good test pictures at training (bins at their quantiles): "
                      "below {watch} no change, {watch}-{alarm} watch, above {alarm} alarm.",
    "monitor_period": "Open the pictures of", "monitor_gallery": "Pictures of {period}, most anomalous first",
    "monitor_gallery_more": "{shown} of {n} shown. The full list: GET /v1/results or the export below.",
    "monitor_not_kept": "Pictures are not kept (only the records): set HAMACHO_KEEP_PICTURES=1 to see them here.",
    "monitor_export": "Export these results (CSV)",
    "col_taken": "taken", "col_part": "part id", "col_name": "picture",
}

MONITOR_JA: dict[str, str] = {
    "page_monitor": "モニター", "monitor_title": "ラインのモニター",
    "monitor_intro": "API・推論ページ・`hamacho score --record` で記録したすべての判定を、"
                     "学習結果ごと・日またはシフトごとに表示します。保存先: {url}",
    "monitor_empty": "まだ記録がありません。API または推論ページで判定した結果がここに表示されます。",
    "monitor_run": "学習結果", "monitor_group": "集計単位", "monitor_by_day": "日", "monitor_by_shift": "シフト",
    "monitor_tz": "日付のタイムゾーン",
    "monitor_latest": "最新 {period}: {text}",
    "drift_ok": "スコアは学習時と同じ傾向です(ドリフト指標 {psi}、{watch} 未満: 変化なし)。",
    "drift_watch": "スコアが学習時から少しずれています(ドリフト指標 {psi}、{watch}〜{alarm}: 注意)。"
                   "カメラ・照明・部品に注意してください。",
    "drift_alarm": "スコアが学習時から明らかにずれています(ドリフト指標 {psi}、{alarm} 超: 警報)。判定を信頼する前に"
                   "カメラ・照明・部品を確認してください。意図した変更なら再学習してください。",
    "drift_unknown": "ドリフトを判断するには画像が少なすぎます({n} 枚。{min} 枚以上と、"
                     "学習時の良品テスト画像 {min_ref} 枚以上が必要です)。",
    "col_period": "期間", "col_pictures": "画像数", "col_defect_rate": "不良率(95 % 区間)",
    "col_mean_score": "正規化スコア平均", "col_drift": "ドリフト", "col_psi": "ドリフト指標 (PSI)",
    "level_ok": "正常", "level_watch": "注意", "level_alarm": "警報", "level_unknown": "判定不可",
    "monitor_rate_chart": "期間ごとの不良率", "monitor_rate_axis": "不良率",
    "monitor_dist_chart": "{period} の正規化スコアと学習時のテスト画像の比較",
    "monitor_dist_live": "{period}({n} 枚)", "monitor_dist_good": "学習時の良品テスト画像",
    "monitor_dist_defect": "学習時の不良テスト画像", "monitor_share": "画像の割合",
    "monitor_score_axis": "正規化スコア(0.5 = 学習結果のしきい値)",
    "monitor_method": "数値の求め方: 不良率 = 「不良」判定の割合と正確な (Clopper-Pearson) 95 % 区間。ドリフト指標 = "
                      "学習時の良品テスト画像 {n_ref} 枚の生スコアに対する母集団安定性指標 (PSI、区切りはその分位点): "
                      "{watch} 未満は変化なし、{watch}〜{alarm} は注意、{alarm} 超は警報。",
    "monitor_period": "画像を開く期間", "monitor_gallery": "{period} の画像(異常度の高い順)",
    "monitor_gallery_more": "{n} 枚中 {shown} 枚を表示。一覧は GET /v1/results または下のエクスポートで。",
    "monitor_not_kept": "画像は保存されていません(記録のみ)。"
                        "ここで見るには HAMACHO_KEEP_PICTURES=1 を設定してください。",
    "monitor_export": "この結果をエクスポート (CSV)",
    "col_taken": "撮影", "col_part": "部品 ID", "col_name": "画像",
}
