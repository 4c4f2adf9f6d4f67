// Loading YAML that users hand to Gantry (job files, deployment and endpoint files, conda
// specifications) with bounds on what it may expand to. yaml-cpp keeps an alias as a second
// reference to its anchor's node, so a 1 KB file of nested aliases ("billion laughs") is
// small in memory but expands to hundreds of millions of nodes for any code that walks it or
// turns it into JSON; this loader walks the document once, counting every node as often as
// aliases repeat it, and refuses it before anything else walks it. Thread-safe: stateless.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace gantry::jobs {

// The most nodes (scalars, sequences, mappings; keys count) a document may expand to, with
// aliases expanded.
inline constexpr size_t kMaxYamlNodes = 100'000;
// The deepest nesting of sequences and mappings, aliases expanded.
inline constexpr size_t kMaxYamlDepth = 64;

// Parses `text`. InvalidArgument prefixed with `file_name` for: text that is not UTF-8
// ("job.yml: not UTF-8: byte 0xff at offset 12"), invalid YAML ("job.yml:3:5: invalid YAML:
// ..."), more than kMaxYamlNodes nodes or nesting deeper than kMaxYamlDepth once aliases are
// expanded (the message names the limit).
Result<YAML::Node> LoadBoundedYaml(std::string_view text, std::string_view file_name);

}  // namespace gantry::jobs
