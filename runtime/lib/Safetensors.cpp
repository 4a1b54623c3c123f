//===- Safetensors.cpp - reading and writing safetensors files ------------===//
//
// The safetensors reader (mmap plus a strict header validator built on a small
// JSON parser that accepts only objects, arrays, strings and integers) and the
// writer. Nothing here trusts the file: every length and offset is checked
// with overflow-safe arithmetic before a view into the data is handed out, and
// the reader keeps only what it returns, so a hostile header costs memory in
// proportion to its tensors, not to its JSON values.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Safetensors.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hymir {
namespace {

/// Headers beyond this are treated as corrupt (the reference implementation
/// uses the same bound).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
/// Safetensors headers nest three deep; the bound keeps a hostile header from
/// exhausting the stack.
constexpr int kMaxJsonDepth = 64;
constexpr std::string_view kMetadataKey = "__metadata__";

/// Debian's abseil has its own string_view, which absl::StrCat wants.
absl::string_view toAbsl(std::string_view s) { return {s.data(), s.size()}; }

/// A name as it appears in messages: quoted, with control bytes escaped.
std::string quoted(std::string_view name) {
  return absl::StrCat("'", absl::Utf8SafeCHexEscape(toAbsl(name)), "'");
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i != 0)
      out += ", ";
    // Negative extents only occur in expected shapes, where they mean "any".
    out += shape[i] < 0 ? std::string("?") : absl::StrCat(shape[i]);
  }
  return out + "]";
}

bool checkedMul(uint64_t a, uint64_t b, uint64_t &out) {
  return !__builtin_mul_overflow(a, b, &out);
}

/// The number of elements of `shape` times `elementSize`, or nullopt if a
/// dimension is negative or the product of the non-zero dimensions overflows
/// 64 bits (so that the answer does not depend on where a zero sits).
std::optional<uint64_t> byteSize(const std::vector<int64_t> &shape,
                                 size_t elementSize) {
  uint64_t total = elementSize;
  bool empty = false;
  for (int64_t dim : shape) {
    if (dim < 0)
      return std::nullopt;
    if (dim == 0)
      empty = true;
    else if (!checkedMul(total, static_cast<uint64_t>(dim), total))
      return std::nullopt;
  }
  return empty ? 0 : total;
}

/// The length of the well-formed UTF-8 sequence at the start of `s` (which
/// is not empty), or 0 if it is malformed, overlong, a surrogate or beyond
/// U+10FFFF.
size_t utf8SequenceLength(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  auto continuation = [&](size_t i, uint8_t lo = 0x80, uint8_t hi = 0xBF) {
    return i < s.size() && byte(i) >= lo && byte(i) <= hi;
  };
  uint8_t lead = byte(0);
  if (lead < 0x80)
    return 1;
  if (lead >= 0xC2 && lead <= 0xDF)
    return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    uint8_t lo = lead == 0xE0 ? 0xA0 : 0x80;
    uint8_t hi = lead == 0xED ? 0x9F : 0xBF;
    return continuation(1, lo, hi) && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    uint8_t lo = lead == 0xF0 ? 0x90 : 0x80;
    uint8_t hi = lead == 0xF4 ? 0x8F : 0xBF;
    return continuation(1, lo, hi) && continuation(2) && continuation(3) ? 4
                                                                         : 0;
  }
  return 0;
}

bool isValidUtf8(std::string_view s) {
  while (!s.empty()) {
    size_t n = utf8SequenceLength(s);
    if (n == 0)
      return false;
    s.remove_prefix(n);
  }
  return true;
}

