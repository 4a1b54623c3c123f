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
config.substitutions.append(("%python", "python3"))
