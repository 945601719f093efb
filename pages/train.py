"""Train: options with defaults and help, the input shape and bank size before starting, background jobs."""

from __future__ import annotations

import streamlit as st

from hamacho_core.config import SPLIT_RANGE
from hamacho_core.detectors import DETECTORS
from hamacho_core.detectors.patchcore import DEFAULT_MAX_BANK_SIZE
from hamacho_core.preprocess import MAX_SIDE, MIN_SIDE, RESIZE_MODES
from hamacho_core.tiling import TILING_MODES
from ui.dataset_view import dataset_of
from ui.holdout_view import holdout_control
from ui.i18n import explain, t
from ui.job_view import jobs_panel
from ui.router import ensure_routed
from ui.state import get_manager, require_project
from ui.supervised_view import supervised_switch
from ui.training import BACKBONES, estimate, make_config
from ui.widgets import flash, show_errors, show_flash

ensure_routed()  # a bookmarked page opened first on a fresh server runs the router itself

project = require_project()
manager = get_manager()
st.title(t("train_title"))
show_flash()

left, right = st.columns([3, 2])
with left:
    model = st.selectbox(t("opt_model"), list(DETECTORS), help=t("help_model"), key="opt_model")
    backbone = st.selectbox(t("opt_backbone"), BACKBONES, help=t("help_backbone"), key="opt_backbone")
    c1, c2 = st.columns(2)
    resize = c1.radio(t("opt_resize"), RESIZE_MODES, help=t("help_resize"), key="opt_resize",
                      format_func=lambda v: t(f"resize_{v}"))
    tiling = c1.radio(t("opt_tiling"), TILING_MODES, help=t("help_tiling"), key="opt_tiling",
                      format_func=lambda v: t(f"tiling_{v}"), horizontal=True)
    auto = c2.checkbox(t("opt_auto_size"), value=True, help=t("help_auto_size"), key="opt_auto")
    size = c2.number_input(t("opt_image_size"), MIN_SIDE, MAX_SIDE, 256, 32, disabled=auto, help=t("help_image_size"),
                           key="opt_size")
    c1, c2, c3 = st.columns(3)
    coreset = c1.number_input(t("opt_coreset"), 0.001, 1.0, 0.1, 0.01, format="%.3f", help=t("help_coreset"),
                              disabled=model != "patchcore", key="opt_coreset")
    bank = c2.number_input(t("opt_bank"), 100, 1_000_000, DEFAULT_MAX_BANK_SIZE, 1024, help=t("help_bank"),
                           disabled=model != "patchcore", key="opt_bank")
    batch = c3.number_input(t("opt_batch"), 1, 256, 8, help=t("help_batch"), key="opt_batch")
    c1, c2, c3 = st.columns(3)
    split = c1.number_input(t("opt_split"), max(0.05, SPLIT_RANGE[0]), min(0.9, SPLIT_RANGE[1]), 0.2, 0.05,
                            help=t("help_split"), key="opt_split")
    seed = c2.number_input(t("opt_seed"), 0, 2**31 - 1, 420, help=t("help_seed"), key="opt_seed")
    good_only = c3.checkbox(t("opt_good_only"), help=t("help_good_only"), key="opt_good_only")
    write_csv = st.checkbox(t("opt_csv"), value=True, help=t("help_csv"), key="opt_csv")

with right, show_errors():
    dataset = dataset_of(project, float(split), int(seed), good_only)
    supervised = supervised_switch(dataset, left, good_only)
    holdout = holdout_control(dataset, left, int(seed), good_only)
    if dataset is not None:
        counts = dataset.counts()
        st.markdown(t("split_counts", train=counts.pop("train/good"),
                      test=", ".join(f"{t('good') if k == 'test/good' else k.removeprefix('test/')} {v}"
                                     for k, v in counts.items())))
        found = estimate(dataset, model, None if auto else int(size), resize, float(coreset), int(bank), tiling,
                         write_csv=write_csv)
        st.info(t("shape_info", h=found.shape.height, w=found.shape.width, reason=explain(found.shape.why)))
        grid = found.shape.tiles
        if grid is not None:
            st.info(t("tiles_info", n=grid.count, rows=grid.rows, cols=grid.cols, th=grid.tile[0], tw=grid.tile[1]))
        st.info(t("bank_info" if model == "patchcore" else "padim_info", bank=f"{found.bank:,}",
                  candidates=f"{found.candidates:,}"))
        st.caption(t("time_info", minutes=f"{max(found.seconds / 60, 0.1):.1f}"))
        if found.csv_bytes > 100_000_000:
            st.caption(t("csv_size", gb=f"{found.csv_bytes / 1e9:.1f}"))
        if dataset.problems:
            st.warning(t("n_problems", n=len(dataset.problems)))
        if st.button(t("start"), type="primary", icon=":material/play_arrow:", key="start"):
            config = make_config(project, model=model, backbone=backbone, resize=resize, tiling=tiling,
                                 image_size=None if auto else int(size), coreset_ratio=float(coreset),
                                 max_bank_size=int(bank), batch_size=int(batch), split=float(split), seed=int(seed),
                                 no_bad_mode=good_only, write_csv=write_csv, supervised=supervised,
                                 holdout_split=holdout)
            job = manager.submit(project, config, estimated_seconds=found.seconds, stage_plan=found.stages)
            flash(t("queued", id=job.id))
            st.rerun()

st.subheader(t("jobs"))
jobs_panel(manager, project)