void appendUtf8(std::string &out, uint32_t codePoint) {
  if (codePoint < 0x80) {
    out += static_cast<char>(codePoint);
  } else if (codePoint < 0x800) {
    out += static_cast<char>(0xC0 | (codePoint >> 6));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  } else if (codePoint < 0x10000) {
    out += static_cast<char>(0xE0 | (codePoint >> 12));
    out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (codePoint >> 18));
    out += static_cast<char>(0x80 | ((codePoint >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  }
}

//===----------------------------------------------------------------------===//
// JSON, restricted to what safetensors headers use
//===----------------------------------------------------------------------===//

/// The JSON value kinds a safetensors header may contain.
enum class JsonKind { Object, Array, String, Integer };

const char *kindName(JsonKind kind) {
  switch (kind) {
  case JsonKind::Object:
    return "an object";
  case JsonKind::Array:
    return "an array";
  case JsonKind::String:
    return "a string";
  case JsonKind::Integer:
    return "an integer";
  }
  return "a value";
}

/// A pull reader for RFC 8259 JSON minus numbers with fractions or exponents,
/// integers outside int64, and the literals true/false/null. Strings must be
/// valid UTF-8; escapes (including surrogate pairs) are decoded.
///
/// The caller walks the structure it expects (peek, read, nextMember, ...)
/// and skips what it does not need, so memory stays proportional to what is
/// kept rather than to the number of JSON values in a hostile header. Every
/// call returns false on a syntax error, after which failed() is true and the
/// reader must not be used further; nextMember and nextElement also return
/// false, without failing, at the end of their object or array.
class JsonReader {
public:
  explicit JsonReader(std::string_view text) : text(text) {}

  bool failed() const { return hasFailed; }
  const std::string &error() const { return errorMessage; }
  size_t errorOffset() const { return errorPos; }

  /// The kind of the next value, without consuming it.
  bool peek(JsonKind &kind) {
    skipWhitespace();
    if (atEnd())
      return fail("expected a value, found end of header");
    char c = current();
    if (c == '{')
      kind = JsonKind::Object;
    else if (c == '[')
      kind = JsonKind::Array;
    else if (c == '"')
      kind = JsonKind::String;
    else if (c == '-' || (c >= '0' && c <= '9'))
      kind = JsonKind::Integer;
    else if (c == 't' || c == 'f' || c == 'n')
      return fail("true, false and null are not used in safetensors headers");
    else
      return fail("expected a value, found " + describeHere());
    return true;
  }

  /// Consumes the '{' or '[' that peek() reported.
  void enter() { ++pos; }

  /// Moves to the next member of the object just entered and reads its key;
  /// `first` must be true on the first call for each object.
  bool nextMember(bool &first, std::string &key) {
    if (!nextItem(first, '}', "object"))
      return false;
    if (atEnd() || current() != '"')
      return fail("expected a string key, found " + describeHere());
    key.clear();
    if (!parseString(key))
      return false;
    skipWhitespace();
    if (atEnd() || current() != ':')
      return fail("expected ':' after a key, found " + describeHere());
    ++pos;
    return true;
  }

  /// Moves to the next element of the array just entered.
  bool nextElement(bool &first) { return nextItem(first, ']', "array"); }

  bool readString(std::string &out) {
    JsonKind kind;
    if (!peek(kind))
      return false;
    if (kind != JsonKind::String)
      return fail(absl::StrCat("expected a string, found ", kindName(kind)));
    return parseString(out);
  }

  bool readInteger(int64_t &out) {
    JsonKind kind;
    if (!peek(kind))
      return false;
    if (kind != JsonKind::Integer)
      return fail(absl::StrCat("expected an integer, found ", kindName(kind)));
    return parseInteger(out);
  }

  /// Reads one value of any kind, checking it but keeping nothing.
  bool skipValue() { return skipValue(0); }

  /// Succeeds if only whitespace is left.
  bool finish() {
    skipWhitespace();
    if (!atEnd())
      return fail("unexpected " + describeHere() +
                  " after the top-level value");
    return true;
  }

private:
  bool atEnd() const { return pos >= text.size(); }
  char current() const { return text[pos]; }

  bool fail(std::string message) { return failAt(pos, std::move(message)); }
  bool failAt(size_t where, std::string message) {
    hasFailed = true;
    errorMessage = std::move(message);
    errorPos = where;
    return false;
  }

  std::string describeHere() const {
    if (atEnd())
      return "end of header";
    return absl::StrCat("character ", quoted(text.substr(pos, 1)));
  }

  void skipWhitespace() {
    while (!atEnd() && (current() == ' ' || current() == '\t' ||
                        current() == '\n' || current() == '\r'))
      ++pos;
  }

  /// The separator logic shared by objects and arrays: false at `close`
  /// (consumed) or on an error, true with the reader at the next item.
  bool nextItem(bool &first, char close, const char *what) {
    skipWhitespace();
    if (atEnd())
      return fail(absl::StrCat("unterminated ", what));
    if (first) {
      first = false;
      if (current() == close) {
        ++pos;
        return false;
      }
      return true;
    }
    if (current() == close) {
      ++pos;
      return false;
    }
    if (current() != ',')
      return fail(absl::StrCat("expected ',' or '", std::string(1, close),
                               "' in an ", what, ", found ", describeHere()));
    ++pos;
    skipWhitespace();
    return true;
  }

  bool skipValue(int depth) {
    if (depth > kMaxJsonDepth)
      return fail(absl::StrCat("values nested deeper than ", kMaxJsonDepth));
    JsonKind kind;
    if (!peek(kind))
      return false;
    switch (kind) {
    case JsonKind::String: {
      std::string ignored;
      return parseString(ignored);
    }
    case JsonKind::Integer: {
      int64_t ignored;
      return parseInteger(ignored);
    }
    case JsonKind::Object: {
      enter();
      std::string key;
      for (bool first = true; nextMember(first, key);)
        if (!skipValue(depth + 1))
          return false;
      return !hasFailed;
    }
    case JsonKind::Array:
      enter();
      for (bool first = true; nextElement(first);)
        if (!skipValue(depth + 1))
          return false;
      return !hasFailed;
    }
    return fail("unexpected value");
  }

  bool parseHex4(uint32_t &out) {
    if (text.size() - pos < 4)
      return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text[pos + i];
      uint32_t digit;
      if (c >= '0' && c <= '9')
        digit = c - '0';
      else if (c >= 'a' && c <= 'f')
        digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        digit = c - 'A' + 10;
      else
        return failAt(pos + i, "invalid hex digit in \\u escape");
      out = out * 16 + digit;
    }
    pos += 4;
    return true;
  }

  /// Decodes the escape whose backslash is at pos - 1.
  bool parseEscape(std::string &out) {
    size_t start = pos - 1;
    if (atEnd())
      return failAt(start, "unterminated string");
    char c = text[pos++];
    switch (c) {
    case '"':
    case '\\':
    case '/':
      out += c;
      return true;
    case 'b':
      out += '\b';
      return true;
    case 'f':
      out += '\f';
      return true;
    case 'n':
      out += '\n';
      return true;
    case 'r':
      out += '\r';
      return true;
    case 't':
      out += '\t';
      return true;
    case 'u':
      break;
    default:
      return failAt(start, "invalid escape sequence");
    }
    uint32_t unit;
    if (!parseHex4(unit))
      return false;
    if (unit >= 0xDC00 && unit <= 0xDFFF)
      return failAt(start, "unpaired low surrogate in \\u escape");
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      if (text.size() - pos < 2 || text[pos] != '\\' || text[pos + 1] != 'u')
        return failAt(start, "unpaired high surrogate in \\u escape");
      pos += 2;
      uint32_t low;
      if (!parseHex4(low))
        return false;
      if (low < 0xDC00 || low > 0xDFFF)
        return failAt(start, "unpaired high surrogate in \\u escape");
      unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    appendUtf8(out, unit);
    return true;
  }

  /// Parses the string whose opening quote is at pos.
  bool parseString(std::string &out) {
    size_t start = pos;
    ++pos;
    while (true) {
      if (atEnd())
        return failAt(start, "unterminated string");
      uint8_t c = static_cast<uint8_t>(current());
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c < 0x20)
        return fail("unescaped control character in a string");
      if (c == '\\') {
        ++pos;
        if (!parseEscape(out))
          return false;
        continue;
      }
      size_t n = utf8SequenceLength(text.substr(pos));
      if (n == 0)
        return fail("invalid UTF-8 in a string");
      out.append(text.data() + pos, n);
      pos += n;
    }
  }

  /// Parses the integer whose first character ('-' or a digit) is at pos.
  bool parseInteger(int64_t &out) {
    size_t start = pos;
    bool negative = current() == '-';
    if (negative)
      ++pos;
    auto isDigit = [&] {
      return !atEnd() && current() >= '0' && current() <= '9';
    };
    if (!isDigit())
      return fail("expected a digit after '-'");
    if (current() == '0' && pos + 1 < text.size() && text[pos + 1] >= '0' &&
        text[pos + 1] <= '9')
      return failAt(start, "integers must not have leading zeros");
    constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
    uint64_t magnitude = 0;
    while (isDigit()) {
      uint64_t digit = static_cast<uint64_t>(current() - '0');
      if (magnitude > (kMax - digit) / 10)
        return failAt(start, "integer out of the 64-bit range");
      magnitude = magnitude * 10 + digit;
      ++pos;
    }
    if (!atEnd() && (current() == '.' || current() == 'e' || current() == 'E'))
      return failAt(start, "only integers are allowed, found a number with a "
                           "fraction or an exponent");
    out = negative ? -static_cast<int64_t>(magnitude)
                   : static_cast<int64_t>(magnitude);
    return true;
  }

  std::string_view text;
  size_t pos = 0;
  bool hasFailed = false;
  std::string errorMessage;
  size_t errorPos = 0;
};

