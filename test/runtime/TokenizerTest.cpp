//===- TokenizerTest.cpp - hymir::Tokenizer on small tokenizer.json -------===//
//
// Encode and decode with hand-made byte-level BPE files (merge order,
// added tokens, the split patterns, invalid UTF-8 both ways) and the errors
// for what the tokenizer does not support. TokenizerGoldenTest.cpp checks
// it against the `tokenizers` library's own ids.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using hymir::Tokenizer;
using Json = nlohmann::json;

namespace {

// The byte-level character of a byte, as UTF-8.
std::string byteChar(int b) {
  int extra = 0;
  for (int k = 0; k < b; ++k)
    if (!((k >= 33 && k <= 126) || (k >= 161 && k <= 172) || k >= 174))
      ++extra;
  bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  int c = printable ? b : 256 + extra;
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

// A tokenizer whose vocabulary is the 256 byte characters (id = byte) and
// then the merged tokens, with the given merges, pre-tokenizer and added
// tokens.
Json tinyJson(const std::vector<std::pair<std::string, std::string>> &merges,
              Json preTokenizer) {
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b)
    vocab[byteChar(b)] = b;
  Json mergeList = Json::array();
  int next = 256;
  for (auto &[a, b] : merges) {
    if (!vocab.contains(a + b))
      vocab[a + b] = next++;
    mergeList.push_back(a + " " + b);
  }
  return Json{{"version", "1.0"},
              {"added_tokens", Json::array({{{"id", 300},
                                             {"content", "<|end|>"},
                                             {"single_word", false},
                                             {"lstrip", false},
                                             {"rstrip", false},
                                             {"normalized", false},
                                             {"special", true}},
                                            {{"id", 301},
                                             {"content", "<|end|>x"},
                                             {"normalized", false},
                                             {"special", false}}})},
              {"normalizer", nullptr},
              {"pre_tokenizer", preTokenizer},
              {"post_processor", nullptr},
              {"decoder", {{"type", "ByteLevel"}}},
              {"model",
               {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"byte_fallback", false},
                {"vocab", vocab},
                {"merges", mergeList}}}};
}

Json qwenPre(std::string digits = R"(\p{N})") {
  std::string pattern =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|)" + digits +
      R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  return Json{{"type", "Sequence"},
              {"pretokenizers", Json::array({{{"type", "Split"},
                                              {"pattern", {{"Regex", pattern}}},
                                              {"behavior", "Isolated"},
                                              {"invert", false}},
                                             {{"type", "ByteLevel"},
                                              {"add_prefix_space", false},
                                              {"use_regex", false}}})}};
}

Tokenizer make(const Json &json) {
  absl::StatusOr<Tokenizer> t = Tokenizer::fromJson(json.dump(), "tiny.json");
  EXPECT_TRUE(t.ok()) << t.status();
  return *t;
}

std::vector<int32_t> encode(const Tokenizer &t, std::string_view text) {
  absl::StatusOr<std::vector<int32_t>> ids = t.encode(text);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? *ids : std::vector<int32_t>{};
}

std::string errorOf(const Json &json) {
  absl::StatusOr<Tokenizer> t = Tokenizer::fromJson(json.dump(), "tiny.json");
  return t.ok() ? std::string("(no error)") : std::string(t.status().message());
}

} // namespace

TEST(TokenizerTest, BytesWithoutMerges) {
  Tokenizer t = make(tinyJson({}, qwenPre()));
  EXPECT_EQ(encode(t, "ab"), (std::vector<int32_t>{'a', 'b'}));
  EXPECT_EQ(encode(t, " \n"), (std::vector<int32_t>{' ', '\n'}));
  EXPECT_EQ(encode(t, "é"), (std::vector<int32_t>{0xC3, 0xA9}));
  EXPECT_EQ(encode(t, ""), std::vector<int32_t>{});
  EXPECT_EQ(t.idLimit(), 302);
  EXPECT_EQ(t.tokenId("<|end|>"), 300);
  EXPECT_EQ(t.tokenId("a"), 'a');
  EXPECT_EQ(t.tokenId("nope"), std::nullopt);
}

