#include "sweep/search_space.h"

#include <cmath>
#include <utility>

namespace gantry::sweep {
namespace {

constexpr std::pair<ExpressionType, const char*> kNames[] = {
    {ExpressionType::kChoice, "choice"},     {ExpressionType::kRandint, "randint"},
    {ExpressionType::kUniform, "uniform"},   {ExpressionType::kLoguniform, "loguniform"},
    {ExpressionType::kQuniform, "quniform"}, {ExpressionType::kQloguniform, "qloguniform"},
    {ExpressionType::kNormal, "normal"},     {ExpressionType::kLognormal, "lognormal"},
    {ExpressionType::kQnormal, "qnormal"},   {ExpressionType::kQlognormal, "qlognormal"},
};

bool IsQ(ExpressionType t) {
  return t == ExpressionType::kQuniform || t == ExpressionType::kQloguniform ||
         t == ExpressionType::kQnormal || t == ExpressionType::kQlognormal;
}

bool IsUniformFamily(ExpressionType t) {
  return t == ExpressionType::kUniform || t == ExpressionType::kLoguniform ||
         t == ExpressionType::kQuniform || t == ExpressionType::kQloguniform;
}

Status Bad(const std::string& name, const std::string& what) {
  return InvalidArgumentError("search_space." + name + ": " + what);
}

Result<double> Number(const Json& j, const std::string& name, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null())
    return Err(Bad(name, std::string("'") + field + "' is required"));
  if (!it->is_number()) return Err(Bad(name, std::string("'") + field + "' must be a number"));
  return it->get<double>();
}

Result<Expression> ParseExpression(const std::string& name, const Json& j) {
  if (!j.is_object()) return Err(Bad(name, "must be a mapping with a 'type'"));
  auto type_field = j.find("type");
  if (type_field == j.end() || !type_field->is_string())
    return Err(Bad(name, "'type' is required"));
  Expression e;
  bool known = false;
  for (const auto& [t, n] : kNames) {
    if (*type_field == n) {
      e.type = t;
      known = true;
    }
  }
  if (!known) {
    return Err(Bad(name, "type '" + type_field->get<std::string>() +
                             "' is not one of choice, randint, uniform, loguniform, quniform, "
                             "qloguniform, normal, lognormal, qnormal, qlognormal"));
  }
  if (e.type == ExpressionType::kChoice) {
    auto values = j.find("values");
    if (values == j.end() || !values->is_array() || values->empty()) {
      return Err(Bad(name, "choice needs a non-empty 'values' list"));
    }
    e.values.assign(values->begin(), values->end());
    return e;
  }
  if (e.type == ExpressionType::kRandint) {
    ASSIGN_OR_RETURN(double upper, Number(j, name, "upper"));
    if (upper < 1 || upper != std::floor(upper)) {
      return Err(Bad(name, "randint's 'upper' must be a whole number of at least 1"));
    }
    e.upper = static_cast<int64_t>(upper);
    return e;
  }
  if (IsUniformFamily(e.type)) {
    ASSIGN_OR_RETURN(e.min_value, Number(j, name, "min_value"));
    ASSIGN_OR_RETURN(e.max_value, Number(j, name, "max_value"));
    if (!(e.min_value < e.max_value)) {
      return Err(Bad(name, "min_value (" + j["min_value"].dump() + ") must be below max_value (" +
                               j["max_value"].dump() + ")"));
    }
  } else {
    ASSIGN_OR_RETURN(e.mu, Number(j, name, "mu"));
    ASSIGN_OR_RETURN(e.sigma, Number(j, name, "sigma"));
    if (!(e.sigma > 0)) return Err(Bad(name, "'sigma' must be positive"));
  }
  if (IsQ(e.type)) {
    ASSIGN_OR_RETURN(e.q, Number(j, name, "q"));
    if (!(e.q > 0)) return Err(Bad(name, "'q' must be positive"));
  }
  return e;
}

}  // namespace

std::string ExpressionTypeName(ExpressionType type) {
  for (const auto& [t, n] : kNames) {
    if (t == type) return n;
  }
  return "unknown";
}

Result<SearchSpace> ParseSearchSpace(const Json& search_space) {
  if (!search_space.is_object() || search_space.empty()) {
    return Err(InvalidArgumentError("search_space must be a mapping of at least one parameter"));
  }
  SearchSpace space;
  for (const auto& [name, expression] : search_space.items()) {
    ASSIGN_OR_RETURN(space[name], ParseExpression(name, expression));
  }
  return space;
}

Json Draw(const Expression& e, std::mt19937_64& rng) {
  auto rounded = [&](double x) { return IsQ(e.type) ? std::round(x / e.q) * e.q : x; };
  switch (e.type) {
    case ExpressionType::kChoice:
      return e.values[std::uniform_int_distribution<size_t>(0, e.values.size() - 1)(rng)];
    case ExpressionType::kRandint:
      return std::uniform_int_distribution<int64_t>(0, e.upper - 1)(rng);
    case ExpressionType::kUniform:
    case ExpressionType::kQuniform:
      return rounded(std::uniform_real_distribution<double>(e.min_value, e.max_value)(rng));
    case ExpressionType::kLoguniform:
    case ExpressionType::kQloguniform:
      // The bounds are exponents: exp(uniform(min_value, max_value)).
      return rounded(
          std::exp(std::uniform_real_distribution<double>(e.min_value, e.max_value)(rng)));
    case ExpressionType::kNormal:
    case ExpressionType::kQnormal:
      return rounded(std::normal_distribution<double>(e.mu, e.sigma)(rng));
    case ExpressionType::kLognormal:
    case ExpressionType::kQlognormal:
      return rounded(std::exp(std::normal_distribution<double>(e.mu, e.sigma)(rng)));
  }
  return nullptr;
}

Result<std::vector<std::map<std::string, Json>>> Grid(const SearchSpace& space) {
  for (const auto& [name, e] : space) {
    if (e.type != ExpressionType::kChoice) {
      return Err(InvalidArgumentError("search_space." + name +
                                      ": grid sampling supports only "
                                      "choice, not " +
                                      ExpressionTypeName(e.type)));
    }
  }
  std::vector<std::map<std::string, Json>> points = {{}};
  for (const auto& [name, e] : space) {
    std::vector<std::map<std::string, Json>> next;
    next.reserve(points.size() * e.values.size());
    for (const auto& point : points) {
      for (const Json& v : e.values) {
        auto p = point;
        p[name] = v;
        next.push_back(std::move(p));
      }
    }
    points = std::move(next);
  }
  return points;
}

}  // namespace gantry::sweep