//===----------------------------------------------------------------------===//
// Header entries
//===----------------------------------------------------------------------===//

/// The error for a syntax error the reader met; `prefix` names the file and,
/// inside a member, the tensor.
absl::Status syntaxError(const JsonReader &json, const std::string &prefix) {
  return absl::InvalidArgumentError(
      absl::StrCat(prefix, "malformed header JSON at byte ", json.errorOffset(),
                   ": ", json.error()));
}

/// Reads the value of "__metadata__": an object of strings.
absl::Status readMetadata(JsonReader &json, const std::string &prefix,
                          std::map<std::string, std::string> &metadata) {
  auto invalid = [&](const std::string &message) {
    return absl::InvalidArgumentError(prefix + message);
  };
  JsonKind kind;
  if (!json.peek(kind))
    return syntaxError(json, prefix);
  if (kind != JsonKind::Object)
    return invalid(absl::StrCat("\"__metadata__\" must be an object, found ",
                                kindName(kind)));
  json.enter();
  std::string key;
  for (bool first = true; json.nextMember(first, key);) {
    if (!json.peek(kind))
      return syntaxError(json, prefix);
    if (kind != JsonKind::String)
      return invalid(absl::StrCat("metadata value of ", quoted(key),
                                  " must be a string, found ", kindName(kind)));
    std::string value;
    if (!json.readString(value))
      return syntaxError(json, prefix);
    if (!metadata.emplace(key, std::move(value)).second)
      return invalid(absl::StrCat("duplicate metadata key ", quoted(key)));
  }
  if (json.failed())
    return syntaxError(json, prefix);
  return absl::OkStatus();
}

