// JobSpec: a command job as its author wrote it, in the shape of the Azure ML CLI v2
// command-job YAML (https://azuremlschemas.azureedge.net/latest/commandJob.schema.json).
//
// ParseJobYaml reads the YAML and rejects anything it does not understand with a message that
// names the file, line and field; LoadJobFile also resolves relative paths against the file's
// folder and checks that they exist. ToJson/FromJson carry the same spec through REST bodies
// and the metadata store; FromJson applies the same rules as the YAML reader.
// The placeholder functions handle `${{inputs.NAME}}` / `${{outputs.NAME}}` in `command`.
//
// Thread-safe: plain values and stateless functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace gantry::jobs {

namespace fs = std::filesystem;

struct InputSpec {
  enum class Kind { kLiteral, kUriFile, kUriFolder };
  Kind kind = Kind::kLiteral;
  // For kLiteral: the value as text. Numbers stay as written ("0.010"); booleans are
  // normalised to "true"/"false".
  std::string literal;
  // For kUriFile/kUriFolder: the path as written; absolute after LoadJobFile.
  std::string path;
  // For kUriFile/kUriFolder: "ro_mount", "download", or "" (the backend's default).
  std::string mode;

  bool operator==(const InputSpec&) const = default;
};

struct OutputSpec {
  std::string type = "uri_folder";  // "uri_folder" or "uri_file"
  std::string mode;                 // "rw_mount", "upload", or "" (the backend's default)

  bool operator==(const OutputSpec&) const = default;
};

struct JobSpec {
  std::string name, display_name, experiment_name, description;
  std::string command;  // never empty in a parsed spec
  // Folder uploaded as the run's working directory; absolute after LoadJobFile; "" = none.
  std::string code;
  // As written; "" = the machine's python; "python:<interpreter path>" for the
  // `environment: {python: <path>}` form.
  std::string environment;
  std::string compute = "local";  // an `azureml:` prefix is stripped
  std::map<std::string, InputSpec> inputs;
  std::map<std::string, OutputSpec> outputs;
  std::map<std::string, std::string> environment_variables, tags;
  int64_t timeout_seconds = 0;  // limits.timeout; 0 = none
  // Kept raw (null when absent) for the compute backends to interpret.
  Json resources, distribution;

  // The YAML's shape in JSON. Literal inputs become JSON strings; empty fields are omitted.
  Json ToJson() const;
  // Inverse of ToJson, FromJson(ToJson(s)) == s. Also accepts any body the YAML reader would
  // accept (numbers, booleans, both input forms). InvalidArgument naming the field otherwise.
  static Result<JobSpec> FromJson(const Json& json);

  bool operator==(const JobSpec&) const = default;
};

// Parses a command-job YAML document. `file_name` only labels messages, e.g.
// "job.yml:7:1: unknown field 'comand' (did you mean 'command'?)". Paths are kept as written
// and not checked. Placeholders in `command` are validated. InvalidArgument on any problem.
Result<JobSpec> ParseJobYaml(std::string_view text, std::string_view file_name);

// Reads and parses `file`, resolves `code` and uri input paths against the file's folder, and
// checks that `code` is an existing folder and every uri_file/uri_folder input exists with the
// right kind. NotFound when `file` cannot be read; InvalidArgument (naming the field or input
// and the resolved path) for everything else.
Result<JobSpec> LoadJobFile(const fs::path& file);

// What LoadJobFile does after parsing: resolves `code` and uri input paths against `dir` and
// checks that they exist with the right kind. `label` (the file name) prefixes messages.
Status ResolveLocalPaths(JobSpec& spec, const fs::path& dir, const std::string& label);

// True for inputs that name a registered asset rather than a local path:
// "azureml:NAME:VERSION", "azureml:NAME@latest", and the same with "gantry:".
bool IsAssetReference(std::string_view path);

// One `${{ ... }}` of a command: where it is and what it says.
struct Placeholder {
  size_t begin = 0, end = 0;  // [begin, end) covers "${{ ... }}"
  std::string content;        // trimmed, e.g. "inputs.lr"
};
// Every `${{ ... }}` in `command`, in order; an unterminated `${{` is text.
std::vector<Placeholder> ScanPlaceholders(std::string_view command);

// The contents of every `${{ ... }}` in `command`, trimmed, e.g. {"inputs.lr",
// "outputs.model"}, each once, in order of first appearance. An unterminated `${{` is text.
std::vector<std::string> FindPlaceholders(std::string_view command);

// OK when every placeholder in spec.command is ${{inputs.X}} or ${{outputs.X}} with X declared
// in spec.inputs / spec.outputs. InvalidArgument naming the placeholder otherwise.
Status ValidatePlaceholders(const JobSpec& spec);

// Replaces each ${{inputs.X}} / ${{outputs.X}} (spaces inside the braces allowed) with the
// value given for X, inserted verbatim: quoting is the caller's business. InvalidArgument
// naming the placeholder when X has no value or the namespace is not inputs/outputs.
Result<std::string> SubstitutePlaceholders(std::string_view command,
                                           const std::map<std::string, std::string>& inputs,
                                           const std::map<std::string, std::string>& outputs);

}  // namespace gantry::jobs
