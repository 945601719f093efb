"""Start-up cost of the command line: the heavy libraries are imported by the commands that use them, not before.

No timing here (the machine is shared): the check is which modules a fresh interpreter has loaded.
"""

import json
import subprocess
import sys

from hamacho_core import choices
from hamacho_core.config import ACCELERATORS, SPLIT_RANGE, TASK_TYPES
from hamacho_core.data import DATA_FORMATS
from hamacho_core.detectors import DETECTORS
from hamacho_core.preprocess import MAX_SIDE, MIN_SIDE, RESIZE_MODES
from hamacho_core.tiling import TILING_MODES

HEAVY = ("torch", "sklearn", "cv2", "pandas", "matplotlib", "scipy", "timm", "fastapi", "ray", "onnxruntime",
         "openvino", "onnx", "streamlit", "uvicorn")

_PROBE = """
import json, sys
from click.testing import CliRunner
from hamacho_core.cli import main
runner = CliRunner()
outputs = {}
commands = sorted(main.commands)
for args in [["--help"], *[[name, "--help"] for name in commands],
             ["train", "--dataset-root", sys.argv[1], "--category", "missing"],
             ["inference", "--image-path", sys.argv[1], "--config-path", sys.argv[1] + "/missing"],
             ["train", "--no-such-option"]]:
    result = runner.invoke(main, args)
    outputs[" ".join(args)] = [result.exit_code, result.output]
print(json.dumps({"commands": commands, "outputs": outputs, "heavy": sorted(
    m for m in sys.modules if m.split(".")[0] in HEAVY_NAMES)}))
""".replace("HEAVY_NAMES", repr(HEAVY))


def test_cli_help_and_early_errors_import_no_heavy_library(tmp_path) -> None:
    found = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path)], capture_output=True, text=True, check=True)
    result = json.loads(found.stdout.strip().splitlines()[-1])
    assert {"train", "inference", "demo"} <= set(result["commands"])
    outputs = result["outputs"]
    assert outputs["--help"][0] == 0 and "inference" in outputs["--help"][1]
    for name in result["commands"]:
        assert outputs[f"{name} --help"][0] == 0, outputs[f"{name} --help"]
    assert "dataset folder not found" in outputs[f"train --dataset-root {tmp_path} --category missing"][1]
    assert "no trained run" in outputs[f"inference --image-path {tmp_path} --config-path {tmp_path}/missing"][1]
    assert outputs["train --no-such-option"][0] == 2
    assert result["heavy"] == [], f"imported before any work: {result['heavy']} (import them inside the command)"


def test_choice_lists_are_the_ones_the_engine_uses() -> None:
    assert tuple(DETECTORS) == choices.DETECTOR_NAMES
    assert (DATA_FORMATS, RESIZE_MODES, TILING_MODES) == (choices.DATA_FORMATS, choices.RESIZE_MODES,
                                                          choices.TILING_MODES)
    assert (ACCELERATORS, SPLIT_RANGE, TASK_TYPES, MIN_SIDE, MAX_SIDE) == (
        choices.ACCELERATORS, choices.SPLIT_RANGE, choices.TASK_TYPES, choices.MIN_SIDE, choices.MAX_SIDE)
    from hamacho_core.cli import main
    from hamacho_core.export.engines import INFERENCE_ENGINES as RUN_ENGINES
    from hamacho_core.export.exporter import EXPORT_FORMATS
    from hamacho_core.scale.ray_engine import SCORE_ENGINES

    assert (RUN_ENGINES, EXPORT_FORMATS, SCORE_ENGINES) == (choices.INFERENCE_ENGINES, choices.EXPORT_FORMATS,
                                                             choices.SCORE_ENGINES)

    def offered(command: str, option: str) -> tuple[str, ...]:
        [param] = [p for p in main.commands[command].params if option in p.opts]
        return tuple(param.type.choices)

    assert offered("inference", "--engine") == choices.INFERENCE_ENGINES
    assert offered("export", "--format") == choices.EXPORT_FORMATS
    assert offered("score", "--engine") == choices.SCORE_ENGINES


def test_inference_path_imports_neither_scikit_learn_nor_matplotlib() -> None:
    code = ("import sys; import hamacho_core.pipeline, hamacho_core.persistence, hamacho_core.report; "
            "print(sorted(m for m in ('sklearn', 'matplotlib') if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip().splitlines()[-1] == "[]"



def test_job_manager_records_and_train_settings_load_no_engine() -> None:
    """A job manager, a worker before it runs the trainer, the job records and the atomic writes need neither torch
    nor OpenCV: the app's job side and the API start without the engine, and a stand-in job's worker starts fast."""
    code = ("import sys; import hamacho_core.jobs, hamacho_core.jobs.worker, hamacho_core.config, "
            "hamacho_core.atomic, hamacho_core.staging; "
            "print(sorted(m for m in ('torch', 'cv2', 'sklearn', 'pandas') if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip().splitlines()[-1] == "[]"

_DYNAMO_PROBE = """
import json, sys, torch
real_disable = torch.compiler.disable
from hamacho_core.backbone import create_feature_extractor
extractor = create_feature_extractor()
features = extractor(torch.zeros(1, 3, 64, 64))
loaded_after_build = "torch._dynamo" in sys.modules
roi_align = sys.modules["torchvision.ops.roi_align"]  # holds the stand-in's function
supported = roi_align.is_compile_supported("cpu")
compiled = torch.compile(lambda x: x * 2, backend="eager")(torch.ones(2)).tolist()
print(json.dumps({"loaded_after_build": loaded_after_build, "disable_restored": torch.compiler.disable is real_disable,
                  "shapes": [list(f.shape) for f in features], "supported": supported, "compiled": compiled}))
"""


def test_building_a_backbone_does_not_import_dynamo_and_torch_compile_still_works() -> None:
    found = subprocess.run([sys.executable, "-c", _DYNAMO_PROBE], capture_output=True, text=True, check=True)
    result = json.loads(found.stdout.strip().splitlines()[-1])
    assert result["loaded_after_build"] is False  # 2-3 s and 160-190 MB saved in every process
    assert result["disable_restored"] is True
    assert result["shapes"] == [[1, 40, 8, 8], [1, 112, 4, 4]]
    assert result["supported"] is True  # the stand-in reached the real Dynamo when called
    assert result["compiled"] == [2.0, 2.0]