TEST(TokenizerTest, MergesByRankThenLeftmost) {
  // Ranks: "b c" before "a b": "abc" is a + bc, not ab + c.
  Tokenizer t =
      make(tinyJson({{"b", "c"}, {"a", "b"}, {"a", "bc"}}, qwenPre()));
  EXPECT_EQ(encode(t, "abc"), (std::vector<int32_t>{258}));
  EXPECT_EQ(encode(t, "ab"), (std::vector<int32_t>{257}));
  EXPECT_EQ(encode(t, "abab"), (std::vector<int32_t>{257, 257}));
  // Equal pairs merge leftmost first: aaa is aa + a.
  Tokenizer u = make(tinyJson({{"a", "a"}}, qwenPre()));
  EXPECT_EQ(encode(u, "aaa"), (std::vector<int32_t>{256, 'a'}));
  // Merges never cross a split: "a b" with a space merge is two pieces.
  Tokenizer v = make(tinyJson({{"a", "Ġ"}, {"Ġ", "b"}}, qwenPre()));
  EXPECT_EQ(encode(v, "a b"), (std::vector<int32_t>{'a', 257}));
}

TEST(TokenizerTest, MergesAsPairs) {
  Json json = tinyJson({{"a", "b"}}, qwenPre());
  json["model"]["merges"] = Json::array({Json::array({"a", "b"})});
  EXPECT_EQ(encode(make(json), "ab"), (std::vector<int32_t>{256}));
}

TEST(TokenizerTest, QwenSplits) {
  // With a merge of every pair of a space and a letter and of digit pairs,
  // the pieces show in the ids: " x" merges only where the pattern keeps
  // the space with the letter.
  Tokenizer t = make(tinyJson({{"Ġ", "x"}, {"1", "2"}}, qwenPre()));
  EXPECT_EQ(encode(t, "a x"), (std::vector<int32_t>{'a', 256}));
  EXPECT_EQ(encode(t, "a  x"), (std::vector<int32_t>{'a', ' ', 256}));
  EXPECT_EQ(encode(t, "12"), (std::vector<int32_t>{'1', '2'}));
  Tokenizer u = make(tinyJson({{"1", "2"}}, qwenPre(R"(\p{N}{1,3})")));
  EXPECT_EQ(encode(u, "12"), (std::vector<int32_t>{256}));
  EXPECT_EQ(encode(u, "1212"), (std::vector<int32_t>{256, '1', '2'}));
}

TEST(TokenizerTest, ByteLevelGpt2Pattern) {
  Json pre = {{"type", "ByteLevel"},
              {"add_prefix_space", false},
              {"trim_offsets", true},
              {"use_regex", true}};
  Tokenizer t = make(tinyJson({{"Ġ", "1"}, {"'", "s"}}, pre));
  EXPECT_EQ(encode(t, "x 1"), (std::vector<int32_t>{'x', 256}));
  EXPECT_EQ(encode(t, "x's"), (std::vector<int32_t>{'x', 257}));
}

TEST(TokenizerTest, AddedTokensLongestFirst) {
  Tokenizer t = make(tinyJson({}, qwenPre()));
  EXPECT_EQ(encode(t, "a<|end|>b"), (std::vector<int32_t>{'a', 300, 'b'}));
  EXPECT_EQ(encode(t, "<|end|>x<|end|>"), (std::vector<int32_t>{301, 300}));
  EXPECT_EQ(encode(t, "<|end|"),
            (std::vector<int32_t>{'<', '|', 'e', 'n', 'd', '|'}));
}

TEST(TokenizerTest, Decode) {
  Tokenizer t = make(tinyJson({{"a", "b"}}, qwenPre()));
  std::vector<int32_t> ids = {256, 300, ' ', 0xC3, 0xA9};
  EXPECT_EQ(*t.decode(ids), "ab<|end|> é");
  EXPECT_EQ(*t.decode(ids, /*skipSpecialTokens=*/true), "ab é");
  // A split character decodes to U+FFFD, as tokenizers does.
  EXPECT_EQ(*t.decode(std::vector<int32_t>{0xC3}), "\xEF\xBF\xBD");
  EXPECT_EQ(*t.decode(std::vector<int32_t>{0xE4, 0xBD, 'a'}), "\xEF\xBF\xBD"
                                                              "a");
  EXPECT_EQ(*t.decode(std::vector<int32_t>{0xFF, 0xBD}),
            "\xEF\xBF\xBD\xEF\xBF\xBD");
  for (std::string text :
       {"hello world", "tab\tnew\nline", "你好 🤖👨‍👩‍👧"})
    EXPECT_EQ(*t.decode(encode(t, text)), text);
}

