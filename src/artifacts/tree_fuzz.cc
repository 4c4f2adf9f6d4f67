// libFuzzer target for tree manifests (Tree::FromJson), which the server reads from clients'
// uploads: any text is a tree or InvalidArgument, and a tree's canonical manifest parses back
// to the same tree.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "artifacts/tree.h"

namespace {
void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "tree_fuzz: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tree = gantry::artifacts::Tree::FromJson(text);
  if (!tree.has_value()) {
    Require(tree.error().code() == gantry::StatusCode::kInvalidArgument,
            "refusal not InvalidArgument");
    return 0;
  }
  std::string manifest = tree->ToJson();
  auto again = gantry::artifacts::Tree::FromJson(manifest);
  Require(again.has_value(), "a tree's own manifest does not parse");
  Require(again->ToJson() == manifest, "a tree's manifest does not read back the same");
  return 0;
}
