#include "tests/test_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace ptqflow::testing {
namespace fs = std::filesystem;

fs::path SharedDir() {
  const char* env = std::getenv("PTQFLOW_SHARED_DIR");
  fs::path p = env ? fs::path(env) : fs::path(PTQFLOW_SOURCE_DIR) / ".." / "shared";
  if (!fs::is_directory(p)) {
    ADD_FAILURE() << "shared material not found at " << p
                  << " (set PTQFLOW_SHARED_DIR); this test needs it and cannot run";
  }
  return p;
}

fs::path ModelsDir() {
  const char* env = std::getenv("PTQFLOW_MODELS_DIR");
  return env ? fs::path(env) : fs::path(PTQFLOW_SOURCE_DIR) / ".cache" / "models";
}

fs::path ModelPath(const std::string& file) {
  fs::path p = ModelsDir() / file;
  if (!fs::exists(p)) {
    ADD_FAILURE() << "model " << p << " is missing: run scripts/fetch_models.sh";
  }
  return p;
}

fs::path PtqflowBinary() { return fs::path(PTQFLOW_BINARY); }

fs::path TempDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path p = fs::temp_directory_path() / "ptqflow_tests" /
               (std::string(info->test_suite_name()) + "." + info->name() + "." +
                std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

int RunCommand(const std::string& cmd, std::string* output) {
  std::string full = cmd + " 2>&1";
  FILE* f = ::popen(full.c_str(), "r");
  if (!f) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) output->append(buf.data(), n);
  int st = ::pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

}  // namespace ptqflow::testing
