//===- Tokenizer.cpp - Byte-level BPE tokenizer from tokenizer.json -------===//
//
// What of tokenizer.json is read and what is refused: Tokenizer.h. The split
// patterns are not run by a regex engine: each known pattern is matched by
// hand below (a pattern is a list of alternatives tried in order at each
// position; the first that matches gives the piece), with the Unicode
// letter and number categories from UnicodeCategories.inc and \s as the
// White_Space property, as Oniguruma (which `tokenizers` uses) reads them.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Tokenizer.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <queue>
#include <sstream>
#include <unordered_map>

namespace hymir {
namespace {

using Json = nlohmann::json;

struct CodePointRange {
  char32_t first, last;
};
#include "UnicodeCategories.inc"

template <size_t N>
bool inRanges(const CodePointRange (&ranges)[N], char32_t c) {
  const CodePointRange *end = ranges + N;
  const CodePointRange *it =
      std::upper_bound(ranges, end, c, [](char32_t v, const CodePointRange &r) {
        return v < r.first;
      });
  return it != ranges && c <= (it - 1)->last;
}

bool isLetter(char32_t c) {
  if (c < 0x80)
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return inRanges(kLetterRanges, c);
}
bool isNumber(char32_t c) {
  if (c < 0x80)
    return c >= '0' && c <= '9';
  return inRanges(kNumberRanges, c);
}
// The White_Space property (Oniguruma's \s for Unicode text).
bool isSpace(char32_t c) {
  return (c >= 0x9 && c <= 0xD) || c == 0x20 || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}
bool isNewline(char32_t c) { return c == '\r' || c == '\n'; }
bool isOther(char32_t c) { return !isSpace(c) && !isLetter(c) && !isNumber(c); }

// Decodes one UTF-8 sequence at `s[i]`: its code point and length, or the
// length of the maximal invalid subpart (at least 1) with `valid` false.
struct Utf8Step {
  char32_t cp;
  size_t length;
  bool valid;
};
Utf8Step decodeUtf8(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = byte(i);
  if (b < 0x80)
    return {b, 1, true};
  size_t need;
  char32_t cp;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1, cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2, cp = b & 0x0F;
    lo = b == 0xE0 ? 0xA0 : 0x80;
    hi = b == 0xED ? 0x9F : 0xBF;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3, cp = b & 0x07;
    lo = b == 0xF0 ? 0x90 : 0x80;
    hi = b == 0xF4 ? 0x8F : 0xBF;
  } else {
    return {0, 1, false};
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size())
      return {0, k, false};
    unsigned char c = byte(i + k);
    if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF))
      return {0, k, false};
    cp = (cp << 6) | (c & 0x3F);
  }
  return {cp, need + 1, true};
}

void appendUtf8(std::string &out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Bytes as `tokenizers` decodes them (String::from_utf8_lossy): each
// maximal invalid subpart becomes one U+FFFD.
std::string lossyUtf8(std::string_view bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size();) {
    Utf8Step step = decodeUtf8(bytes, i);
    if (step.valid)
      out.append(bytes.substr(i, step.length));
    else
      appendUtf8(out, 0xFFFD);
    i += step.length;
  }
  return out;
}

// The split patterns known, by their text in tokenizer.json.
enum class SplitPattern { None, Gpt2, QwenDigit, QwenDigits3 };

constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt2PatternShort =
    R"('(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::optional<SplitPattern> knownPattern(std::string_view p) {
  if (p == kGpt2Pattern || p == kGpt2PatternShort)
    return SplitPattern::Gpt2;
  // The Qwen2 / cl100k family, with the optional prefix and the symbol run
  // written greedy or possessive (the same pieces: nothing after them can
  // make a possessive match fail where a greedy one succeeds).
  for (auto [digits, kind] : {std::pair<std::string_view, SplitPattern>{
                                  R"(\p{N})", SplitPattern::QwenDigit},
                              {R"(\p{N}{1,3})", SplitPattern::QwenDigits3}})
    for (std::string_view opt : {"?", "?+"})
      for (std::string_view run : {"+", "++"})
        if (p ==
            std::string(R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}])") +
                std::string(opt) + R"(\p{L}+|)" + std::string(digits) +
                R"(| ?[^\s\p{L}\p{N}])" + std::string(run) +
                R"([\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)")
          return kind;
  return std::nullopt;
}

