# lit configuration for hymir's FileCheck tests.
import os

import lit.formats

config.name = "hymir"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.hymir_build_dir, "test")

# hymir's tools first, then FileCheck, not and split-file from LLVM.
path = [config.hymir_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")]
config.environment["PATH"] = os.pathsep.join(path)
config.substitutions.append(("%hymir_src", config.hymir_source_dir))
# The CUDA toolkit (libdevice, ptxas) where the machine has one.
for var in ("CUDA_HOME", "CUDA_ROOT", "CUDA_PATH"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
config.substitutions.append(("%python", "python3"))

# ptxas (for cubin output) is optional: tests that need it say REQUIRES: ptxas.
# It counts only when it runs: a wrapper left behind by a removed toolkit
# does not.
import shutil
import subprocess


def _ptxas_runs(path):
    if not path or not os.access(path, os.X_OK):
        return False
    try:
        return subprocess.run([path, "--version"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


if _ptxas_runs(shutil.which("ptxas")) or _ptxas_runs("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("ptxas")
