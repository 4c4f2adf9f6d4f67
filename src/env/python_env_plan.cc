#include "env/python_env_plan.h"

#include <algorithm>
#include <cctype>

#include "common/hashing.h"

namespace gantry::env {

namespace {

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "numpy" of "numpy==1.2", "numpy>=1", "conda-forge::numpy=1.2", "numpy[extra]", "NumPy ".
std::string PackageName(const std::string& requirement) {
  std::string s = requirement;
  if (auto colons = s.find("::"); colons != std::string::npos) s = s.substr(colons + 2);
  size_t start = s.find_first_not_of(" \t");
  if (start == std::string::npos) return "";
  size_t end = s.find_first_of(" \t=<>!~[;@", start);
  return Lower(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
}

// A conda requirement as pip writes it: "numpy=1.26" → "numpy==1.26" (conda's single "=").
std::string CondaToPip(const std::string& requirement) {
  std::string s = requirement;
  if (auto colons = s.find("::"); colons != std::string::npos) s = s.substr(colons + 2);
  auto eq = s.find('=');
  if (eq != std::string::npos && eq > 0 && s.find_first_of("<>!~", 0) == std::string::npos &&
      (eq + 1 >= s.size() || s[eq + 1] != '=')) {
    s.insert(eq, "=");
  }
  return s;
}

// "3.11" of "python=3.11.2", "python==3.11", "python 3.11"; "" for a bare "python".
std::string PythonVersionOf(const std::string& requirement) {
  std::string rest = requirement.substr(requirement.find("python") + 6);
  size_t start = rest.find_first_of("0123456789");
  if (start == std::string::npos) return "";
  std::string version = rest.substr(start);
  size_t end = version.find_first_not_of("0123456789.");
  if (end != std::string::npos) version = version.substr(0, end);
  // major.minor is what picks an interpreter.
  size_t first = version.find('.');
  if (first == std::string::npos) return version;
  size_t second = version.find('.', first + 1);
  return second == std::string::npos ? version : version.substr(0, second);
}

bool SameMinor(const std::string& full, const std::string& minor) {
  return full == minor || full.rfind(minor + ".", 0) == 0;
}

// Drops azureml-* entries from `list` (strings), noting each.
Json WithoutAzureMl(const Json& list, const char* kind, std::vector<std::string>& notes) {
  Json out = Json::array();
  for (const auto& item : list) {
    if (item.is_string() && IsAzureMlRequirement(item.get<std::string>())) {
      notes.push_back(std::string(kind) + " requirement " + item.get<std::string>() +
                      ": satisfied by Gantry's own SDK (on the job's PYTHONPATH), not installed");
      continue;
    }
    out.push_back(item);
  }
  return out;
}

}  // namespace

bool IsAzureMlRequirement(const std::string& requirement) {
  std::string name = PackageName(requirement);
  return name == "azureml" || name.rfind("azureml-", 0) == 0 || name.rfind("azureml_", 0) == 0;
}

std::string BuildKey(const Json& spec) {
  Json key = spec;
  if (key.is_object()) key.erase("environment_variables");
  return Sha256Hex(key.dump());
}

Result<PythonEnvPlan> PlanPythonEnvironment(const std::string& env_name, const Json& spec,
                                            const PythonEnvNode& node) {
  PythonEnvPlan plan;
  const Json python = spec.value("python", Json::object());
  const bool user_managed = python.value("user_managed_dependencies", false);
  const std::string interpreter_name = python.value("interpreter_path", "python3");
  Json pip = WithoutAzureMl(spec.value("pip", Json::array()), "pip", plan.notes);
  for (const auto& p : pip) {
    if (!p.is_string()) return Err(InvalidArgumentError("each pip requirement must be a string"));
  }
  const Json conda = python.value("conda_dependencies", Json());
  const bool has_conda = !user_managed && conda.is_object() && !conda.empty();

  if (!has_conda) {
    if (!node.interpreter) {
      return Err(FailedPreconditionError("environment '" + env_name + "' needs the interpreter '" +
                                         interpreter_name + "', which is not on this node"));
    }
    plan.interpreter = *node.interpreter;
    if (!user_managed && !pip.empty()) {
      plan.kind = PythonEnvPlan::Kind::kVenv;
      for (const auto& p : pip) plan.pip.push_back(p.get<std::string>());
    }
    return plan;
  }

  // The conda file without azureml-* entries, and with the spec's extra pip entries.
  Json file = conda;
  Json deps = Json::array();
  std::string python_version;
  std::vector<std::string> conda_packages, conda_pip;
  for (const auto& dep : conda.value("dependencies", Json::array())) {
    if (dep.is_string()) {
      const std::string d = dep.get<std::string>();
      if (IsAzureMlRequirement(d)) {
        plan.notes.push_back("conda requirement " + d +
                             ": satisfied by Gantry's own SDK (on the job's PYTHONPATH), not "
                             "installed");
        continue;
      }
      const std::string name = PackageName(d);
      if (name == "python") {
        python_version = PythonVersionOf(d);
      } else if (name != "pip") {
        conda_packages.push_back(d);
      }
      deps.push_back(dep);
    } else if (dep.is_object() && dep.contains("pip")) {
      Json sub = WithoutAzureMl(dep["pip"], "pip", plan.notes);
      for (const auto& p : pip) sub.push_back(p);
      for (const auto& p : sub) {
        if (!p.is_string()) {
          return Err(InvalidArgumentError("each pip entry of the conda file must be a string"));
        }
        conda_pip.push_back(p.get<std::string>());
      }
      deps.push_back(Json{{"pip", sub}});
    } else {
      deps.push_back(dep);
    }
  }
  const bool had_pip_section =
      std::any_of(deps.begin(), deps.end(), [](const Json& d) { return d.is_object(); });
  if (!had_pip_section && !pip.empty()) {
    deps.push_back("pip");
    deps.push_back(Json{{"pip", pip}});
    for (const auto& p : pip) conda_pip.push_back(p.get<std::string>());
  }
  file["dependencies"] = deps;

  if (node.conda_tool) {
    plan.kind = PythonEnvPlan::Kind::kConda;
    plan.conda_tool = *node.conda_tool;
    plan.conda_file = file;
    return plan;
  }
  // No conda here: a venv of a local interpreter of that Python, the conda packages by pip.
  std::optional<fs::path> base;
  const std::string here =
      node.interpreter && node.interpreter_version ? node.interpreter_version() : "";
  if (python_version.empty()) {
    base = node.interpreter;
  } else if (node.interpreter && SameMinor(here, python_version)) {
    base = node.interpreter;
  } else if (node.find_python) {
    base = node.find_python(python_version);
  }
  if (!base) {
    return Err(
        FailedPreconditionError("environment '" + env_name + "' is a conda spec for Python " +
                                (python_version.empty() ? std::string("3") : python_version) +
                                ", and this node has neither that Python (python" + python_version +
                                (here.empty() ? std::string() : "; python3 here is " + here) +
                                ") nor micromamba, mamba or conda on PATH to install it"));
  }
  plan.kind = PythonEnvPlan::Kind::kVenv;
  plan.interpreter = *base;
  plan.notes.push_back(
      "no micromamba, mamba or conda on this node: building the conda spec as a "
      "venv of " +
      base->string() +
      (conda_packages.empty() ? std::string() : ", its conda packages installed by pip"));
  for (const auto& c : conda_packages) plan.pip.push_back(CondaToPip(c));
  for (const auto& p : conda_pip) plan.pip.push_back(p);
  return plan;
}

std::string PipFailureSummary(const std::string& pip_output, const std::string& python_version) {
  static const std::string kNoMatch = "No matching distribution found for ";
  auto at = pip_output.rfind(kNoMatch);
  if (at == std::string::npos) return "";
  size_t start = at + kNoMatch.size();
  size_t end = pip_output.find_first_of("\r\n", start);
  std::string requirement =
      pip_output.substr(start, end == std::string::npos ? std::string::npos : end - start);
  while (!requirement.empty() && requirement.back() == ' ') requirement.pop_back();
  // pip lists the versions it did find: "(from versions: 2.16.1, 2.17.0, ...)".
  std::string available;
  static const std::string kFrom = "(from versions: ";
  if (auto from = pip_output.rfind(kFrom, at); from != std::string::npos) {
    size_t close = pip_output.find(')', from);
    if (close != std::string::npos) {
      available = pip_output.substr(from + kFrom.size(), close - from - kFrom.size());
    }
  }
  std::string out = "pip found no release of " + requirement + " that installs on this node" +
                    (python_version.empty() ? std::string() : "'s Python " + python_version);
  if (available == "none") {
    out += " (the package index has no release of it for this Python)";
  } else if (!available.empty()) {
    // The newest few are enough to pick a pin from.
    std::vector<std::string> versions;
    size_t pos = 0;
    while (pos < available.size()) {
      size_t comma = available.find(", ", pos);
      versions.push_back(
          available.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 2;
    }
    std::string newest;
    for (size_t i = versions.size() > 5 ? versions.size() - 5 : 0; i < versions.size(); ++i) {
      newest += (newest.empty() ? "" : ", ") + versions[i];
    }
    out += " (releases it can install: " + std::string(versions.size() > 5 ? "..., " : "") +
           newest + ")";
  }
  return out + "; change the pin";
}

}  // namespace gantry::env
