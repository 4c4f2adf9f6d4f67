#include "serving/answer_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

#include "common/json.h"

namespace gantry::serving {
namespace {

// A JSON string literal (quotes and escapes), as the JSON library writes it.
std::string Quoted(const std::string& s) { return Json(s).dump(); }

// One value, in the form FormOf gives it; floats in their shortest form.
void AppendValue(std::string& out, float v, bool is_bool, bool is_integer) {
  char num[32];
  switch (FormOf(v, is_bool, is_integer)) {
    case ValueForm::kBool:
      out += v != 0.0f ? "true" : "false";
      return;
    case ValueForm::kNull:
      out += "null";
      return;
    case ValueForm::kInteger:
      out.append(num, std::to_chars(num, num + sizeof(num), static_cast<int64_t>(v)).ptr);
      return;
    case ValueForm::kFloat:
      out.append(num, std::to_chars(num, num + sizeof(num), v).ptr);
      return;
  }
}

// Writes a tensor's values nested along its shape.
class Writer {
 public:
  explicit Writer(const Tensor& t)
      : t_(t), is_bool_(t.datatype == "BOOL"), is_integer_(IsIntegerDatatype(t.datatype)) {}

  // Whether the values fill the shape exactly (a mismatch is the slow path's error).
  bool Consistent() const {
    size_t n = 1;
    for (int64_t d : t_.shape) n *= static_cast<size_t>(std::max<int64_t>(d, 0));
    return n == t_.data.size();
  }

  // The values from `offset` on, nested along the shape from dimension `dim`.
  void Nest(std::string& out, size_t dim, size_t& offset) const {
    if (dim == t_.shape.size()) {
      AppendValue(out, t_.data[offset++], is_bool_, is_integer_);
      return;
    }
    out += '[';
    for (int64_t i = 0; i < t_.shape[dim]; ++i) {
      if (i) out += ',';
      Nest(out, dim + 1, offset);
    }
    out += ']';
  }

  // All values in a flat list.
  void Flat(std::string& out) const {
    out += '[';
    for (size_t i = 0; i < t_.data.size(); ++i) {
      if (i) out += ',';
      AppendValue(out, t_.data[i], is_bool_, is_integer_);
    }
    out += ']';
  }

 private:
  const Tensor& t_;
  bool is_bool_, is_integer_;
};

// The outputs in name order (the order the JSON library's objects keep), or nullopt when
// two share a name.
std::optional<std::vector<const Tensor*>> ByName(const std::vector<Tensor>& outputs) {
  std::vector<const Tensor*> sorted;
  for (const Tensor& t : outputs) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const Tensor* a, const Tensor* b) { return a->name < b->name; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i - 1]->name == sorted[i]->name) return std::nullopt;
  }
  return sorted;
}

size_t SizeHint(const std::vector<Tensor>& outputs) {
  size_t n = 64;
  for (const Tensor& t : outputs) n += t.name.size() * 4 + t.data.size() * 14;
  return n;
}

}  // namespace

ValueForm FormOf(float v, bool is_bool, bool is_integer) {
  if (is_bool) return ValueForm::kBool;
  if (!std::isfinite(v)) return ValueForm::kNull;
  // 2^63 and beyond (a UINT64's) have no int64: written as a float.
  if (is_integer && std::fabs(v) < 9.2e18f) return ValueForm::kInteger;
  return ValueForm::kFloat;
}

bool IsIntegerDatatype(const std::string& datatype) {
  return datatype.starts_with("INT") || datatype.starts_with("UINT");
}

std::optional<std::string> PredictionsText(const std::vector<Tensor>& outputs) {
  if (outputs.empty()) return std::nullopt;
  for (const Tensor& t : outputs) {
    if (t.shape.empty() || t.shape[0] != outputs[0].shape[0] || !Writer(t).Consistent()) {
      return std::nullopt;
    }
  }
  std::string out;
  out.reserve(SizeHint(outputs));
  out += "{\"predictions\":";
  if (outputs.size() == 1) {
    size_t offset = 0;
    Writer(outputs[0]).Nest(out, 0, offset);
    out += '}';
    return out;
  }
  auto sorted = ByName(outputs);
  if (!sorted.has_value()) return std::nullopt;
  std::vector<Writer> writers;
  std::vector<std::string> keys;
  std::vector<size_t> offsets(sorted->size(), 0);
  for (const Tensor* t : *sorted) {
    writers.emplace_back(*t);
    keys.push_back(Quoted(t->name) + ":");
  }
  out += '[';
  for (int64_t row = 0; row < outputs[0].shape[0]; ++row) {
    out += row ? ",{" : "{";
    for (size_t k = 0; k < writers.size(); ++k) {
      if (k) out += ',';
      out += keys[k];
      writers[k].Nest(out, 1, offsets[k]);
    }
    out += '}';
  }
  out += "]}";
  return out;
}

std::optional<std::string> ColumnsText(const std::vector<Tensor>& outputs) {
  if (outputs.empty()) return std::nullopt;
  for (const Tensor& t : outputs) {
    if (!Writer(t).Consistent()) return std::nullopt;
  }
  std::string out;
  out.reserve(SizeHint(outputs));
  if (outputs.size() == 1) {
    size_t offset = 0;
    Writer(outputs[0]).Nest(out, 0, offset);
    return out;
  }
  auto sorted = ByName(outputs);
  if (!sorted.has_value()) return std::nullopt;
  out += '{';
  for (size_t k = 0; k < sorted->size(); ++k) {
    if (k) out += ',';
    out += Quoted((*sorted)[k]->name) + ":";
    size_t offset = 0;
    Writer(*(*sorted)[k]).Nest(out, 0, offset);
  }
  out += '}';
  return out;
}

std::string V2AnswerText(const std::string& model_name, const std::string& model_version,
                         const std::vector<Tensor>& outputs, const std::optional<std::string>& id) {
  std::string out;
  out.reserve(SizeHint(outputs));
  out += '{';
  if (id.has_value()) out += "\"id\":" + Quoted(*id) + ",";
  out += "\"model_name\":" + Quoted(model_name) + ",\"model_version\":" + Quoted(model_version) +
         ",\"outputs\":[";
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& t = outputs[k];
    if (k) out += ',';
    out += "{\"data\":";
    Writer(t).Flat(out);
    out += ",\"datatype\":" + Quoted(t.datatype) + ",\"name\":" + Quoted(t.name) + ",\"shape\":[";
    char num[24];
    for (size_t i = 0; i < t.shape.size(); ++i) {
      if (i) out += ',';
      out.append(num, std::to_chars(num, num + sizeof(num), t.shape[i]).ptr);
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

}  // namespace gantry::serving
