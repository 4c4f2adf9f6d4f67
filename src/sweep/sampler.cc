#include "sweep/sampler.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>

namespace gantry::sweep {
namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t Mix(uint64_t seed, uint64_t index) { return SplitMix(SplitMix(seed) ^ index); }

// Joe and Kuo's direction numbers (new-joe-kuo-6.21201) for dimensions 2..16: degree s,
// coefficients a, initial m_1..m_s.
struct Direction {
  int s;
  uint32_t a;
  std::array<uint32_t, 6> m;
};
constexpr Direction kDirections[] = {
    {1, 0, {1}},
    {2, 1, {1, 3}},
    {3, 1, {1, 3, 1}},
    {3, 2, {1, 1, 1}},
    {4, 1, {1, 1, 3, 3}},
    {4, 4, {1, 3, 5, 13}},
    {5, 2, {1, 1, 5, 5, 17}},
    {5, 4, {1, 1, 5, 5, 5}},
    {5, 7, {1, 1, 7, 11, 19}},
    {5, 11, {1, 1, 5, 1, 1}},
    {5, 13, {1, 1, 1, 3, 11}},
    {5, 14, {1, 3, 5, 5, 31}},
    {6, 1, {1, 3, 3, 9, 7, 49}},
    {6, 13, {1, 1, 1, 15, 21, 21}},
    {6, 16, {1, 3, 1, 13, 27, 49}},
};
constexpr size_t kSobolDimensions = 1 + std::size(kDirections);

std::array<uint32_t, 32> DirectionNumbers(size_t dim) {
  std::array<uint32_t, 32> v{};
  if (dim == 0) {
    for (int j = 0; j < 32; ++j) v[j] = 1u << (31 - j);
    return v;
  }
  const Direction& d = kDirections[dim - 1];
  for (int j = 0; j < d.s; ++j) v[j] = d.m[j] << (31 - j);
  for (int j = d.s; j < 32; ++j) {
    uint32_t x = v[j - d.s] ^ (v[j - d.s] >> d.s);
    for (int k = 1; k < d.s; ++k) {
      if ((d.a >> (d.s - 1 - k)) & 1) x ^= v[j - k];
    }
    v[j] = x;
  }
  return v;
}

// Point n (n >= 1; point 0, all zeros, is skipped) of dimension `dim`, in [0, 1).
double SobolCoordinate(uint64_t n, size_t dim, uint32_t shift) {
  const auto v = DirectionNumbers(dim);
  const uint64_t gray = n ^ (n >> 1);
  uint32_t x = 0;
  for (int j = 0; j < 32; ++j) {
    if ((gray >> j) & 1) x ^= v[j];
  }
  return static_cast<double>(x ^ shift) / 4294967296.0;
}

// Acklam's rational approximation of the standard normal quantile.
double InverseNormal(double p) {
  p = std::clamp(p, 1e-12, 1 - 1e-12);
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double low = 0.02425;
  if (p < low) {
    double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) {
    double q = std::sqrt(-2 * std::log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

bool IsQ(ExpressionType t) {
  return t == ExpressionType::kQuniform || t == ExpressionType::kQloguniform ||
         t == ExpressionType::kQnormal || t == ExpressionType::kQlognormal;
}

// `e`'s value at quantile u in [0, 1).
Json FromUnit(const Expression& e, double u) {
  auto q = [&](double x) { return IsQ(e.type) ? std::round(x / e.q) * e.q : x; };
  switch (e.type) {
    case ExpressionType::kChoice:
      return e.values[std::min(e.values.size() - 1, static_cast<size_t>(u * e.values.size()))];
    case ExpressionType::kRandint:
      return std::min<int64_t>(e.upper - 1, static_cast<int64_t>(u * e.upper));
    case ExpressionType::kUniform:
    case ExpressionType::kQuniform:
      return q(e.min_value + u * (e.max_value - e.min_value));
    case ExpressionType::kLoguniform:
    case ExpressionType::kQloguniform:
      return q(std::exp(e.min_value + u * (e.max_value - e.min_value)));
    case ExpressionType::kNormal:
    case ExpressionType::kQnormal:
      return q(e.mu + e.sigma * InverseNormal(u));
    case ExpressionType::kLognormal:
    case ExpressionType::kQlognormal:
      return q(std::exp(e.mu + e.sigma * InverseNormal(u)));
  }
  return nullptr;
}

std::map<std::string, Json> RandomPoint(const SearchSpace& space, uint64_t seed, int64_t index) {
  std::mt19937_64 rng(Mix(seed, static_cast<uint64_t>(index)));
  std::map<std::string, Json> values;
  for (const auto& [name, e] : space) values[name] = Draw(e, rng);
  return values;
}

// A value of a bayesian-capable parameter in [0, 1].
double ToUnit(const Expression& e, const Json& v) {
  if (e.type == ExpressionType::kChoice) {
    auto it = std::find(e.values.begin(), e.values.end(), v);
    size_t i = it == e.values.end() ? 0 : static_cast<size_t>(it - e.values.begin());
    return (static_cast<double>(i) + 0.5) / static_cast<double>(e.values.size());
  }
  double x = v.is_number() ? v.get<double>() : 0;
  return std::clamp((x - e.min_value) / (e.max_value - e.min_value), 0.0, 1.0);
}

std::vector<double> Features(const SearchSpace& space, const std::map<std::string, Json>& values) {
  std::vector<double> f;
  for (const auto& [name, e] : space) {
    auto it = values.find(name);
    f.push_back(it == values.end() ? 0.5 : ToUnit(e, it->second));
  }
  return f;
}

double Kernel(const std::vector<double>& a, const std::vector<double>& b) {
  constexpr double kLength = 0.25;
  double d2 = 0;
  for (size_t i = 0; i < a.size(); ++i) d2 += (a[i] - b[i]) * (a[i] - b[i]);
  return std::exp(-d2 / (2 * kLength * kLength));
}

// A Gaussian process over the observations (scores standardised, higher better) and the
// candidate with the largest expected improvement.
std::map<std::string, Json> BayesianPoint(const Sampling& sampling, const SearchSpace& space,
                                          int64_t index, Goal goal,
                                          const std::vector<Observation>& history) {
  const size_t n = history.size();
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (const auto& o : history) {
    x.push_back(Features(space, o.values));
    y.push_back(goal == Goal::kMaximize ? o.score : -o.score);
  }
  double mean = 0, var = 0;
  for (double v : y) mean += v / n;
  for (double v : y) var += (v - mean) * (v - mean) / n;
  const double sd = var > 0 ? std::sqrt(var) : 1;
  for (double& v : y) v = (v - mean) / sd;
  // Cholesky of K + noise.
  std::vector<double> L(n * n, 0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j <= i; ++j) {
      double s = Kernel(x[i], x[j]) + (i == j ? 1e-4 : 0);
      for (size_t k = 0; k < j; ++k) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i == j ? std::sqrt(std::max(s, 1e-12)) : s / L[j * n + j];
    }
  }
  auto solve_lower = [&](std::vector<double> b) {
    for (size_t i = 0; i < n; ++i) {
      for (size_t k = 0; k < i; ++k) b[i] -= L[i * n + k] * b[k];
      b[i] /= L[i * n + i];
    }
    return b;
  };
  std::vector<double> alpha = solve_lower(y);  // L^-1 y
  {
    for (size_t i = n; i-- > 0;) {  // L^-T
      for (size_t k = i + 1; k < n; ++k) alpha[i] -= L[k * n + i] * alpha[k];
      alpha[i] /= L[i * n + i];
    }
  }
  const double best = *std::max_element(y.begin(), y.end());
  std::mt19937_64 rng(Mix(sampling.seed, static_cast<uint64_t>(index)));
  std::map<std::string, Json> chosen;
  double chosen_ei = -1;
  for (int c = 0; c < 500; ++c) {
    std::map<std::string, Json> values;
    for (const auto& [name, e] : space) values[name] = Draw(e, rng);
    std::vector<double> f = Features(space, values);
    std::vector<double> k(n);
    for (size_t i = 0; i < n; ++i) k[i] = Kernel(f, x[i]);
    double mu = 0;
    for (size_t i = 0; i < n; ++i) mu += k[i] * alpha[i];
    std::vector<double> v = solve_lower(k);
    double s2 = 1 + 1e-4;
    for (double vi : v) s2 -= vi * vi;
    const double s = std::sqrt(std::max(s2, 1e-12));
    const double z = (mu - best) / s;
    const double ei = (mu - best) * 0.5 * std::erfc(-z / std::sqrt(2)) +
                      s * std::exp(-z * z / 2) / std::sqrt(2 * M_PI);
    if (ei > chosen_ei) {
      chosen_ei = ei;
      chosen = std::move(values);
    }
  }
  return chosen;
}

bool IsMultiple(double x, double q) {
  double r = x / q;
  return std::fabs(r - std::round(r)) < 1e-9 * std::max(1.0, std::fabs(r));
}

}  // namespace

std::string SamplingTypeName(SamplingType type) {
  switch (type) {
    case SamplingType::kRandom:
      return "random";
    case SamplingType::kGrid:
      return "grid";
    case SamplingType::kBayesian:
      return "bayesian";
    case SamplingType::kExternal:
      return "external";
  }
  return "random";
}

Result<Goal> ParseGoal(const std::string& goal) {
  std::string g = goal;
  for (char& c : g) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (g == "maximize") return Goal::kMaximize;
  if (g == "minimize") return Goal::kMinimize;
  return Err(InvalidArgumentError("'" + goal + "' is not maximize or minimize"));
}

std::string GoalName(Goal goal) { return goal == Goal::kMaximize ? "maximize" : "minimize"; }

Result<Sampling> ParseSampling(const Json& j, const SearchSpace& space) {
  Sampling s;
  std::string type;
  if (j.is_string()) {
    type = j.get<std::string>();
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k != "type" && k != "seed" && k != "rule") {
        return Err(InvalidArgumentError("unknown field 'sampling_algorithm." + k +
                                        "' (expected type, seed, rule)"));
      }
    }
    if (!j.contains("type") || !j["type"].is_string()) {
      return Err(InvalidArgumentError("sampling_algorithm.type is required"));
    }
    type = j["type"].get<std::string>();
    if (j.contains("seed") && !j["seed"].is_null()) {
      const Json& seed = j["seed"];
      if (!seed.is_number_integer() || seed.get<int64_t>() < 0) {
        return Err(
            InvalidArgumentError("sampling_algorithm.seed must be a whole number from 0 "
                                 "to 2^63-1, not " +
                                 seed.dump()));
      }
      s.seed = static_cast<uint64_t>(seed.get<int64_t>());
      s.seeded = true;
    }
    if (j.contains("rule") && !j["rule"].is_null()) {
      if (j["rule"] == "sobol") {
        s.sobol = true;
      } else if (j["rule"] != "random") {
        return Err(InvalidArgumentError("sampling_algorithm.rule must be random or sobol, not " +
                                        j["rule"].dump()));
      }
    }
  } else {
    return Err(InvalidArgumentError("sampling_algorithm must be random, grid or bayesian"));
  }
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type == "random") {
    s.type = SamplingType::kRandom;
  } else if (type == "grid") {
    s.type = SamplingType::kGrid;
  } else if (type == "bayesian") {
    s.type = SamplingType::kBayesian;
  } else if (type == "external") {
    s.type = SamplingType::kExternal;
  } else {
    return Err(InvalidArgumentError("sampling_algorithm.type '" + type +
                                    "' is not random, grid, bayesian or external"));
  }
  if (s.sobol && s.type != SamplingType::kRandom) {
    return Err(InvalidArgumentError("sampling_algorithm.rule: sobol is a rule of random sampling"));
  }
  if (s.sobol && space.size() > kSobolDimensions) {
    return Err(InvalidArgumentError("sampling_algorithm.rule: sobol supports up to " +
                                    std::to_string(kSobolDimensions) + " parameters"));
  }
  for (const auto& [name, e] : space) {
    if (s.type == SamplingType::kGrid && e.type != ExpressionType::kChoice) {
      return Err(InvalidArgumentError("search_space." + name +
                                      ": grid sampling supports only "
                                      "choice, not " +
                                      ExpressionTypeName(e.type)));
    }
    if (s.type == SamplingType::kBayesian && e.type != ExpressionType::kChoice &&
        e.type != ExpressionType::kUniform && e.type != ExpressionType::kQuniform) {
      return Err(InvalidArgumentError("search_space." + name +
                                      ": bayesian sampling supports "
                                      "only choice, uniform and quniform, not " +
                                      ExpressionTypeName(e.type)));
    }
  }
  return s;
}

