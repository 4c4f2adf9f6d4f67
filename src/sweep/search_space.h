// A sweep's search space (issue 12, step 8; the first piece): the parameter expressions of
// Azure ML's HyperDrive (SDK v1: choice, randint, uniform, ...) and sweep jobs (CLI v2:
// `{type: uniform, min_value: .., max_value: ..}`), parsed and checked once, with the pure
// rules the samplers build on: drawing a value with a seeded generator (q-rounding,
// loguniform bounds as exponents), and the grid of a space of `choice`s only. Nothing here
// knows of HTTP, SQL or runs. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace gantry::sweep {

enum class ExpressionType {
  kChoice,
  kRandint,
  kUniform,
  kLoguniform,
  kQuniform,
  kQloguniform,
  kNormal,
  kLognormal,
  kQnormal,
  kQlognormal,
};

// "choice", "randint", ... (the CLI v2 `type` names).
std::string ExpressionTypeName(ExpressionType type);

struct Expression {
  ExpressionType type = ExpressionType::kChoice;
  std::vector<Json> values;             // choice
  int64_t upper = 0;                    // randint: [0, upper)
  double min_value = 0, max_value = 0;  // uniform family (exponents for the log ones)
  double mu = 0, sigma = 0;             // normal family
  double q = 0;                         // the q- forms: values are multiples of q
};

// The parameters by name, in name order.
using SearchSpace = std::map<std::string, Expression>;

// Reads a CLI v2 `search_space` mapping. InvalidArgument naming the parameter and the field:
// an unknown type, a missing or non-numeric bound, min_value not below max_value, a choice
// without values, randint's upper under 1, sigma or q not positive.
Result<SearchSpace> ParseSearchSpace(const Json& search_space);

// One value of `e` from `rng`: a choice's value, an integer for randint, a double otherwise
// (the q- forms rounded to a multiple of q, as round(x / q) * q).
Json Draw(const Expression& e, std::mt19937_64& rng);

// Every combination of a space whose parameters are all `choice`s, the last parameter (in
// name order) varying fastest. InvalidArgument naming the first parameter that is not a
// choice (grid sampling only supports choice).
Result<std::vector<std::map<std::string, Json>>> Grid(const SearchSpace& space);

}  // namespace gantry::sweep