/// A tensor entry as its header states it, before it is checked against the
/// data section.
struct EntryFields {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  int64_t begin = 0;
  int64_t end = 0;
};

/// Reads one tensor entry: an object with "dtype" (a known name), "shape"
/// (non-negative integers) and "data_offsets" (two integers). Other fields
/// are checked for syntax and ignored, as other safetensors readers do.
absl::Status readTensorEntry(JsonReader &json, const std::string &prefix,
                             EntryFields &out) {
  auto invalid = [&](const std::string &message) {
    return absl::InvalidArgumentError(prefix + message);
  };
  JsonKind kind;
  if (!json.peek(kind))
    return syntaxError(json, prefix);
  if (kind != JsonKind::Object)
    return invalid(
        absl::StrCat("entry must be an object, found ", kindName(kind)));
  json.enter();

  bool sawDtype = false, sawShape = false, sawOffsets = false;
  std::string field;
  for (bool first = true; json.nextMember(first, field);) {
    bool *seen = field == "dtype"          ? &sawDtype
                 : field == "shape"        ? &sawShape
                 : field == "data_offsets" ? &sawOffsets
                                           : nullptr;
    if (!seen) {
      if (!json.skipValue())
        return syntaxError(json, prefix);
      continue;
    }
    if (*seen)
      return invalid(absl::StrCat("duplicate field \"", field, "\""));
    *seen = true;
    if (!json.peek(kind))
      return syntaxError(json, prefix);

    if (seen == &sawDtype) {
      if (kind != JsonKind::String)
        return invalid(
            absl::StrCat("\"dtype\" must be a string, found ", kindName(kind)));
      std::string name;
      if (!json.readString(name))
        return syntaxError(json, prefix);
      std::optional<DType> dtype = parseDType(name);
      if (!dtype)
        return invalid(
            absl::StrCat("unknown dtype ", quoted(name),
                         " (supported: F32, BF16, F16, F64, I32, I64, U8)"));
      out.dtype = *dtype;
      continue;
    }

    if (seen == &sawShape) {
      if (kind != JsonKind::Array)
        return invalid(
            absl::StrCat("\"shape\" must be an array, found ", kindName(kind)));
      json.enter();
      for (bool firstDim = true; json.nextElement(firstDim);) {
        if (!json.peek(kind))
          return syntaxError(json, prefix);
        if (kind != JsonKind::Integer)
          return invalid(absl::StrCat(
              "\"shape\" entries must be integers, found ", kindName(kind)));
        int64_t dim;
        if (!json.readInteger(dim))
          return syntaxError(json, prefix);
        if (dim < 0)
          return invalid(absl::StrCat("\"shape\" has a negative extent ", dim));
        out.shape.push_back(dim);
      }
      if (json.failed())
        return syntaxError(json, prefix);
      continue;
    }

    const char *offsetsShape =
        "\"data_offsets\" must be an array of two integers [begin, end]";
    if (kind != JsonKind::Array)
      return invalid(offsetsShape);
    json.enter();
    int64_t offsets[2];
    size_t count = 0;
    for (bool firstOffset = true; json.nextElement(firstOffset);) {
      if (!json.peek(kind))
        return syntaxError(json, prefix);
      if (kind != JsonKind::Integer || count == 2)
        return invalid(offsetsShape);
      if (!json.readInteger(offsets[count++]))
        return syntaxError(json, prefix);
    }
    if (json.failed())
      return syntaxError(json, prefix);
    if (count != 2)
      return invalid(offsetsShape);
    out.begin = offsets[0];
    out.end = offsets[1];
  }
  if (json.failed())
    return syntaxError(json, prefix);

  for (auto [seen, name] :
       {std::pair{sawDtype, "dtype"}, std::pair{sawShape, "shape"},
        std::pair{sawOffsets, "data_offsets"}})
    if (!seen)
      return invalid(absl::StrCat("missing \"", name, "\""));
  return absl::OkStatus();
}

