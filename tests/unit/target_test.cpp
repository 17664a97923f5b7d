#include "http/target.hpp"

#include <gtest/gtest.h>

namespace sluice::http {
namespace {

std::string canonical(std::string_view path) {
  std::string out;
  const auto why = normalize_path(path, out);
  return why.empty() ? out : "refused: " + why;
}

bool refused(std::string_view path) {
  std::string out;
  return !normalize_path(path, out).empty();
}

TEST(TargetTest, CanonicalPathsAreKept) {
  EXPECT_EQ(canonical("/"), "/");
  EXPECT_EQ(canonical("/v1/chat/completions"), "/v1/chat/completions");
  EXPECT_EQ(canonical("/v1/models/"), "/v1/models/");
  EXPECT_EQ(canonical("/v1/files/file-abc.jsonl"), "/v1/files/file-abc.jsonl");
}

TEST(TargetTest, DotSegmentsAreResolved) {
  EXPECT_EQ(canonical("/v1/files/../audio/speech"), "/v1/audio/speech");
  EXPECT_EQ(canonical("/v1/./chat/completions"), "/v1/chat/completions");
  EXPECT_EQ(canonical("/v1/files/%2e%2e/audio/speech"), "/v1/audio/speech");
  EXPECT_EQ(canonical("/v1/files/.%2E/audio"), "/v1/audio");
  EXPECT_EQ(canonical("/v1/chat/.."), "/v1/");
  EXPECT_EQ(canonical("/v1/chat/."), "/v1/chat/");
  EXPECT_EQ(canonical("/a/b/../../c"), "/c");
}

TEST(TargetTest, ClimbingAboveTheRootIsRefused) {
  EXPECT_TRUE(refused("/.."));
  EXPECT_TRUE(refused("/v1/../../etc"));
  EXPECT_TRUE(refused("/%2e%2e/x"));
}

TEST(TargetTest, RepeatedSlashesAreMerged) {
  EXPECT_EQ(canonical("//v1///chat//completions"), "/v1/chat/completions");
  EXPECT_EQ(canonical("/v1/models//"), "/v1/models/");
}

TEST(TargetTest, UnreservedEscapesAreDecodedOthersUppercased) {
  EXPECT_EQ(canonical("/v1/%63hat/completions"), "/v1/chat/completions");
  EXPECT_EQ(canonical("/v1/files/a%7eb"), "/v1/files/a~b");
  EXPECT_EQ(canonical("/v1/files/a%3ab"), "/v1/files/a%3Ab");
  EXPECT_EQ(canonical("/v1/files/a%20b"), "/v1/files/a%20b");
}

TEST(TargetTest, EncodedSeparatorsAndNulAreRefused) {
  EXPECT_TRUE(refused("/v1/files%2F..%2Faudio"));
  EXPECT_TRUE(refused("/v1/files%2f"));
  EXPECT_TRUE(refused("/v1/a%5Cb"));
  EXPECT_TRUE(refused("/v1/a\\b"));
  EXPECT_TRUE(refused("/v1/a%00b"));
}

TEST(TargetTest, BrokenEscapesAndBadBytesAreRefused) {
  EXPECT_TRUE(refused("/v1/a%"));
  EXPECT_TRUE(refused("/v1/a%2"));
  EXPECT_TRUE(refused("/v1/a%zz"));
  EXPECT_TRUE(refused("/v1/a b"));
  EXPECT_TRUE(refused("/v1/\x01"));
  EXPECT_TRUE(refused("/v1/\xc3\xa9"));
  EXPECT_TRUE(refused("v1/chat"));
  EXPECT_TRUE(refused(""));
}

TEST(TargetTest, DotSegmentsWithParametersAreRefused) {
  EXPECT_TRUE(refused("/v1/files/..;/audio/speech"));
  EXPECT_TRUE(refused("/v1/files/.;x/audio"));
  EXPECT_EQ(canonical("/v1/files/file-1/content;/chat/completions"), "/v1/files/file-1/content;/chat/completions");
}

TEST(TargetTest, ApiPathStopsAtParameters) {
  EXPECT_EQ(api_path_of("/v1/files/file-1/content;/chat/completions"), "/v1/files/file-1/content");
  EXPECT_EQ(api_path_of("/v1/chat/completions"), "/v1/chat/completions");
}

TEST(TargetTest, QueryCharacters) {
  EXPECT_TRUE(valid_query("alt=sse&key=abc%20d"));
  EXPECT_TRUE(valid_query(""));
  EXPECT_FALSE(valid_query("a=b c"));
  EXPECT_FALSE(valid_query("a=b#c"));
  EXPECT_FALSE(valid_query("a=\x7f"));
}

}  // namespace
}  // namespace sluice::http