std::optional<int64_t> SpaceSize(const SearchSpace& space) {
  int64_t size = 1;
  for (const auto& [name, e] : space) {
    int64_t n = 0;
    if (e.type == ExpressionType::kChoice) {
      n = static_cast<int64_t>(e.values.size());
    } else if (e.type == ExpressionType::kRandint) {
      n = e.upper;
    } else {
      return std::nullopt;
    }
    if (size > (int64_t{1} << 62) / n) return std::nullopt;
    size *= n;
  }
  return size;
}

Result<std::map<std::string, Json>> Suggest(const Sampling& sampling, const SearchSpace& space,
                                            int64_t index, Goal goal,
                                            const std::vector<Observation>& history) {
  if (index < 0) return Err(InvalidArgumentError("a trial index is not negative"));
  switch (sampling.type) {
    case SamplingType::kGrid: {
      ASSIGN_OR_RETURN(auto grid, Grid(space));
      if (static_cast<size_t>(index) >= grid.size()) {
        return Err(Status(StatusCode::kOutOfRange,
                          "the grid has " + std::to_string(grid.size()) + " points"));
      }
      return grid[static_cast<size_t>(index)];
    }
    case SamplingType::kBayesian:
      if (history.size() < kBayesianWarmup) return RandomPoint(space, sampling.seed, index);
      return BayesianPoint(sampling, space, index, goal, history);
    case SamplingType::kExternal:
      return Err(FailedPreconditionError(
          "an external sweep's values come from its outside optimiser (POST /sweeps/NAME/ask)"));
    case SamplingType::kRandom:
      break;
  }
  if (!sampling.sobol) return RandomPoint(space, sampling.seed, index);
  std::map<std::string, Json> values;
  size_t dim = 0;
  for (const auto& [name, e] : space) {
    const uint32_t shift =
        sampling.seed ? static_cast<uint32_t>(Mix(sampling.seed, 0x50b01 + dim)) : 0;
    values[name] = FromUnit(e, SobolCoordinate(static_cast<uint64_t>(index) + 1, dim, shift));
    ++dim;
  }
  return values;
}