// 's 't 're 've 'm 'll 'd at `i`: the length matched, or 0.
size_t matchContraction(const std::vector<char32_t> &c, size_t i,
                        bool ignoreCase) {
  size_t n = c.size();
  if (c[i] != '\'' || i + 1 >= n)
    return 0;
  auto letter = [&](size_t k) -> char32_t {
    char32_t x = c[k];
    if (!ignoreCase)
      return x;
    if (x == 0x17F) // LATIN SMALL LETTER LONG S folds to s.
      return 's';
    return x < 0x80 && x >= 'A' && x <= 'Z' ? x + 0x20 : x;
  };
  char32_t a = letter(i + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd')
    return 2;
  if (i + 2 >= n)
    return 0;
  char32_t b = letter(i + 2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
      (a == 'l' && b == 'l'))
    return 3;
  return 0;
}

// \s*[\r\n]+ | \s+(?!\S) | \s+ at a white-space `i` (the alternatives after
// the symbol run in every known pattern; the first only in Qwen's).
size_t matchSpaces(const std::vector<char32_t> &c, size_t i, bool newlineRun) {
  size_t n = c.size(), end = i;
  while (end < n && isSpace(c[end]))
    ++end;
  if (newlineRun)
    for (size_t k = end; k > i; --k)
      if (isNewline(c[k - 1]))
        return k - i;
  if (end == n || end - 1 == i)
    return end - i;
  return end - 1 - i;
}

size_t matchGpt2(const std::vector<char32_t> &c, size_t i) {
  size_t n = c.size();
  if (size_t len = matchContraction(c, i, /*ignoreCase=*/false))
    return len;
  size_t j = c[i] == ' ' ? i + 1 : i;
  if (j < n) {
    for (bool (*cls)(char32_t) : {isLetter, isNumber, isOther}) {
      if (!cls(c[j]))
        continue;
      while (j < n && cls(c[j]))
        ++j;
      return j - i;
    }
  }
  return matchSpaces(c, i, /*newlineRun=*/false);
}

size_t matchQwen(const std::vector<char32_t> &c, size_t i, size_t maxDigits) {
  size_t n = c.size();
  if (size_t len = matchContraction(c, i, /*ignoreCase=*/true))
    return len;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  size_t j = !isNewline(c[i]) && !isLetter(c[i]) && !isNumber(c[i]) ? i + 1 : i;
  if (j < n && isLetter(c[j])) {
    while (j < n && isLetter(c[j]))
      ++j;
    return j - i;
  }
  // \p{N}{1,maxDigits}
  if (isNumber(c[i])) {
    j = i;
    while (j < n && j - i < maxDigits && isNumber(c[j]))
      ++j;
    return j - i;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  j = c[i] == ' ' ? i + 1 : i;
  if (j < n && isOther(c[j])) {
    while (j < n && isOther(c[j]))
      ++j;
    while (j < n && isNewline(c[j]))
      ++j;
    return j - i;
  }
  return matchSpaces(c, i, /*newlineRun=*/true);
}

struct AddedToken {
  std::string content;
  int32_t id;
  bool special;
  bool normalized;
};

} // namespace

struct Tokenizer::Impl {
  std::string source;
  SplitPattern pattern = SplitPattern::None;
  bool ignoreMerges = false;
  std::unordered_map<std::string, int32_t> vocab;
  std::vector<std::string> idToToken;
  std::vector<int> addedIndex; // id -> index into `added`, or -1
  std::vector<AddedToken> added;
  // (left id << 32 | right id) -> (rank, merged id)
  std::unordered_map<uint64_t, std::pair<uint32_t, int32_t>> merges;
  std::string byteToChar[256];
  int charToByte[324];

  absl::Status error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
  }
  absl::Status encodeWord(std::string_view bytes,
                          std::vector<int32_t> &ids) const;
  absl::Status encodeText(std::string_view text,
                          std::vector<int32_t> &ids) const;
};

