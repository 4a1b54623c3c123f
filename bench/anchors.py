"""Third-party anchors timed beside hymir in the same GPU-host call:
flash-linear-attention's chunk_simple_gla (lightning prefill) and
fused_recurrent_simple_gla (one decode step), and Liger-Kernel's
LigerFusedLinearGRPOLoss with loss_type="cispo".

Neither project is vendored: their public sources are copied, unmodified, into
a folder the caller names with HYMIR_ANCHOR_SRC (a directory holding `fla/` and
`liger_kernel/`). Every loader returns None with a printed reason when the
source or one of its dependencies is missing, so a benchmark prints the row as
absent instead of failing.
"""
import importlib
import os
import sys
import types


def _source_dir():
    src = os.environ.get("HYMIR_ANCHOR_SRC")
    if not src or not os.path.isdir(src):
        print("anchors: HYMIR_ANCHOR_SRC is not set to a folder; third-party anchors skipped")
        return None
    if src not in sys.path:
        sys.path.insert(0, src)
    return src


def _package_without_init(name, path):
    """Registers `name` as a package rooted at `path` without running its
    __init__ (whose eager imports can pull dependencies the anchor itself
    does not need, such as einops)."""
    module = types.ModuleType(name)
    module.__path__ = [path]
    sys.modules[name] = module
    return module


def load_fla():
    """(chunk_simple_gla, fused_recurrent_simple_gla) or None."""
    src = _source_dir()
    if src is None:
        return None
    try:
        chunk = importlib.import_module("fla.ops.simple_gla.chunk")
        recurrent = importlib.import_module("fla.ops.simple_gla.fused_recurrent")
    except Exception as first:  # noqa: BLE001 - any import failure
        print("anchors: fla's package import failed (%s); retrying without fla.ops.__init__" % first)
        for key in [k for k in sys.modules if k == "fla" or k.startswith("fla.")]:
            del sys.modules[key]
        try:
            _package_without_init("fla", os.path.join(src, "fla"))
            _package_without_init("fla.ops", os.path.join(src, "fla", "ops"))
            _package_without_init("fla.ops.simple_gla", os.path.join(src, "fla", "ops", "simple_gla"))
            chunk = importlib.import_module("fla.ops.simple_gla.chunk")
            recurrent = importlib.import_module("fla.ops.simple_gla.fused_recurrent")
        except Exception as second:  # noqa: BLE001
            print("anchors: flash-linear-attention unavailable: %s" % second)
            return None
    return chunk.chunk_simple_gla, recurrent.fused_recurrent_simple_gla


def load_liger_grpo():
    """The LigerFusedLinearGRPOLoss class, or None."""
    src = _source_dir()
    if src is None:
        return None
    try:
        module = importlib.import_module("liger_kernel.chunked_loss.grpo_loss")
    except Exception as first:  # noqa: BLE001
        print("anchors: liger's package import failed (%s); retrying without package __init__" % first)
        for key in [k for k in sys.modules if k == "liger_kernel" or k.startswith("liger_kernel.")]:
            del sys.modules[key]
        try:
            _package_without_init("liger_kernel", os.path.join(src, "liger_kernel"))
            _package_without_init("liger_kernel.chunked_loss",
                                  os.path.join(src, "liger_kernel", "chunked_loss"))
            module = importlib.import_module("liger_kernel.chunked_loss.grpo_loss")
        except Exception as second:  # noqa: BLE001
            print("anchors: Liger-Kernel unavailable: %s" % second)
            return None
    return module.LigerFusedLinearGRPOLoss