/// Appends `s` as a JSON string literal. Bytes >= 0x80 are copied as they
/// are (the writer has checked that they form UTF-8).
void appendJsonString(std::string &out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<uint8_t>(c) < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[(c >> 4) & 0xF];
      out += kHex[c & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

absl::Status writeAll(int fd, const void *data, size_t size) {
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return absl::ErrnoToStatus(errno, "write failed");
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

} // namespace

//===----------------------------------------------------------------------===//
// SafetensorsFile
//===----------------------------------------------------------------------===//

/// The bytes of the file: either a read-only mapping or an owned buffer. It
/// never moves once made, so TensorView pointers into it survive moves of the
/// SafetensorsFile.
class SafetensorsFile::Storage {
public:
  explicit Storage(std::vector<uint8_t> bytes)
      : buffer(std::move(bytes)), begin(buffer.data()), length(buffer.size()) {}
  Storage(void *mapped, size_t mappedLength)
      : mapping(mapped), begin(static_cast<const uint8_t *>(mapped)),
        length(mappedLength) {}
  Storage(const Storage &) = delete;
  Storage &operator=(const Storage &) = delete;
  ~Storage() {
    if (mapping)
      ::munmap(mapping, length);
  }

  const uint8_t *data() const { return begin; }
  size_t size() const { return length; }

private:
  std::vector<uint8_t> buffer;
  void *mapping = nullptr;
  const uint8_t *begin;
  size_t length;
};

SafetensorsFile::SafetensorsFile(std::unique_ptr<Storage> bytes,
                                 std::string path)
    : storage(std::move(bytes)), filePath(std::move(path)) {}
SafetensorsFile::SafetensorsFile(SafetensorsFile &&other) noexcept = default;
SafetensorsFile &
SafetensorsFile::operator=(SafetensorsFile &&other) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

absl::StatusOr<SafetensorsFile>
SafetensorsFile::fromBuffer(std::vector<uint8_t> bytes, std::string label) {
  SafetensorsFile file(std::make_unique<Storage>(std::move(bytes)),
                       std::move(label));
  if (absl::Status status = file.parseHeader(); !status.ok())
    return status;
  return file;
}

absl::StatusOr<SafetensorsFile> SafetensorsFile::open(const std::string &path) {
  std::string context = absl::StrCat("safetensors file '", path, "'");
  // O_NONBLOCK keeps a FIFO from blocking the open; it is rejected below.
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return absl::ErrnoToStatus(errno, "cannot open " + context);

  struct stat info;
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    ::close(fd);
    return absl::ErrnoToStatus(error, "cannot stat " + context);
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(
        context, ": ",
        S_ISDIR(info.st_mode) ? "is a directory" : "is not a regular file"));
  }

  auto size = static_cast<size_t>(info.st_size);
  std::unique_ptr<Storage> storage;
  if (size == 0) {
    // mmap rejects empty ranges; parseHeader reports the empty file.
    storage = std::make_unique<Storage>(std::vector<uint8_t>());
  } else {
    void *mapping = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapping == MAP_FAILED) {
      int error = errno;
      ::close(fd);
      return absl::ErrnoToStatus(error, "cannot map " + context);
    }
    storage = std::make_unique<Storage>(mapping, size);
  }
  ::close(fd);

  SafetensorsFile file(std::move(storage), path);
  if (absl::Status status = file.parseHeader(); !status.ok())
    return status;
  return file;
}

