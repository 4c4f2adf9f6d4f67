#include "cli/python_sdk.h"

#include <cstdlib>

#include "common/process.h"

namespace gantry::cli {

fs::path FindPythonSdk() {
  if (const char* env = std::getenv("GANTRY_PYTHON_SDK"); env && *env) return env;
  fs::path exe_dir = SelfExecutable().parent_path();
  for (fs::path candidate : {exe_dir / ".." / "share" / "gantry" / "python",
                             exe_dir / ".." / "python", exe_dir / ".." / ".." / "python"}) {
    std::error_code ec;
    if (fs::exists(candidate / "gantry" / "__init__.py", ec)) return fs::canonical(candidate, ec);
  }
  return {};
}

}  // namespace gantry::cli