absl::Status Tokenizer::Impl::encodeWord(std::string_view bytes,
                                         std::vector<int32_t> &ids) const {
  if (bytes.empty())
    return absl::OkStatus();
  if (ignoreMerges) {
    std::string whole;
    for (unsigned char b : bytes)
      whole += byteToChar[b];
    if (auto it = vocab.find(whole); it != vocab.end()) {
      ids.push_back(it->second);
      return absl::OkStatus();
    }
  }
  struct Symbol {
    int32_t id;
    int prev, next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  for (unsigned char b : bytes) {
    auto it = vocab.find(byteToChar[b]);
    if (it == vocab.end())
      return error(absl::StrCat("model.vocab has no token for byte 0x",
                                absl::Hex(b), " (byte-level \"", byteToChar[b],
                                "\")"));
    int k = static_cast<int>(symbols.size());
    symbols.push_back({it->second, k - 1, k + 1, true});
  }
  symbols.back().next = -1;
  // Lowest rank first, leftmost among equal ranks (the order `tokenizers`
  // merges in); entries made stale by an earlier merge are skipped.
  using Candidate = std::tuple<uint32_t, int, int32_t>; // rank, left, merged
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push = [&](int left) {
    if (left < 0 || symbols[left].next < 0)
      return;
    uint64_t key = uint64_t(uint32_t(symbols[left].id)) << 32 |
                   uint32_t(symbols[symbols[left].next].id);
    if (auto it = merges.find(key); it != merges.end())
      queue.emplace(it->second.first, left, it->second.second);
  };
  for (int k = 0; k + 1 < static_cast<int>(symbols.size()); ++k)
    push(k);
  while (!queue.empty()) {
    auto [rank, left, merged] = queue.top();
    queue.pop();
    Symbol &a = symbols[left];
    if (!a.alive || a.next < 0)
      continue;
    uint64_t key =
        uint64_t(uint32_t(a.id)) << 32 | uint32_t(symbols[a.next].id);
    auto it = merges.find(key);
    if (it == merges.end() || it->second.first != rank)
      continue;
    Symbol &b = symbols[a.next];
    a.id = merged;
    b.alive = false;
    a.next = b.next;
    if (b.next >= 0)
      symbols[b.next].prev = left;
    push(a.prev);
    push(left);
  }
  for (const Symbol &s : symbols)
    if (s.alive)
      ids.push_back(s.id);
  return absl::OkStatus();
}

absl::Status Tokenizer::Impl::encodeText(std::string_view text,
                                         std::vector<int32_t> &ids) const {
  std::vector<char32_t> cps;
  std::vector<size_t> offsets;
  for (size_t i = 0; i < text.size();) {
    Utf8Step step = decodeUtf8(text, i);
    if (!step.valid)
      return absl::InvalidArgumentError(
          absl::StrCat("text to tokenize is not valid UTF-8 at byte ", i));
    cps.push_back(step.cp);
    offsets.push_back(i);
    i += step.length;
  }
  offsets.push_back(text.size());
  auto piece = [&](size_t from, size_t to) {
    return text.substr(offsets[from], offsets[to] - offsets[from]);
  };
  size_t n = cps.size();
  for (size_t i = 0; i < n;) {
    size_t len = n - i;
    switch (pattern) {
    case SplitPattern::None:
      break;
    case SplitPattern::Gpt2:
      len = matchGpt2(cps, i);
      break;
    case SplitPattern::QwenDigit:
      len = matchQwen(cps, i, 1);
      break;
    case SplitPattern::QwenDigits3:
      len = matchQwen(cps, i, 3);
      break;
    }
    if (absl::Status s = encodeWord(piece(i, i + len), ids); !s.ok())
      return s;
    i += len;
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<std::string> getString(const Json &obj, const char *key,
                                      const std::string &where) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string())
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".", key, " is missing or not a string"));
  return it->get<std::string>();
}

// A boolean key that must have `expected` (absent counts as `absentIs`).
absl::Status expectBool(const Json &obj, const char *key,
                        const std::string &where, bool expected,
                        bool absentIs) {
  auto it = obj.find(key);
  bool value = absentIs;
  if (it != obj.end() && !it->is_null()) {
    if (!it->is_boolean())
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".", key, " is not a boolean"));
    value = it->get<bool>();
  }
  if (value != expected)
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".", key, " is ", value ? "true" : "false",
                     "; only ", expected ? "true" : "false", " is supported"));
  return absl::OkStatus();
}

bool isNullOr(const Json &obj, const char *key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null();
}

std::string typeOf(const Json &obj) {
  auto it = obj.find("type");
  return it != obj.end() && it->is_string() ? it->get<std::string>()
                                            : std::string("(no type)");
}

} // namespace

