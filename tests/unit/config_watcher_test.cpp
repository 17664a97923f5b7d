#include "app/config_watcher.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace sluice::app {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("sluice-watch-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::trunc) << text;
}

// Runs `io` until `changes` reaches `want` or `limit` passes; then a little longer, to see that
// no further call comes.
int run_until(boost::asio::io_context& io, const int& changes, int want, std::chrono::milliseconds limit = 3s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (changes < want && std::chrono::steady_clock::now() < end) io.run_for(20ms);
  io.run_for(300ms);
  return changes;
}

TEST(ConfigWatcher, FollowsAConfigMapDataSwap) {
  TempDir dir;
  fs::create_directory(dir.path / "..2026_1");
  write(dir.path / "..2026_1" / "gw.yaml", "a: 1\n");
  fs::create_directory_symlink("..2026_1", dir.path / "..data");
  fs::create_symlink("..data/gw.yaml", dir.path / "gw.yaml");

  boost::asio::io_context io;
  int changes = 0;
  ConfigWatcher watcher(io, {.config_path = dir.path.string(),
                             .debounce = 50ms,
                             .referenced_files = {},
                             .changed = [&] { ++changes; },
                             .loaded_fingerprint = {}});
  std::string error;
  ASSERT_TRUE(watcher.start(&error)) << error;

  fs::create_directory(dir.path / "..2026_2");
  write(dir.path / "..2026_2" / "gw.yaml", "a: 2\n");
  fs::create_directory_symlink("..2026_2", dir.path / "..data_tmp");
  fs::rename(dir.path / "..data_tmp", dir.path / "..data");
  fs::remove_all(dir.path / "..2026_1");
  EXPECT_EQ(run_until(io, changes, 1), 1);

  // The links now lead to ..2026_2: a write there is seen.
  write(dir.path / "..2026_2" / "gw.yaml", "a: 3\n");
  EXPECT_EQ(run_until(io, changes, 2), 2);
}

TEST(ConfigWatcher, DebouncesAndIgnoresEventsThatChangeNothing) {
  TempDir dir;
  const auto file = dir.path / "sluice.yaml";
  write(file, "v: 0\n");
  boost::asio::io_context io;
  int changes = 0;
  ConfigWatcher watcher(io, {.config_path = file.string(),
                             .debounce = 150ms,
                             .referenced_files = {},
                             .changed = [&] { ++changes; },
                             .loaded_fingerprint = {}});
  std::string error;
  ASSERT_TRUE(watcher.start(&error)) << error;

  for (int i = 1; i <= 5; ++i) {
    write(file, "v: " + std::to_string(i) + "\n");
    io.run_for(30ms);
  }
  EXPECT_EQ(run_until(io, changes, 1), 1) << "five writes within the debounce: one call";

  fs::last_write_time(file, fs::file_time_type::clock::now());  // touch
  write(dir.path / "other.txt", "x");                           // a file that is not the configuration
  EXPECT_EQ(run_until(io, changes, 2, 600ms), 1) << "nothing changed";

  const auto temp = dir.path / ".sluice.yaml.swp";
  write(temp, "v: renamed\n");
  fs::rename(temp, file);
  EXPECT_EQ(run_until(io, changes, 2), 2) << "an atomic rename over the file";
}

TEST(ConfigWatcher, SeesFilesAddedToTheDirectoryAndReferencedFiles) {
  TempDir dir;
  write(dir.path / "a.yaml", "a: 1\n");
  const auto jwks = dir.path / "keys" / "jwks.json";
  fs::create_directories(jwks.parent_path());
  write(jwks, "{}");
  boost::asio::io_context io;
  int changes = 0;
  ConfigWatcher watcher(io, {.config_path = dir.path.string(),
                             .debounce = 50ms,
                             .referenced_files = [&] { return std::vector<std::string>{jwks.string()}; },
                             .changed = [&] { ++changes; },
                             .loaded_fingerprint = {}});
  std::string error;
  ASSERT_TRUE(watcher.start(&error)) << error;

  write(dir.path / "b.yml", "b: 1\n");
  EXPECT_EQ(run_until(io, changes, 1), 1) << "a new file";
  write(jwks, R"({"keys": []})");
  EXPECT_EQ(run_until(io, changes, 2), 2) << "a referenced file";
  fs::remove(dir.path / "b.yml");
  EXPECT_EQ(run_until(io, changes, 3), 3) << "a removed file";
}

// The process loads the configuration, then arms the watcher: an edit in between is reloaded,
// and a start with the files as they were loaded reloads nothing.
TEST(ConfigWatcher, AnEditBetweenTheLoadAndStartIsReloaded) {
  TempDir dir;
  const auto file = dir.path / "sluice.yaml";
  write(file, "v: loaded\n");
  const auto loaded = ConfigWatcher::config_fingerprint(file.string());

  boost::asio::io_context io;
  // A watcher of `file` that counts its calls in `calls`, started as the process starts it.
  const auto counting = [&](int& calls) {
    return ConfigWatcher::Options{.config_path = file.string(),
                                  .debounce = 50ms,
                                  .referenced_files = {},
                                  .changed = [&calls] { ++calls; },
                                  .loaded_fingerprint = loaded};
  };
  int unchanged_calls = 0;
  ConfigWatcher unchanged(io, counting(unchanged_calls));
  std::string error;
  ASSERT_TRUE(unchanged.start(&error)) << error;
  EXPECT_EQ(run_until(io, unchanged_calls, 1, 300ms), 0) << "the files are as loaded";
  unchanged.stop();

  write(file, "v: edited before the watch\n");
  int changes = 0;
  ConfigWatcher watcher(io, counting(changes));
  ASSERT_TRUE(watcher.start(&error)) << error;
  EXPECT_EQ(run_until(io, changes, 1), 1) << "the edit made before start() is reloaded, once";

  write(file, "v: edited after\n");
  EXPECT_EQ(run_until(io, changes, 2), 2) << "and the watch goes on";
}

}  // namespace
}  // namespace sluice::app
