#include "observe/recent_errors.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace sluice::observe {
namespace {

pipeline::RequestRecord failed(unsigned status, std::string error) {
  pipeline::RequestRecord record;
  record.route = "chat/v1";
  record.backend = "llm";
  record.provider = "primary";
  record.model = "gpt-4o";
  record.status = status;
  record.error = std::move(error);
  return record;
}

TEST(RecentErrors, KeepsFailedRequestsAndFailoversOnly) {
  RecentErrors ring;
  ring.record(failed(200, ""), 1);
  ring.record(failed(502, "upstream reset"), 2);
  auto served_after_failover = failed(200, "");
  served_after_failover.failover_reasons = {"backend llm provider primary: refused"};
  ring.record(served_after_failover, 3);
  ring.record(failed(429, ""), 4);
  std::vector<RecentError> out;
  ring.collect(out);
  const auto errors = newest(out, 10);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].status, 429u);
  EXPECT_EQ(errors[0].error, "");
  EXPECT_EQ(errors[1].error, "failed over: backend llm provider primary: refused");
  EXPECT_EQ(errors[2].unix_ms, 2);
  EXPECT_EQ(errors[2].route, "chat/v1");
  EXPECT_EQ(errors[2].backend, "llm");
  EXPECT_EQ(errors[2].provider, "primary");
  EXPECT_EQ(errors[2].model, "gpt-4o");
}

TEST(RecentErrors, IsABoundedRingOfTheLatest) {
  RecentErrors ring;
  for (int i = 1; i <= 40; ++i) ring.record(failed(500, "e" + std::to_string(i)), i);
  std::vector<RecentError> out;
  ring.collect(out);
  ASSERT_EQ(out.size(), RecentErrors::kSlots);
  const auto errors = newest(out, 5);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0].error, "e40");
  EXPECT_EQ(errors[4].error, "e36");
}

TEST(RecentErrors, CutsLongFieldsOnCharacterBoundaries) {
  RecentErrors ring;
  std::string long_error;
  for (int i = 0; i < 400; ++i) long_error += "\xC3\xA9";  // é, two bytes each
  ring.record(failed(500, long_error), 1);
  std::vector<RecentError> out;
  ring.collect(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_LT(out[0].error.size(), long_error.size());
  EXPECT_EQ(out[0].error.size() % 2, 0u) << "no character cut in half";
  EXPECT_EQ(out[0].error, long_error.substr(0, out[0].error.size()));
  EXPECT_EQ(out[0].model, "gpt-4o") << "the fields before the error are whole";
}

TEST(RecentErrors, AReaderNeverSeesATornEntry) {
  RecentErrors ring;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 200000; ++i) {
      const auto text = std::string(i % 2 == 0 ? "aaaaaaaaaaaaaaaa" : "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
      ring.record(failed(500, text), i);
    }
    done = true;
  });
  while (!done) {
    std::vector<RecentError> out;
    ring.collect(out);
    for (const auto& e : out) {
      ASSERT_TRUE(e.error == "aaaaaaaaaaaaaaaa" || e.error == "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb") << e.error;
      ASSERT_EQ(e.error[0] == 'a', e.unix_ms % 2 == 0);
    }
  }
  writer.join();
}

}  // namespace
}  // namespace sluice::observe
