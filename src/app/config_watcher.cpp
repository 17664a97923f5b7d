#include "app/config_watcher.hpp"

#include <openssl/evp.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

namespace sluice::app {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kDirectoryEvents = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
                                           IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr std::uint32_t kFileEvents = IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
constexpr int kMaxLinkHops = 40;  // as the kernel's ELOOP limit

bool yaml_name(std::string_view name) {
  return name.ends_with(".yaml") || name.ends_with(".yml");
}

// The way from `input` to what it names: every (directory, entry) met on it that is a symbolic
// link, then the final entry in its directory. `target` is the resolved path when every
// component exists; else the walk stops at the first missing one (recorded as the last step, so
// its creation is seen).
struct Resolution {
  std::vector<std::pair<std::string, std::string>> steps;
  std::optional<fs::path> target;
};

Resolution resolve(const std::string& input) {
  Resolution out;
  std::error_code ec;
  fs::path start(input);
  if (start.is_relative()) start = fs::current_path(ec) / start;
  std::deque<std::string> pending;
  for (const auto& part : start.relative_path()) pending.push_back(part.string());
  fs::path at("/");
  int hops = 0;
  while (!pending.empty()) {
    const auto part = std::move(pending.front());
    pending.pop_front();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      at = at.parent_path();  // `at` has no link left in it: its lexical parent is its real one
      continue;
    }
    const auto next = at / part;
    struct stat st {};
    if (::lstat(next.c_str(), &st) != 0 || (S_ISLNK(st.st_mode) && hops >= kMaxLinkHops)) {
      out.steps.emplace_back(at.string(), part);
      return out;
    }
    if (!S_ISLNK(st.st_mode)) {
      at = next;
      continue;
    }
    ++hops;
    out.steps.emplace_back(at.string(), part);
    const auto link = fs::read_symlink(next, ec);
    if (ec) return out;
    std::deque<std::string> parts;
    for (const auto& p : link.relative_path()) parts.push_back(p.string());
    pending.insert(pending.begin(), parts.begin(), parts.end());
    if (link.is_absolute()) at = "/";
  }
  out.steps.emplace_back(at.parent_path().string(), at.filename().string());
  out.target = at;
  return out;
}

// The YAML files of a configuration path as the loader lists them: the path itself, or the
// *.yaml / *.yml entries of the directory that are not directories, in name order.
std::vector<fs::path> config_files(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return {fs::path(path)};
  std::vector<fs::path> files;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (!yaml_name(it->path().filename().string())) continue;
    std::error_code status_ec;
    if (fs::is_directory(it->status(status_ec)) && !status_ec) continue;
    files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// config_files() as path strings, as the fingerprints take them.
std::vector<std::string> config_file_names(const std::string& path) {
  std::vector<std::string> names;
  for (const auto& file : config_files(path)) names.push_back(file.string());
  return names;
}

}  // namespace

std::vector<std::string> referenced_files(const config::Config& config) {
  std::vector<std::string> files;
  for (const auto& [name, policy] : config.policies) {
    if (!policy.auth || !policy.auth->jwt || !policy.auth->jwt->providers) continue;
    for (const auto& provider : *policy.auth->jwt->providers) {
      if (provider.jwks.file.empty()) continue;
      fs::path path(provider.jwks.file);
      // As policy/auth.cpp reads it: relative to the file of the policy.
      if (path.is_relative()) path = fs::path(policy.origin.file).parent_path() / path;
      std::error_code ec;
      files.push_back(fs::absolute(path, ec).string());
    }
  }
  return files;
}

ConfigWatcher::ConfigWatcher(boost::asio::io_context& io, Options options)
    : options_(std::move(options)), stream_(io), debounce_(io) {}

ConfigWatcher::~ConfigWatcher() {
  stop();
}

bool ConfigWatcher::start(std::string* error) {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    *error = std::string("inotify: ") + std::strerror(errno);
    return false;
  }
  stream_.assign(fd_);
  rewatch();
  if (watches_.empty()) {
    *error = "inotify: cannot watch " + options_.config_path;
    stop();
    return false;
  }
  // Files edited since the running configuration was loaded: it was not built from what they
  // hold now, so no fingerprint stands for it (an empty one matches none) and they are reloaded.
  const bool edited_since_load =
      !options_.loaded_fingerprint.empty() && config_fingerprint(options_.config_path) != options_.loaded_fingerprint;
  last_fingerprint_ = edited_since_load ? std::string() : fingerprint();
  read_events();
  if (edited_since_load) schedule();
  return true;
}