absl::StatusOr<Tokenizer> Tokenizer::fromJson(std::string_view text,
                                              std::string_view source) {
  auto impl = std::make_shared<Impl>();
  impl->source = std::string(source);
  auto fail = [&](absl::string_view what) { return impl->error(what); };
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object())
    return fail("not a JSON object");

  // The byte-level alphabet: printable bytes stand for themselves, the
  // others for 256 + their rank among the others.
  std::fill(std::begin(impl->charToByte), std::end(impl->charToByte), -1);
  for (int b = 0, extra = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) ||
                     (b >= 174 && b <= 255);
    char32_t c = printable ? b : 256 + extra++;
    appendUtf8(impl->byteToChar[b], c);
    impl->charToByte[c] = b;
  }

  if (!isNullOr(root, "normalizer"))
    return fail(absl::StrCat("normalizer ", typeOf(root["normalizer"]),
                             " is not supported (only null)"));

  // Pre-tokenizer.
  if (isNullOr(root, "pre_tokenizer"))
    return fail("pre_tokenizer is null; a ByteLevel pre-tokenizer is needed");
  const Json &pre = root["pre_tokenizer"];
  auto byteLevel = [&](const Json &p, const std::string &where,
                       bool useRegex) -> absl::Status {
    if (absl::Status s = expectBool(p, "add_prefix_space", where, false, true);
        !s.ok())
      return fail(s.message());
    if (absl::Status s = expectBool(p, "use_regex", where, useRegex, true);
        !s.ok())
      return fail(s.message());
    return absl::OkStatus();
  };
  if (typeOf(pre) == "ByteLevel") {
    bool useRegex = true;
    if (auto it = pre.find("use_regex"); it != pre.end() && it->is_boolean())
      useRegex = it->get<bool>();
    if (absl::Status s = byteLevel(pre, "pre_tokenizer", useRegex); !s.ok())
      return s;
    impl->pattern = useRegex ? SplitPattern::Gpt2 : SplitPattern::None;
  } else if (typeOf(pre) == "Sequence") {
    auto list = pre.find("pretokenizers");
    if (list == pre.end() || !list->is_array() || list->size() != 2 ||
        typeOf((*list)[0]) != "Split" || typeOf((*list)[1]) != "ByteLevel")
      return fail("pre_tokenizer.pretokenizers is not [Split, ByteLevel], "
                  "the only Sequence supported");
    const Json &split = (*list)[0];
    std::string where = "pre_tokenizer.pretokenizers[0]";
    auto pattern = split.find("pattern");
    if (pattern == split.end() || !pattern->is_object() ||
        !pattern->contains("Regex") || !(*pattern)["Regex"].is_string())
      return fail(absl::StrCat(where, ".pattern is not {\"Regex\": ...}"));
    std::string regex = (*pattern)["Regex"].get<std::string>();
    std::optional<SplitPattern> known = knownPattern(regex);
    if (!known)
      return fail(absl::StrCat(where, ".pattern.Regex \"", regex,
                               "\" is not a split pattern hymir knows (GPT-2's "
                               "or the Qwen2 / cl100k family)"));
    impl->pattern = *known;
    absl::StatusOr<std::string> behavior = getString(split, "behavior", where);
    if (!behavior.ok())
      return fail(behavior.status().message());
    if (*behavior != "Isolated")
      return fail(absl::StrCat(where, ".behavior is \"", *behavior,
                               "\"; only Isolated is supported"));
    if (absl::Status s = expectBool(split, "invert", where, false, false);
        !s.ok())
      return fail(s.message());
    if (absl::Status s =
            byteLevel((*list)[1], "pre_tokenizer.pretokenizers[1]", false);
        !s.ok())
      return s;
  } else {
    return fail(absl::StrCat("pre_tokenizer ", typeOf(pre),
                             " is not supported (ByteLevel, or a Sequence of "
                             "Split and ByteLevel)"));
  }

  if (!isNullOr(root, "post_processor") &&
      typeOf(root["post_processor"]) != "ByteLevel")
    return fail(absl::StrCat("post_processor ", typeOf(root["post_processor"]),
                             " is not supported (only null or ByteLevel)"));
  if (isNullOr(root, "decoder") || typeOf(root["decoder"]) != "ByteLevel")
    return fail(absl::StrCat("decoder ",
                             isNullOr(root, "decoder")
                                 ? std::string("null")
                                 : typeOf(root["decoder"]),
                             " is not supported (only ByteLevel)"));

  // The model.
  auto modelIt = root.find("model");
  if (modelIt == root.end() || !modelIt->is_object())
    return fail("model is missing or not an object");
  const Json &model = *modelIt;
  if (typeOf(model) != "BPE")
    return fail(absl::StrCat("model.type is ", typeOf(model),
                             "; only BPE is supported"));
  if (absl::Status s =
          expectBool(model, "byte_fallback", "model", false, false);
      !s.ok())
    return fail(s.message());
  if (!isNullOr(model, "dropout") &&
      !(model["dropout"].is_number() && model["dropout"].get<double>() == 0))
    return fail("model.dropout is set; only null is supported");
  for (const char *key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (!isNullOr(model, key) &&
        !(model[key].is_string() && model[key].get<std::string>().empty()))
      return fail(
          absl::StrCat("model.", key, " is set; only null is supported"));
  if (auto it = model.find("ignore_merges");
      it != model.end() && it->is_boolean())
    impl->ignoreMerges = it->get<bool>();

  auto vocabIt = model.find("vocab");
  if (vocabIt == model.end() || !vocabIt->is_object())
    return fail("model.vocab is missing or not an object");
  int64_t limit = 0;
  std::vector<std::pair<int64_t, std::string>> entries;
  for (auto it = vocabIt->begin(); it != vocabIt->end(); ++it) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
        it->get<int64_t>() >= (int64_t(1) << 31) - 1)
      return fail(absl::StrCat("model.vocab[\"", it.key(),
                               "\"] is not an id in [0, 2^31 - 1)"));
    int64_t id = it->get<int64_t>();
    impl->vocab[it.key()] = static_cast<int32_t>(id);
    entries.emplace_back(id, it.key());
    limit = std::max(limit, id + 1);
  }

  // Added tokens.
  if (auto it = root.find("added_tokens"); it != root.end() && !it->is_null()) {
    if (!it->is_array())
      return fail("added_tokens is not an array");
    for (size_t k = 0; k < it->size(); ++k) {
      const Json &t = (*it)[k];
      std::string where = absl::StrCat("added_tokens[", k, "]");
      if (!t.is_object())
        return fail(absl::StrCat(where, " is not an object"));
      absl::StatusOr<std::string> content = getString(t, "content", where);
      if (!content.ok())
        return fail(content.status().message());
      if (content->empty())
        return fail(absl::StrCat(where, ".content is empty"));
      auto id = t.find("id");
      if (id == t.end() || !id->is_number_integer() || id->get<int64_t>() < 0 ||
          id->get<int64_t>() >= (int64_t(1) << 31) - 1)
        return fail(absl::StrCat(where, ".id is not an id in [0, 2^31 - 1)"));
      for (const char *key : {"single_word", "lstrip", "rstrip"})
        if (absl::Status s = expectBool(t, key, where, false, false); !s.ok())
          return fail(s.message());
      auto flag = [&](const char *key, bool absentIs) {
        auto f = t.find(key);
        return f != t.end() && f->is_boolean() ? f->get<bool>() : absentIs;
      };
      impl->added.push_back({*content, static_cast<int32_t>(id->get<int64_t>()),
                             flag("special", false), flag("normalized", true)});
      limit = std::max(limit, id->get<int64_t>() + 1);
    }
  }

  impl->idToToken.assign(limit, std::string());
  std::vector<bool> present(limit, false);
  for (auto &[id, token] : entries) {
    impl->idToToken[id] = token;
    present[id] = true;
  }
  impl->addedIndex.assign(limit, -1);
  for (size_t k = 0; k < impl->added.size(); ++k) {
    impl->addedIndex[impl->added[k].id] = static_cast<int>(k);
    present[impl->added[k].id] = true;
  }
  // Ids without a token stay decodable as errors (present is checked there).
  for (int64_t id = 0; id < limit; ++id)
    if (!present[id])
      impl->addedIndex[id] = -2;

  // Merges.
  auto mergesIt = model.find("merges");
  if (mergesIt == model.end() || !mergesIt->is_array())
    return fail("model.merges is missing or not an array");
  for (size_t k = 0; k < mergesIt->size(); ++k) {
    const Json &m = (*mergesIt)[k];
    std::string a, b;
    if (m.is_string()) {
      std::string s = m.get<std::string>();
      size_t space = s.find(' ');
      if (space == std::string::npos ||
          s.find(' ', space + 1) != std::string::npos)
        return fail(absl::StrCat("model.merges[", k, "] \"", s,
                                 "\" is not two tokens split by one space"));
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() &&
               m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      return fail(
          absl::StrCat("model.merges[", k, "] is neither \"a b\" nor [a, b]"));
    }
    auto ia = impl->vocab.find(a), ib = impl->vocab.find(b),
         im = impl->vocab.find(a + b);
    for (auto [it, name] : {std::pair{ia, &a}, {ib, &b}})
      if (it == impl->vocab.end())
        return fail(absl::StrCat("model.merges[", k, "]: \"", *name,
                                 "\" is not in model.vocab"));
    if (im == impl->vocab.end())
      return fail(absl::StrCat("model.merges[", k, "]: the merged token \"",
                               a + b, "\" is not in model.vocab"));
    uint64_t key = uint64_t(uint32_t(ia->second)) << 32 | uint32_t(ib->second);
    impl->merges[key] = {static_cast<uint32_t>(k), im->second};
  }
  return Tokenizer(std::move(impl));
}

