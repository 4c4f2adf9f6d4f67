// libFuzzer target for ParseJson, the parser of every REST body: whatever the bytes, it
// returns a document or InvalidArgument, and a document it returns can be walked and
// written back (no recursion deeper than kMaxJsonDepth) and reads back the same.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "common/json.h"

namespace {
void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "json_fuzz: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = gantry::ParseJson(text, "input");
  if (!doc.has_value()) {
    Require(doc.error().code() == gantry::StatusCode::kInvalidArgument,
            "refusal not InvalidArgument");
    return 0;
  }
  std::string dumped = doc->dump();
  auto again = gantry::ParseJson(dumped, "dump");
  Require(again.has_value(), "a parsed document does not parse again after dump()");
  Require(*again == *doc, "dump() does not read back the same document");
  if (doc->is_object()) {
    (void)gantry::GetInt(*doc, "step");
    (void)gantry::GetString(*doc, "name");
  }
  return 0;
}