TEST(TokenizerTest, DecodeErrors) {
  Tokenizer t = make(tinyJson({}, qwenPre()));
  absl::StatusOr<std::string> bad = t.decode(std::vector<int32_t>{'a', 999});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "token id 999 (position 1) is not in the tokenizer's vocabulary "
            "(tiny.json)");
  EXPECT_FALSE(t.decode(std::vector<int32_t>{-1}).ok());
  EXPECT_FALSE(t.decode(std::vector<int32_t>{290}).ok()); // a hole
}

TEST(TokenizerTest, EncodeInvalidUtf8) {
  Tokenizer t = make(tinyJson({}, qwenPre()));
  absl::StatusOr<std::vector<int32_t>> ids = t.encode("ab\xC3(");
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().message(),
            "text to tokenize is not valid UTF-8 at byte 2");
}

TEST(TokenizerTest, Unsupported) {
  Json base = tinyJson({}, qwenPre());
  auto with = [&](auto change) {
    Json json = base;
    change(json);
    return errorOf(json);
  };
  EXPECT_EQ(with([](Json &j) { j["model"]["type"] = "Unigram"; }),
            "tiny.json: model.type is Unigram; only BPE is supported");
  EXPECT_EQ(with([](Json &j) { j["model"]["byte_fallback"] = true; }),
            "tiny.json: model.byte_fallback is true; only false is supported");
  EXPECT_EQ(with([](Json &j) { j["normalizer"] = {{"type", "NFC"}}; }),
            "tiny.json: normalizer NFC is not supported (only null)");
  EXPECT_EQ(with([](Json &j) { j["decoder"] = nullptr; }),
            "tiny.json: decoder null is not supported (only ByteLevel)");
  EXPECT_EQ(with([](Json &j) {
              j["post_processor"] = {{"type", "TemplateProcessing"}};
            }),
            "tiny.json: post_processor TemplateProcessing is not supported "
            "(only null or ByteLevel)");
  EXPECT_EQ(with([](Json &j) {
              j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] =
                  "\\w+";
            }),
            "tiny.json: pre_tokenizer.pretokenizers[0].pattern.Regex \"\\w+\" "
            "is not a split pattern hymir knows (GPT-2's or the Qwen2 / cl100k "
            "family)");
  EXPECT_EQ(
      with([](Json &j) {
        j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed";
      }),
      "tiny.json: pre_tokenizer.pretokenizers[0].behavior is \"Removed\"; "
      "only Isolated is supported");
  EXPECT_EQ(with([](Json &j) {
              j["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true;
            }),
            "tiny.json: pre_tokenizer.pretokenizers[1].add_prefix_space is "
            "true; only false is supported");
  EXPECT_EQ(
      with([](Json &j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; }),
      "tiny.json: pre_tokenizer Whitespace is not supported (ByteLevel, "
      "or a Sequence of Split and ByteLevel)");
  EXPECT_EQ(with([](Json &j) { j["added_tokens"][0]["lstrip"] = true; }),
            "tiny.json: added_tokens[0].lstrip is true; only false is "
            "supported");
  EXPECT_EQ(with([](Json &j) { j["model"]["merges"] = {"a b c"}; }),
            "tiny.json: model.merges[0] \"a b c\" is not two tokens split by "
            "one space");
  EXPECT_EQ(with([](Json &j) { j["model"]["merges"] = {"a zz"}; }),
            "tiny.json: model.merges[0]: \"zz\" is not in model.vocab");
  EXPECT_EQ(with([](Json &j) { j["model"]["merges"] = {"a b"}; }),
            "tiny.json: model.merges[0]: the merged token \"ab\" is not in "
            "model.vocab");
  EXPECT_EQ(with([](Json &j) { j["model"]["vocab"]["a"] = -3; }),
            "tiny.json: model.vocab[\"a\"] is not an id in [0, 2^31 - 1)");
  EXPECT_EQ(errorOf(Json::array()), "tiny.json: not a JSON object");
  absl::StatusOr<Tokenizer> missing =
      Tokenizer::fromFile("/nonexistent/t.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "cannot open tokenizer file /nonexistent/t.json");
}

TEST(TokenizerTest, MissingByte) {
  Json json = tinyJson({}, qwenPre());
  json["model"]["vocab"].erase("a");
  absl::StatusOr<Tokenizer> t = Tokenizer::fromJson(json.dump(), "tiny.json");
  ASSERT_TRUE(t.ok()) << t.status();
  absl::StatusOr<std::vector<int32_t>> ids = t->encode("xa");
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().message(),
            "tiny.json: model.vocab has no token for byte 0x61 (byte-level "
            "\"a\")");
}