absl::Status SafetensorsFile::parseHeader() {
  std::string context = absl::StrCat("safetensors file '", filePath, "'");
  auto invalid = [&](const std::string &message) {
    return absl::InvalidArgumentError(absl::StrCat(context, ": ", message));
  };
  auto dataLoss = [&](const std::string &message) {
    return absl::DataLossError(absl::StrCat(context, ": ", message));
  };

  const uint8_t *bytes = storage->data();
  size_t size = storage->size();
  if (size < 8)
    return dataLoss(absl::StrCat("is ", size,
                                 " bytes long, too short for the 8-byte "
                                 "header length"));
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i)
    headerLength = (headerLength << 8) | bytes[i];
  if (headerLength > kMaxHeaderBytes)
    return invalid(absl::StrCat("header length ", headerLength,
                                " is over the limit of ", kMaxHeaderBytes,
                                " bytes (corrupt or not a safetensors file)"));
  if (headerLength > size - 8)
    return dataLoss(absl::StrCat("header length ", headerLength,
                                 " runs past the end of the file (", size,
                                 " bytes); is it truncated?"));

  std::string_view headerText(reinterpret_cast<const char *>(bytes + 8),
                              headerLength);
  JsonReader json(headerText);
  const std::string prefix = context + ": ";
  JsonKind kind;
  if (!json.peek(kind))
    return syntaxError(json, prefix);
  if (kind != JsonKind::Object)
    return invalid(
        absl::StrCat("header must be a JSON object, found ", kindName(kind)));
  json.enter();

  const size_t dataStart = 8 + headerLength;
  const uint64_t dataSize = size - dataStart;
  struct Range {
    uint64_t begin, end;
    size_t tensor;
  };
  std::vector<Range> ranges;
  bool sawMetadata = false;
  std::string name;
  for (bool first = true; json.nextMember(first, name);) {
    if (name == kMetadataKey) {
      if (sawMetadata)
        return invalid("duplicate \"__metadata__\" entry");
      sawMetadata = true;
      if (absl::Status status =
              readMetadata(json, prefix + "in \"__metadata__\": ", metadataMap);
          !status.ok())
        return status;
      continue;
    }
    if (byName.count(name))
      return invalid(absl::StrCat("duplicate tensor name ", quoted(name)));

    std::string tensorContext = absl::StrCat("tensor ", quoted(name), ": ");
    auto tensorInvalid = [&](const std::string &message) {
      return invalid(tensorContext + message);
    };
    EntryFields entry;
    if (absl::Status status =
            readTensorEntry(json, prefix + tensorContext, entry);
        !status.ok())
      return status;

    const DType dtype = entry.dtype;
    const int64_t begin = entry.begin, end = entry.end;
    std::optional<uint64_t> expectedBytes =
        byteSize(entry.shape, dtypeSize(dtype));
    if (!expectedBytes)
      return tensorInvalid(absl::StrCat("shape ", shapeString(entry.shape),
                                        " of ", toAbsl(dtypeName(dtype)),
                                        " overflows 64-bit byte counts"));
    if (begin < 0 || end < 0)
      return tensorInvalid(absl::StrCat("\"data_offsets\" [", begin, ", ", end,
                                        "] must not be negative"));
    if (begin > end)
      return tensorInvalid(absl::StrCat("\"data_offsets\" [", begin, ", ", end,
                                        "] begins after its end"));
    if (static_cast<uint64_t>(end) > dataSize)
      return dataLoss(absl::StrCat(tensorContext, "\"data_offsets\" [", begin,
                                   ", ", end,
                                   "] ends beyond the data section (", dataSize,
                                   " bytes); is the file truncated?"));
    uint64_t actualBytes = static_cast<uint64_t>(end - begin);
    if (actualBytes != *expectedBytes)
      return tensorInvalid(absl::StrCat(
          "\"data_offsets\" [", begin, ", ", end, "] span ", actualBytes,
          " bytes, but ", toAbsl(dtypeName(dtype)), " ",
          shapeString(entry.shape), " needs ", *expectedBytes));

    size_t index = tensorList.size();
    TensorView view;
    view.name = name;
    view.dtype = dtype;
    view.shape = std::move(entry.shape);
    view.data = bytes + dataStart + static_cast<size_t>(begin);
    view.sizeBytes = static_cast<size_t>(actualBytes);
    tensorList.push_back(std::move(view));
    byName.emplace(name, index);
    if (actualBytes != 0)
      ranges.push_back(
          {static_cast<uint64_t>(begin), static_cast<uint64_t>(end), index});
  }
  if (json.failed() || !json.finish())
    return syntaxError(json, prefix);

  // Empty tensors occupy no bytes, so only the others can overlap.
  std::sort(ranges.begin(), ranges.end(),
            [](const Range &a, const Range &b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    const Range &prev = ranges[i - 1];
    const Range &cur = ranges[i];
    if (cur.begin < prev.end)
      return invalid(
          absl::StrCat("tensors ", quoted(tensorList[prev.tensor].name),
                       " (bytes [", prev.begin, ", ", prev.end, ")) and ",
                       quoted(tensorList[cur.tensor].name), " (bytes [",
                       cur.begin, ", ", cur.end, ")) overlap"));
  }
  return absl::OkStatus();
}

