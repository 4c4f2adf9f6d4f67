// The VM-size catalogue: Azure VM size names mapped to a node shape (CPUs, memory, GPUs),
// so Azure ML code that asks for STANDARD_NC6 gets a node of that shape on local clusters.
// Thread-safe: immutable data.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace gantry::compute {

struct VmSize {
  std::string name;  // canonical spelling, e.g. "STANDARD_NC6"
  int cpus = 0;
  double memory_gb = 0;
  int gpus = 0;
};

// Case-insensitive lookup. NotFound listing a few known sizes.
Result<VmSize> LookupVmSize(const std::string& name);
const std::vector<VmSize>& AllVmSizes();

// GPUs this machine has (NVIDIA device nodes /dev/nvidiaN), 0 when none.
int DetectGpuCount();

}  // namespace gantry::compute
