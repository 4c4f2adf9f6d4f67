// How a sweep picks each trial's values (issue 12): the `sampling_algorithm` of a CLI v2 sweep
// job (HyperDrive's RandomParameterSampling, GridParameterSampling, BayesianParameterSampling)
// and the pure rule that gives trial n its values. A sampler keeps no hidden state: trial n's
// values follow from the seed, n and (for bayesian) the finished trials' scores, so a sweep
// whose server restarts replays exactly. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "sweep/search_space.h"

namespace gantry::sweep {

// kExternal (Gantry's addition): an outside optimiser gives each trial's values through the
// sweep's ask API; the sweep starts no trial by itself.
enum class SamplingType { kRandom, kGrid, kBayesian, kExternal };
enum class Goal { kMaximize, kMinimize };

// "random", "grid", "bayesian", "external".
std::string SamplingTypeName(SamplingType type);

struct Sampling {
  SamplingType type = SamplingType::kRandom;
  uint64_t seed = 0;    // random and bayesian; the caller fills a fresh one when none is given
  bool seeded = false;  // whether the user gave the seed
  bool sobol = false;   // random with `rule: sobol`
};

// Reads a CLI v2 `sampling_algorithm`: either a bare name ("random", "grid", "bayesian") or a
// mapping `{type, seed, rule}` (`rule` is "random" or "sobol", random only). Checks it against
// the space: grid only over `choice` and bayesian only over `choice`, `uniform` and `quniform`
// (InvalidArgument naming `search_space.NAME` and the algorithm). InvalidArgument naming
// `sampling_algorithm.FIELD` for an unknown type, rule or a seed that is not a whole number
// from 0 to 2^63-1.
Result<Sampling> ParseSampling(const Json& sampling_algorithm, const SearchSpace& space);

// Reads `objective.goal` ("maximize"/"minimize", any case). InvalidArgument naming the value.
Result<Goal> ParseGoal(const std::string& goal);
std::string GoalName(Goal goal);  // "maximize" / "minimize"

// How many distinct points the space has: the product of choice sizes and randint uppers;
// nullopt when a parameter is continuous (the space is infinite) or the product exceeds 2^62.
std::optional<int64_t> SpaceSize(const SearchSpace& space);

// A finished trial as bayesian sampling sees it: its values and its final primary metric.
struct Observation {
  std::map<std::string, Json> values;
  double score = 0;
};

// The values of trial `index` (0-based):
//  - random: each parameter (in name order) drawn with `Draw` from a generator seeded from
//    (seed, index), so trial n's values do not depend on how many others ran;
//  - random with sobol: point `index` of the Sobol sequence (digitally shifted by the seed)
//    mapped through each parameter's inverse distribution;
//  - grid: Grid(space)[index]; OutOfRange when index is past the grid's end;
//  - bayesian: a Gaussian-process model of `history` with expected improvement towards
//    `goal`, the maximum over candidates drawn from (seed, index); random draws while
//    history has fewer than kBayesianWarmup observations.
// `history` is ignored by the other algorithms. External: FailedPrecondition (the values
// come from the outside optimiser).
inline constexpr size_t kBayesianWarmup = 3;
Result<std::map<std::string, Json>> Suggest(const Sampling& sampling, const SearchSpace& space,
                                            int64_t index, Goal goal,
                                            const std::vector<Observation>& history);

// Whether `values` is a point of `space`: every parameter present, none extra, each inside
// its expression (a choice's value, an integer in [0, upper), a number within the bounds for
// the uniform family, a number for the normal family, a multiple of q for the q- forms).
// InvalidArgument naming `values.NAME`. Used for points an outside optimiser proposes.
Status CheckPoint(const SearchSpace& space, const std::map<std::string, Json>& values);

}  // namespace gantry::sweep