const TensorView *SafetensorsFile::find(std::string_view name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : &tensorList[it->second];
}

absl::StatusOr<TensorView>
SafetensorsFile::get(std::string_view name, DType dtype,
                     const std::vector<int64_t> &shape) const {
  std::string expected =
      absl::StrCat(toAbsl(dtypeName(dtype)), " ", shapeString(shape));
  const TensorView *tensor = find(name);
  if (!tensor) {
    constexpr size_t kListed = 8;
    std::vector<std::string> names;
    for (size_t i = 0; i < tensorList.size() && i < kListed; ++i)
      names.push_back(quoted(tensorList[i].name));
    std::string available =
        tensorList.empty()
            ? std::string("it has no tensors")
            : absl::StrCat("it has ", tensorList.size(),
                           tensorList.size() == 1 ? " tensor: " : " tensors: ",
                           absl::StrJoin(names, ", "),
                           tensorList.size() > kListed ? ", ..." : "");
    return absl::NotFoundError(
        absl::StrCat("safetensors file '", filePath, "': no tensor ",
                     quoted(name), " (expected ", expected, "); ", available));
  }

  std::vector<std::string> problems;
  if (tensor->dtype != dtype)
    problems.push_back("dtype differs");
  if (tensor->shape.size() != shape.size()) {
    problems.push_back(absl::StrCat("rank ", tensor->shape.size(),
                                    " instead of ", shape.size()));
  } else {
    for (size_t i = 0; i < shape.size(); ++i)
      if (shape[i] >= 0 && tensor->shape[i] != shape[i])
        problems.push_back(absl::StrCat("dimension ", i, " is ",
                                        tensor->shape[i], " instead of ",
                                        shape[i]));
  }
  if (problems.empty())
    return *tensor;
  return absl::InvalidArgumentError(absl::StrCat(
      "safetensors file '", filePath, "': tensor ", quoted(name), " is ",
      toAbsl(dtypeName(tensor->dtype)), " ", shapeString(tensor->shape),
      ", expected ", expected, " (", absl::StrJoin(problems, "; "), ")"));
}

//===----------------------------------------------------------------------===//
// SafetensorsWriter
//===----------------------------------------------------------------------===//

void SafetensorsWriter::recordError(absl::Status error) {
  if (firstError.ok())
    firstError = std::move(error);
}

void SafetensorsWriter::add(std::string name, DType dtype,
                            std::vector<int64_t> shape, const void *data,
                            size_t sizeBytes) {
  auto reject = [&](const std::string &message) {
    recordError(absl::InvalidArgumentError(absl::StrCat(
        "safetensors writer: tensor ", quoted(name), ": ", message)));
  };
  if (name == kMetadataKey)
    return reject("the name is reserved for metadata");
  if (!isValidUtf8(name))
    return reject("the name is not valid UTF-8");
  if (names.count(name))
    return reject("added twice");
  std::optional<uint64_t> expectedBytes = byteSize(shape, dtypeSize(dtype));
  if (!expectedBytes)
    return reject(absl::StrCat("shape ", shapeString(shape),
                               " has a negative extent or overflows"));
  if (*expectedBytes != sizeBytes)
    return reject(absl::StrCat(toAbsl(dtypeName(dtype)), " ",
                               shapeString(shape), " needs ", *expectedBytes,
                               " bytes, got ", sizeBytes));
  if (sizeBytes != 0 && !data)
    return reject("data is null");

  Entry entry;
  entry.name = name;
  entry.dtype = dtype;
  entry.shape = std::move(shape);
  const auto *first = static_cast<const uint8_t *>(data);
  if (sizeBytes != 0)
    entry.bytes.assign(first, first + sizeBytes);
  names.insert(entry.name);
  entries.push_back(std::move(entry));
}