absl::StatusOr<Tokenizer> Tokenizer::fromFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(
        absl::StrCat("cannot open tokenizer file ", path));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad())
    return absl::DataLossError(absl::StrCat("cannot read ", path));
  return fromJson(text.str(), path);
}

absl::StatusOr<std::vector<int32_t>>
Tokenizer::encode(std::string_view text) const {
  // Added tokens split the text first: those matched on the raw text
  // (normalized false), then, in the rest, the others; leftmost and
  // longest, as `tokenizers` does.
  struct Part {
    std::string_view text;
    int32_t id; // -1: plain text
  };
  std::vector<Part> parts{{text, -1}};
  for (bool normalized : {false, true}) {
    std::vector<Part> next;
    for (const Part &part : parts) {
      if (part.id >= 0) {
        next.push_back(part);
        continue;
      }
      std::string_view rest = part.text;
      size_t from = 0;
      for (size_t i = 0; i < rest.size(); ++i) {
        const AddedToken *best = nullptr;
        for (const AddedToken &t : impl->added)
          if (t.normalized == normalized &&
              rest.substr(i, t.content.size()) == t.content &&
              (!best || t.content.size() > best->content.size()))
            best = &t;
        if (!best)
          continue;
        if (i > from)
          next.push_back({rest.substr(from, i - from), -1});
        next.push_back({best->content, best->id});
        i += best->content.size() - 1;
        from = i + 1;
      }
      if (from < rest.size())
        next.push_back({rest.substr(from), -1});
    }
    parts = std::move(next);
  }
  std::vector<int32_t> ids;
  for (const Part &part : parts) {
    if (part.id >= 0) {
      ids.push_back(part.id);
      continue;
    }
    if (absl::Status s = impl->encodeText(part.text, ids); !s.ok())
      return s;
  }
  return ids;
}

