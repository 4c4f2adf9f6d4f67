// `gantry serve --model DIR`: serves one model with the inference protocols until SIGINT or
// SIGTERM, then finishes in-flight requests. Backends: torchscript and tensorflow (in process,
// from plugins), python (an Azure ML entry script in worker processes), tensorflow-serving
// (TensorFlow Serving's own program as a child).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace gantry::cli {

struct ServeFlags {
  std::string model;
  std::string name;
  std::string host = "127.0.0.1";
  int port = 0;
  // When set, the chosen port is written here (atomically) once the server listens.
  std::string port_file;
  std::string backend = "torchscript";
  int64_t max_batch_size = 0;
  int64_t max_queue_delay_us = 0;
  // HTTP loop threads; 0: one per core, at most 4.
  int http_threads = 0;
  // --backend python (see serving/python_worker_pool.h).
  std::string entry_script;
  std::string source_dir;  // default: the entry script's folder
  // python: the workers' interpreter (default /usr/bin/python3); tensorflow: the interpreter
  // whose tensorflow package provides the C API (default python3 on PATH).
  std::string python;
  int workers = 1;
  int64_t request_timeout_ms = 60'000;
  int max_queued_requests = 64;
  // --backend tensorflow: the folder of libtensorflow_cc.so.2 (instead of asking --python),
  // and the SignatureDef served.
  std::string tensorflow_lib;
  std::string signature = "serving_default";
};

int RunServe(const ServeFlags& flags);

// Adds `gantry serve`; the exit code lands in `result`.
void AddServeCommand(CLI::App& app, int& result);

}  // namespace gantry::cli
