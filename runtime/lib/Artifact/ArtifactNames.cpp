//===- ArtifactNames.cpp - names of the artifact's enums ------------------===//
//
// The words messages use for targets, code formats, storage kinds, reference
// value kinds, plan steps and collectives.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"

#include "absl/strings/str_cat.h"

#include <string>

namespace hymir {

std::string targetName(Target target) {
  switch (target) {
  case Target::Cpu:
    return "cpu";
  case Target::Cuda:
    return "cuda";
  }
  return absl::StrCat("target ", static_cast<int>(target));
}

std::string codeFormatName(CodeFormat format) {
  switch (format) {
  case CodeFormat::HostSharedObject:
    return "host shared object";
  case CodeFormat::Ptx:
    return "ptx";
  case CodeFormat::Cubin:
    return "cubin";
  }
  return absl::StrCat("code format ", static_cast<int>(format));
}

std::string storageKindName(StorageKind kind) {
  switch (kind) {
  case StorageKind::Input:
    return "input";
  case StorageKind::Output:
    return "output";
  case StorageKind::Param:
    return "param";
  case StorageKind::Buffer:
    return "buffer";
  case StorageKind::Check:
    return "check";
  }
  return absl::StrCat("storage kind ", static_cast<int>(kind));
}

std::string refValueKindName(RefValueKind kind) {
  switch (kind) {
  case RefValueKind::Float:
    return "float";
  case RefValueKind::Int:
    return "int";
  case RefValueKind::Index:
    return "index";
  }
  return absl::StrCat("kind ", static_cast<int>(kind));
}

std::string stepKindName(const StepDesc &step) {
  if (std::holds_alternative<LaunchKernelDesc>(step))
    return "launch";
  if (std::holds_alternative<GemmDesc>(step))
    return "gemm";
  if (std::holds_alternative<CollectiveDesc>(step))
    return "collective";
  if (std::holds_alternative<TensorMapDesc>(step))
    return "tensor_map";
  return "copy";
}

std::string collectiveKindName(CollectiveKind kind) {
  switch (kind) {
  case CollectiveKind::AllReduceSum:
    return "all_reduce";
  case CollectiveKind::AllGather:
    return "all_gather";
  case CollectiveKind::AllToAll:
    return "all_to_all";
  case CollectiveKind::DeviceIndex:
    return "device_index";
  case CollectiveKind::ReduceScatterSum:
    return "reduce_scatter";
  }
  return absl::StrCat("collective ", static_cast<int>(kind));
}

} // namespace hymir