absl::StatusOr<std::string> Tokenizer::decode(absl::Span<const int32_t> ids,
                                              bool skipSpecialTokens) const {
  std::string bytes;
  for (size_t k = 0; k < ids.size(); ++k) {
    int32_t id = ids[k];
    if (id < 0 || id >= idLimit() || impl->addedIndex[id] == -2)
      return absl::InvalidArgumentError(absl::StrCat(
          "token id ", id, " (position ", k,
          ") is not in the tokenizer's vocabulary (", impl->source, ")"));
    const std::string *token = &impl->idToToken[id];
    if (int a = impl->addedIndex[id]; a >= 0) {
      if (skipSpecialTokens && impl->added[a].special)
        continue;
      token = &impl->added[a].content;
    }
    // Each token's characters back to bytes; a token with a character
    // outside the byte-level alphabet stands for its own UTF-8 bytes.
    std::string mapped;
    bool all = true;
    for (size_t i = 0; i < token->size() && all;) {
      Utf8Step step = decodeUtf8(*token, i);
      if (!step.valid || step.cp >= 324 || impl->charToByte[step.cp] < 0)
        all = false;
      else
        mapped += static_cast<char>(impl->charToByte[step.cp]);
      i += step.length;
    }
    bytes += all ? mapped : *token;
  }
  return lossyUtf8(bytes);
}

int64_t Tokenizer::idLimit() const {
  return static_cast<int64_t>(impl->idToToken.size());
}

std::optional<int32_t> Tokenizer::tokenId(std::string_view token) const {
  for (const AddedToken &t : impl->added)
    if (t.content == token)
      return t.id;
  if (auto it = impl->vocab.find(std::string(token)); it != impl->vocab.end())
    return it->second;
  return std::nullopt;
}

} // namespace hymir
