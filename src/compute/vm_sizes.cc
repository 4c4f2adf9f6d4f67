#include "compute/vm_sizes.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <regex>

namespace gantry::compute {

const std::vector<VmSize>& AllVmSizes() {
  // Shapes from Azure's published VM sizes (vCPUs, GiB memory, GPUs).
  static const std::vector<VmSize> kSizes = {
      {"STANDARD_D1_V2", 1, 3.5, 0},      {"STANDARD_D2_V2", 2, 7, 0},
      {"STANDARD_D3_V2", 4, 14, 0},       {"STANDARD_D4_V2", 8, 28, 0},
      {"STANDARD_D11_V2", 2, 14, 0},      {"STANDARD_D12_V2", 4, 28, 0},
      {"STANDARD_DS2_V2", 2, 7, 0},       {"STANDARD_DS3_V2", 4, 14, 0},
      {"STANDARD_DS4_V2", 8, 28, 0},      {"STANDARD_DS12_V2", 4, 28, 0},
      {"STANDARD_D2S_V3", 2, 8, 0},       {"STANDARD_D4S_V3", 4, 16, 0},
      {"STANDARD_D8S_V3", 8, 32, 0},      {"STANDARD_E4S_V3", 4, 32, 0},
      {"STANDARD_F4S_V2", 4, 8, 0},       {"STANDARD_NC6", 6, 56, 1},
      {"STANDARD_NC12", 12, 112, 2},      {"STANDARD_NC24", 24, 224, 4},
      {"STANDARD_NC6S_V3", 6, 112, 1},    {"STANDARD_NC12S_V3", 12, 224, 2},
      {"STANDARD_NC24S_V3", 24, 448, 4},  {"STANDARD_NC4AS_T4_V3", 4, 28, 1},
      {"STANDARD_NC8AS_T4_V3", 8, 56, 1}, {"STANDARD_NC24ADS_A100_V4", 24, 220, 1},
      {"STANDARD_ND40RS_V2", 40, 672, 8}, {"STANDARD_NV6", 6, 56, 1},
  };
  return kSizes;
}

Result<VmSize> LookupVmSize(const std::string& name) {
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (const auto& s : AllVmSizes()) {
    if (s.name == upper) return s;
  }
  return Err(NotFoundError("unknown vm_size '" + name +
                           "'; known sizes include STANDARD_D2_V2, STANDARD_DS3_V2, "
                           "STANDARD_NC6, STANDARD_NC6S_V3 (gantry compute sizes lists all)"));
}

int DetectGpuCount() {
  int count = 0;
  std::error_code ec;
  static const std::regex kDevice("nvidia[0-9]+");
  for (const auto& e : std::filesystem::directory_iterator("/dev", ec)) {
    if (std::regex_match(e.path().filename().string(), kDevice)) ++count;
  }
  return count;
}

}  // namespace gantry::compute