void ConfigWatcher::stop() {
  debounce_.cancel();
  if (stream_.is_open()) {
    boost::system::error_code ignored;
    stream_.close(ignored);  // closes the inotify descriptor and with it every watch
  }
  fd_ = -1;
  watches_.clear();
}

void ConfigWatcher::read_events() {
  stream_.async_read_some(boost::asio::buffer(buffer_), [this](const boost::system::error_code& ec, std::size_t n) {
    if (ec) return;  // closed by stop()
    bool relevant = false;
    for (std::size_t at = 0; at + sizeof(inotify_event) <= n;) {
      inotify_event event;
      std::memcpy(&event, buffer_ + at, sizeof event);
      const char* name = event.len > 0 ? buffer_ + at + sizeof(inotify_event) : "";
      relevant = relevant || matters(event.wd, name, event.mask);
      at += sizeof(inotify_event) + event.len;
    }
    if (relevant) schedule();
    read_events();
  });
}

bool ConfigWatcher::matters(int wd, const char* name, std::uint32_t mask) const {
  if (mask & IN_Q_OVERFLOW) return true;  // events were lost: look at the files again
  const auto it = watches_.find(wd);
  if (it == watches_.end()) return false;  // a watch rewatch() removed
  const auto& watch = it->second;
  if (!watch.directory || name[0] == '\0') return true;
  return watch.names.contains(name) || (watch.any_yaml && yaml_name(name));
}

void ConfigWatcher::schedule() {
  debounce_.expires_after(options_.debounce);
  debounce_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) settle();
  });
}

void ConfigWatcher::settle() {
  // The links may point elsewhere now: watch the new way to each file before reading them, so a
  // change made while they are read is seen.
  rewatch();
  auto now = fingerprint();
  if (now == last_fingerprint_) return;
  last_fingerprint_ = std::move(now);
  options_.changed();
  rewatch();  // the new configuration may refer to other files
}

void ConfigWatcher::rewatch() {
  for (const auto& [wd, watch] : watches_) ::inotify_rm_watch(fd_, wd);
  watches_.clear();
  watch_path(options_.config_path, true);
  if (options_.referenced_files) {
    for (const auto& file : options_.referenced_files()) watch_path(file, false);
  }
}

void ConfigWatcher::watch_path(const std::string& path, bool config_root) {
  const auto resolution = resolve(path);
  for (const auto& [directory, name] : resolution.steps) add_watch(directory, true, name, false);
  if (!resolution.target) return;
  std::error_code ec;
  if (config_root && fs::is_directory(*resolution.target, ec)) {
    add_watch(resolution.target->string(), true, "", true);
    for (const auto& file : config_files(resolution.target->string())) watch_path(file.string(), false);
  } else {
    add_watch(resolution.target->string(), false, "", false);
  }
}

void ConfigWatcher::add_watch(const std::string& path, bool directory, const std::string& name, bool any_yaml) {
  const int wd = ::inotify_add_watch(fd_, path.c_str(), directory ? kDirectoryEvents : kFileEvents);
  if (wd < 0) return;  // gone meanwhile: its directory's watch reports what comes next
  auto& watch = watches_[wd];
  watch.directory = directory;
  watch.any_yaml = watch.any_yaml || any_yaml;
  if (!name.empty()) watch.names.insert(name);
}

// SHA-256 over every file's name and content (the configuration's files as the loader lists
// them, then the referenced files): equal fingerprints, nothing to reload.
std::string ConfigWatcher::fingerprint() const {
  auto files = config_file_names(options_.config_path);
  if (options_.referenced_files) {
    for (auto& file : options_.referenced_files()) files.push_back(std::move(file));
  }
  return digest(files);
}

std::string ConfigWatcher::config_fingerprint(const std::string& config_path) {
  return digest(config_file_names(config_path));
}

std::string ConfigWatcher::digest(const std::vector<std::string>& files) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  char chunk[64 * 1024];
  for (const auto& name : files) {
    EVP_DigestUpdate(ctx.get(), name.data(), name.size() + 1);
    std::ifstream in(name, std::ios::binary);
    if (!in) {
      EVP_DigestUpdate(ctx.get(), "\x01missing", 8);
      continue;
    }
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0)
      EVP_DigestUpdate(ctx.get(), chunk, static_cast<std::size_t>(in.gcount()));
    EVP_DigestUpdate(ctx.get(), "\x02", 1);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &size);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

}  // namespace sluice::app
