#include "config/yaml_bounds.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <sstream>
#include <unordered_map>
#include <vector>

namespace sluice::config {

namespace {

// Thrown out of the event handler to stop parsing as soon as the bound is passed.
struct TooManyNodes {
  int line;
};

// Thrown when a document starts where the previous one did: yaml-cpp 0.7 leaves a "," it
// cannot place in block context (",", "[a],", "- a\n,") unconsumed and would produce empty
// documents at that position for ever.
struct NoProgress {
  int line;
};

// Counts expanded nodes: each node is 1 plus its children; an alias counts as the whole
// (expanded) node its anchor names. Counts saturate just above the bound, so no sum overflows.
class NodeCounter : public YAML::EventHandler {
 public:
  explicit NodeCounter(std::size_t max_nodes) : max_(max_nodes) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (started_ && mark.pos == last_start_) throw NoProgress{mark.line >= 0 ? mark.line + 1 : 0};
    started_ = true;
    last_start_ = mark.pos;
    anchors_.clear();
    open_.clear();
    total_ = 0;
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string&) override {
    leaf(mark, anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto it = anchors_.find(anchor);
    add(mark, it == anchors_.end() ? 1 : it->second);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    YAML::anchor_t anchor;
    std::size_t count;  // this collection and everything in it so far
    YAML::Mark mark;
  };

  std::size_t saturate(std::size_t a, std::size_t b) const {
    const auto sum = a + b;
    return sum < a || sum > max_ + 1 ? max_ + 1 : sum;
  }

  void add(const YAML::Mark& mark, std::size_t nodes) {
    total_ = saturate(total_, nodes);
    if (total_ > max_) throw TooManyNodes{mark.line >= 0 ? mark.line + 1 : 0};
    if (!open_.empty()) open_.back().count = saturate(open_.back().count, nodes);
  }
  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) anchors_[anchor] = 1;
    add(mark, 1);
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    total_ = saturate(total_, 1);
    if (total_ > max_) throw TooManyNodes{mark.line >= 0 ? mark.line + 1 : 0};
    open_.push_back(Open{anchor, 1, mark});
  }
  void close() {
    if (open_.empty()) return;
    const auto done = open_.back();
    open_.pop_back();
    if (done.anchor != YAML::NullAnchor) anchors_[done.anchor] = done.count;
    // The collection itself was counted in total_ when it opened; its children as they came.
    if (!open_.empty()) open_.back().count = saturate(open_.back().count, done.count);
  }

  std::size_t max_;
  bool started_ = false;
  int last_start_ = 0;
  std::size_t total_ = 0;
  std::unordered_map<YAML::anchor_t, std::size_t> anchors_;
  std::vector<Open> open_;
};

}  // namespace

std::optional<YamlBoundsProblem> check_yaml_bounds(std::string_view text, std::size_t max_nodes) {
  if (text.size() > kMaxConfigFileBytes)
    return YamlBoundsProblem{0, "file is " + std::to_string(text.size()) + " bytes; the limit is " +
                                    std::to_string(kMaxConfigFileBytes) + " bytes"};
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  NodeCounter counter(max_nodes);
  try {
    while (parser.HandleNextDocument(counter)) {
    }
  } catch (const NoProgress& e) {
    return YamlBoundsProblem{e.line, "YAML syntax error: a \",\" outside a flow collection ([...] or {...})"};
  } catch (const TooManyNodes& e) {
    return YamlBoundsProblem{e.line, "a document expands to more than " + std::to_string(max_nodes) +
                                         " YAML nodes (aliases expanded); refusing it"};
  }
  return std::nullopt;
}

}  // namespace sluice::config