void SafetensorsWriter::setMetadata(std::string key, std::string value) {
  if (!isValidUtf8(key) || !isValidUtf8(value)) {
    recordError(absl::InvalidArgumentError(
        absl::StrCat("safetensors writer: metadata entry ", quoted(key),
                     " is not valid UTF-8")));
    return;
  }
  metadataMap[std::move(key)] = std::move(value);
}

std::string
SafetensorsWriter::headerBytes(std::vector<size_t> &dataOrder) const {
  dataOrder.resize(entries.size());
  std::iota(dataOrder.begin(), dataOrder.end(), size_t{0});
  // Larger elements first keeps every tensor aligned to its element size
  // without gaps between tensors.
  // (std::sort with the index as tie-break: libstdc++'s stable_sort uses
  // the deprecated get_temporary_buffer.)
  std::sort(dataOrder.begin(), dataOrder.end(), [&](size_t a, size_t b) {
    size_t sizeA = dtypeSize(entries[a].dtype);
    size_t sizeB = dtypeSize(entries[b].dtype);
    return sizeA != sizeB ? sizeA > sizeB : a < b;
  });
  std::vector<uint64_t> begins(entries.size());
  uint64_t offset = 0;
  for (size_t i : dataOrder) {
    begins[i] = offset;
    offset += entries[i].bytes.size();
  }

  std::string header = "{";
  bool first = true;
  if (!metadataMap.empty()) {
    header += "\"__metadata__\":{";
    for (const auto &[key, value] : metadataMap) {
      if (!first)
        header += ',';
      first = false;
      appendJsonString(header, key);
      header += ':';
      appendJsonString(header, value);
    }
    header += '}';
    first = false;
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry &entry = entries[i];
    if (!first)
      header += ',';
    first = false;
    appendJsonString(header, entry.name);
    absl::StrAppend(&header, ":{\"dtype\":\"", toAbsl(dtypeName(entry.dtype)),
                    "\",\"shape\":[", absl::StrJoin(entry.shape, ","),
                    "],\"data_offsets\":[", begins[i], ",",
                    begins[i] + entry.bytes.size(), "]}");
  }
  header += '}';
  // Padding to a multiple of 8 aligns the data section in the file.
  header.append((8 - header.size() % 8) % 8, ' ');

  uint64_t length = header.size();
  std::string out;
  out.reserve(8 + header.size());
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((length >> (8 * i)) & 0xFF);
  return out + header;
}

std::vector<uint8_t> SafetensorsWriter::serialize() const {
  if (!firstError.ok())
    return {};
  std::vector<size_t> dataOrder;
  std::string prefix = headerBytes(dataOrder);
  std::vector<uint8_t> out(prefix.begin(), prefix.end());
  for (size_t i : dataOrder)
    out.insert(out.end(), entries[i].bytes.begin(), entries[i].bytes.end());
  return out;
}

absl::Status SafetensorsWriter::write(const std::string &path) const {
  if (!firstError.ok())
    return firstError;
  std::string context = absl::StrCat("safetensors file '", path, "'");
  std::vector<size_t> dataOrder;
  std::string prefix = headerBytes(dataOrder);

  int fd;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return absl::ErrnoToStatus(errno, "cannot create " + context);

  absl::Status status = writeAll(fd, prefix.data(), prefix.size());
  for (size_t i = 0; status.ok() && i < dataOrder.size(); ++i) {
    const Entry &entry = entries[dataOrder[i]];
    status = writeAll(fd, entry.bytes.data(), entry.bytes.size());
  }
  if (::close(fd) != 0 && status.ok())
    status = absl::ErrnoToStatus(errno, "close failed");
  if (!status.ok())
    return absl::Status(status.code(),
                        absl::StrCat(context, ": ", status.message()));
  return absl::OkStatus();
}

} // namespace hymir
