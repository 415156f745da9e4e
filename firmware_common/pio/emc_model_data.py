# PlatformIO extra_script of the examples: the model in flash.
#   custom_emc_model = ../../emc/data/nncase_v0.1_iris_v3.kmodel      (relative to the project)
#   extra_scripts = pre:../../firmware_common/pio/emc_model_data.py
# Runs `emc export-c MODEL -o $BUILD_DIR/emc_model/model_data.c` (the convertor must be installed in
# the Python that runs PlatformIO: pip install emc, or `pio pkg exec`'s penv) when the model is newer
# than the generated file, puts model_data.h on the include path and compiles model_data.c.
# python -m emc.boards does the same from the same option (docs/boards.md).
import os
import subprocess

Import("env")  # noqa: F821  (SCons)

model = env.GetProjectOption("custom_emc_model", "")  # noqa: F821
if model:
    src = os.path.join(env.subst("$PROJECT_DIR"), model)  # noqa: F821
    out_dir = os.path.join(env.subst("$BUILD_DIR"), "emc_model")  # noqa: F821
    out = os.path.join(out_dir, "model_data.c")
    if not os.path.isfile(out) or os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(out_dir, exist_ok=True)
        subprocess.check_call([env.subst("$PYTHONEXE"), "-m", "emc.cli", "export-c", src, "-o", out])  # noqa: F821
    env.Append(CPPPATH=[out_dir])  # noqa: F821
    env.BuildSources(os.path.join("$BUILD_DIR", "emc_model_obj"), out_dir)  # noqa: F821
