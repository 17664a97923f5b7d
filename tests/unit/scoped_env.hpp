// Test support: sets an environment variable for the lifetime of the object (unsets it after).
// Not thread-safe (the environment is process-wide); for single-threaded unit tests.
#pragma once

#include <cstdlib>

namespace sluice::testing {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

}  // namespace sluice::testing
