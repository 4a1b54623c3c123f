//===- Tokenizer.h - Byte-level BPE tokenizer from tokenizer.json -*- C++
//-*-===//
//
// Text to token ids and back for models that ship a Hugging Face
// `tokenizers` file (tokenizer.json) with a byte-level BPE: MiniMax, Qwen2,
// GPT-2 style. What is read:
//   - added_tokens: matched in the text first (leftmost, longest), each one
//     id; those with special true can be left out when decoding;
//   - normalizer: null only;
//   - pre_tokenizer: ByteLevel (add_prefix_space false) with use_regex true
//     (GPT-2's split pattern), or a Sequence of a Split on one of the known
//     patterns (the Qwen2 pattern with \p{N} or \p{N}{1,3}, GPT-2's;
//     behavior Isolated, invert false) and ByteLevel with use_regex false;
//   - model: BPE with vocab and merges ("a b" strings or [a, b] pairs),
//     byte_fallback false, no dropout, no subword prefix or suffix,
//     ignore_merges either way;
//   - post_processor: null or ByteLevel; decoder: ByteLevel.
// Anything else is an error naming the key and the value, never a silent
// different tokenization. Library HymirTokenizer (std, abseil; no LLVM).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_TOKENIZER_H
#define HYMIR_RUNTIME_TOKENIZER_H

#include "absl/status/statusor.h"
#include "absl/types/span.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hymir {

class Tokenizer {
public:
  /// Reads a tokenizer.json file; errors name the path and the key.
  static absl::StatusOr<Tokenizer> fromFile(const std::string &path);
  /// Parses tokenizer.json text; `source` names it in errors.
  static absl::StatusOr<Tokenizer> fromJson(std::string_view json,
                                            std::string_view source);

  /// The ids of UTF-8 `text` (no template tokens are added; an added token
  /// written in the text is its id). Invalid UTF-8 is an error naming the
  /// byte offset.
  absl::StatusOr<std::vector<int32_t>> encode(std::string_view text) const;

  /// The text of `ids`: byte-level tokens back to bytes, invalid UTF-8
  /// replaced by U+FFFD as `tokenizers` does; special added tokens left out
  /// when `skipSpecialTokens`. An id outside the vocabulary is an error.
  absl::StatusOr<std::string> decode(absl::Span<const int32_t> ids,
                                     bool skipSpecialTokens = false) const;

  /// One more than the largest id (vocabulary and added tokens).
  int64_t idLimit() const;
  /// The id of a token (vocabulary or added), if there is one.
  std::optional<int32_t> tokenId(std::string_view token) const;

  struct Impl;

private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl)
      : impl(std::move(impl)) {}
  std::shared_ptr<const Impl> impl;
};

} // namespace hymir

#endif // HYMIR_RUNTIME_TOKENIZER_H