Status CheckPoint(const SearchSpace& space, const std::map<std::string, Json>& values) {
  for (const auto& [name, v] : values) {
    if (!space.contains(name)) {
      return InvalidArgumentError("values." + name + ": not a parameter of the search space");
    }
  }
  for (const auto& [name, e] : space) {
    auto it = values.find(name);
    if (it == values.end()) return InvalidArgumentError("values." + name + " is missing");
    const Json& v = it->second;
    const std::string where = "values." + name;
    if (e.type == ExpressionType::kChoice) {
      if (std::find(e.values.begin(), e.values.end(), v) == e.values.end()) {
        return InvalidArgumentError(where + ": " + v.dump() + " is not one of the choices");
      }
      continue;
    }
    if (!v.is_number()) return InvalidArgumentError(where + " must be a number");
    const double x = v.get<double>();
    if (e.type == ExpressionType::kRandint) {
      if (!v.is_number_integer() || x < 0 || x >= static_cast<double>(e.upper)) {
        return InvalidArgumentError(where + ": " + v.dump() + " is not a whole number in [0, " +
                                    std::to_string(e.upper) + ")");
      }
      continue;
    }
    double lo = e.min_value, hi = e.max_value;
    if (e.type == ExpressionType::kLoguniform || e.type == ExpressionType::kQloguniform) {
      lo = std::exp(lo);
      hi = std::exp(hi);
    }
    const bool bounded =
        e.type == ExpressionType::kUniform || e.type == ExpressionType::kQuniform ||
        e.type == ExpressionType::kLoguniform || e.type == ExpressionType::kQloguniform;
    const double slack = IsQ(e.type) ? e.q : 0;
    if (bounded && (x < lo - slack || x > hi + slack)) {
      return InvalidArgumentError(where + ": " + v.dump() + " is outside the bounds");
    }
    if (IsQ(e.type) && !IsMultiple(x, e.q)) {
      return InvalidArgumentError(where + ": " + v.dump() + " is not a multiple of q " +
                                  Json(e.q).dump());
    }
  }
  return Status::Ok();
}

}  // namespace gantry::sweep
