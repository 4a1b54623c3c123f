//===- TokenizerGoldenTest.cpp - hymir::Tokenizer against `tokenizers` ----===//
//
// test/e2e/tokenizer-golden/<name>/ holds a tokenizer.json trained by the
// Hugging Face `tokenizers` library and golden.json, that library's ids and
// decoded text of a few hundred strings (scripts/make-tokenizer-golden.py,
// run on the GPU host). Every string's ids and decoded text must be equal
// to hymir's. Skips, saying so, where the folder is absent.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#ifndef HYMIR_TOKENIZER_GOLDEN
#error "HYMIR_TOKENIZER_GOLDEN (the golden data folder) is not defined"
#endif

using Json = nlohmann::json;

namespace {

class TokenizerGoldenTest : public testing::TestWithParam<const char *> {};

TEST_P(TokenizerGoldenTest, MatchesTokenizersLibrary) {
  std::filesystem::path folder =
      std::filesystem::path(HYMIR_TOKENIZER_GOLDEN) / GetParam();
  if (!std::filesystem::exists(folder / "golden.json"))
    GTEST_SKIP() << "no golden data in " << folder
                 << " (made by scripts/make-tokenizer-golden.py on a host "
                    "with the tokenizers library)";
  absl::StatusOr<hymir::Tokenizer> tokenizer =
      hymir::Tokenizer::fromFile((folder / "tokenizer.json").string());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  std::ifstream in(folder / "golden.json");
  Json golden = Json::parse(in);
  int failures = 0;
  const Json &cases = golden.at("cases");
  ASSERT_GE(cases.size(), 100u);
  for (size_t k = 0; k < cases.size() && failures < 10; ++k) {
    const Json &c = cases[k];
    std::string text = c.at("text");
    std::vector<int32_t> want = c.at("ids");
    std::string decoded = c.value("decoded", text);
    std::string skipped = c.value("decoded_skip", decoded);
    absl::StatusOr<std::vector<int32_t>> ids = tokenizer->encode(text);
    ASSERT_TRUE(ids.ok()) << ids.status();
    if (*ids != want) {
      ++failures;
      ADD_FAILURE() << "case " << k << " " << Json(text).dump() << ": ids "
                    << Json(*ids).dump() << ", tokenizers "
                    << Json(want).dump();
    }
    absl::StatusOr<std::string> back = tokenizer->decode(want);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, decoded) << "case " << k;
    absl::StatusOr<std::string> backSkip = tokenizer->decode(want, true);
    ASSERT_TRUE(backSkip.ok()) << backSkip.status();
    EXPECT_EQ(*backSkip, skipped) << "case " << k;
  }
  for (const Json &c : golden.at("decode_cases")) {
    std::vector<int32_t> ids = c.at("ids");
    absl::StatusOr<std::string> back = tokenizer->decode(ids);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, c.at("decoded").get<std::string>())
        << "ids " << Json(ids).dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, TokenizerGoldenTest,
                         testing::Values("qwen", "cl100k", "gpt2"));

} // namespace
