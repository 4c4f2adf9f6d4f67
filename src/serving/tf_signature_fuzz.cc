// libFuzzer target for the SignatureDef reader: any bytes (a SavedModel's MetaGraphDef comes
// from a model file) give signatures or InvalidArgument, never a crash or a read past the end.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "serving/tf_signature.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto graph =
      gantry::serving::ParseMetaGraph(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!graph.has_value()) {
    if (graph.error().code() != gantry::StatusCode::kInvalidArgument) {
      std::fprintf(stderr, "tf_signature_fuzz: unexpected error code\n");
      std::abort();
    }
    return 0;
  }
  for (const auto& s : graph->signatures) {
    for (const auto& t : s.inputs) {
      if (t.tensor_name.empty() || (t.unknown_rank && !t.shape.empty())) std::abort();
    }
  }
  return 0;
}
