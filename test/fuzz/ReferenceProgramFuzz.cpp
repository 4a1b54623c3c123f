//===- ReferenceProgramFuzz.cpp - libFuzzer target: reference programs ----===//
//
// Builds a module around one entry whose reference program comes from the
// fuzzer's bytes (value kinds and shapes, argument ids and names, results,
// ops named from the evaluator's table or not, operand and result ids,
// attributes, constant data), runs validateModule on it, and when it passes,
// evaluates the program on small inputs of the entry's shapes. Both must
// answer with a status: a crash, an abort, an escaped exception or a
// sanitizer report is a finding. Shapes stay small (dims up to 4) so that a
// valid program cannot ask for much memory.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"
#include "hymir/Runtime/Reference.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

const char *const kOpNames[] = {"hymir.lightning_attention",
                                "hymir.softmax_attention",
                                "hymir.rope",
                                "hymir.rms_norm",
                                "hymir.linear",
                                "hymir.embedding",
                                "hymir.moe",
                                "hymir.cispo_loss",
                                "hymir.token_logprobs",
                                "hymir.top_k",
                                "hymir.routed_experts",
                                "arith.addf",
                                "arith.mulf",
                                "arith.divf",
                                "arith.negf",
                                "arith.extf",
                                "math.exp",
                                "math.rsqrt",
                                "arith.constant",
                                "tensor.dim",
                                "tensor.splat",
                                "tensor.expand_shape",
                                "tensor.collapse_shape",
                                "tensor.extract_slice",
                                "no.such_op",
                                ""};
const char *const kAttrNames[] = {
    "epsilon", "block_size",    "top_k", "renormalize", "causal",
    "scale",   "rotary_dim",    "theta", "offsets",     "sizes",
    "strides", "reassociation", "k",     "value",       ""};
const char *const kArgNames[] = {"x", "w", "ids", "y", ""};

std::vector<int64_t> smallShape(FuzzedDataProvider &fdp) {
  std::vector<int64_t> shape(fdp.ConsumeIntegralInRange<size_t>(0, 4));
  for (int64_t &d : shape)
    d = fdp.ConsumeIntegralInRange<int64_t>(-2, 4);
  return shape;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  hymir::ModuleDesc module;
  module.target = hymir::Target::Cpu;
  module.code.push_back({hymir::CodeFormat::HostSharedObject, {0x7f}, {}});
  hymir::EntryDesc entry;
  entry.name = "f";
  // Inputs x (f32), w (f32) and ids (i32), output y (f32): static shapes.
  const char *inputNames[] = {"x", "w", "ids"};
  for (int i = 0; i < 3; ++i) {
    hymir::TensorSpecDesc spec;
    spec.name = inputNames[i];
    spec.dtype = i == 2 ? hymir::DType::I32 : hymir::DType::F32;
    for (size_t d = fdp.ConsumeIntegralInRange<size_t>(0, 3); d > 0; --d)
      spec.shape.push_back(
          hymir::SizeExprSpec::of(fdp.ConsumeIntegralInRange<int64_t>(1, 4)));
    entry.inputs.push_back(spec);
  }
  hymir::TensorSpecDesc out;
  out.name = "y";
  out.dtype = hymir::DType::F32;
  entry.outputs.push_back(out);

  hymir::RefProgramDesc program;
  size_t values = fdp.ConsumeIntegralInRange<size_t>(0, 12);
  for (size_t v = 0; v < values; ++v)
    program.values.push_back({static_cast<hymir::RefValueKind>(
                                  fdp.ConsumeIntegralInRange<int>(0, 3)),
                              smallShape(fdp)});
  auto valueId = [&]() {
    return fdp.ConsumeIntegralInRange<uint32_t>(0, values + 1);
  };
  for (size_t a = fdp.ConsumeIntegralInRange<size_t>(0, 4); a > 0; --a) {
    program.arguments.push_back(valueId());
    program.argumentNames.push_back(
        kArgNames[fdp.ConsumeIntegralInRange<size_t>(0, 4)]);
  }
  for (size_t r = fdp.ConsumeIntegralInRange<size_t>(0, 2); r > 0; --r)
    program.results.push_back(valueId());
  for (size_t o = fdp.ConsumeIntegralInRange<size_t>(0, 6); o > 0; --o) {
    hymir::RefOpDesc op;
    op.name = kOpNames[fdp.ConsumeIntegralInRange<size_t>(
        0, sizeof(kOpNames) / sizeof(kOpNames[0]) - 1)];
    for (size_t n = fdp.ConsumeIntegralInRange<size_t>(0, 6); n > 0; --n)
      op.operands.push_back(valueId());
    for (size_t n = fdp.ConsumeIntegralInRange<size_t>(0, 4); n > 0; --n)
      op.results.push_back(valueId());
    for (size_t n = fdp.ConsumeIntegralInRange<size_t>(0, 3); n > 0; --n) {
      hymir::RefAttrDesc attr;
      attr.name = kAttrNames[fdp.ConsumeIntegralInRange<size_t>(
          0, sizeof(kAttrNames) / sizeof(kAttrNames[0]) - 1)];
      attr.intValue = fdp.ConsumeIntegral<int64_t>();
      attr.floatValue = fdp.ConsumeFloatingPoint<double>();
      for (size_t k = fdp.ConsumeIntegralInRange<size_t>(0, 4); k > 0; --k)
        attr.ints.push_back(fdp.ConsumeIntegral<int64_t>());
      op.attrs.push_back(attr);
    }
    for (size_t k = fdp.ConsumeIntegralInRange<size_t>(0, 4); k > 0; --k)
      op.data.push_back(fdp.ConsumeFloatingPoint<double>());
    for (size_t k = fdp.ConsumeIntegralInRange<size_t>(0, 4); k > 0; --k)
      op.intData.push_back(fdp.ConsumeIntegral<int64_t>());
    program.ops.push_back(op);
  }
  entry.reference = program;
  module.entries.push_back(entry);

  if (!hymir::validateModule(module, "fuzz").ok())
    return 0;
  // A valid program: evaluate it on inputs of the entry's shapes.
  std::vector<hymir::ReferenceValue> args;
  for (size_t a = 0; a < program.arguments.size(); ++a) {
    const hymir::TensorSpecDesc *spec = nullptr;
    for (const hymir::TensorSpecDesc &in : entry.inputs)
      if (in.name == program.argumentNames[a])
        spec = &in;
    if (!spec)
      return 0;
    std::vector<int64_t> shape;
    for (const hymir::SizeExprSpec &d : spec->shape)
      shape.push_back(d.constant);
    if (spec->dtype == hymir::DType::I32) {
      hymir::oracle::IntTensor t;
      t.shape = shape;
      int64_t n = 1;
      for (int64_t d : shape)
        n *= d;
      t.data.assign(static_cast<size_t>(n), 1);
      args.push_back(t);
    } else {
      args.push_back(hymir::oracle::Tensor(shape, 0.5));
    }
  }
  (void)hymir::evaluateReference(program, std::move(args));
  return 0;
}
