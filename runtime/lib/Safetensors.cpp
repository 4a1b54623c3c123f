//===- Safetensors.cpp - reading and writing safetensors files ------------===//
//
// The safetensors reader (mmap plus a strict header validator over the SAX
// events of nlohmann::json, which accepts only objects, arrays, strings and
// integers) and the writer. Nothing here trusts the file: every length and
// offset is checked with overflow-safe arithmetic before a view into the data
// is handed out, and the reader keeps only what it returns, so a hostile header
// costs memory in proportion to its tensors, not to its JSON values.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Safetensors.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
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
/// making the reader track (or the parser hold) a deep stack of containers.
constexpr int kMaxJsonDepth = 64;
constexpr std::string_view kMetadataKey = "__metadata__";

/// Debian's abseil has its own string_view, which absl::StrCat wants.
absl::string_view toAbsl(std::string_view s) { return {s.data(), s.size()}; }

/// A name as it appears in messages: quoted, with control bytes escaped.
std::string quotedName(std::string_view name) {
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

//===----------------------------------------------------------------------===//
// The header's JSON, read by nlohmann::json's SAX parser
//===----------------------------------------------------------------------===//

using Json = nlohmann::json;

constexpr const char *kOffsetsShape =
    "\"data_offsets\" must be an array of two integers [begin, end]";

/// A tensor entry as its header states it, before it is checked against the
/// data section.
struct EntryFields {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  int64_t begin = 0;
  int64_t end = 0;
};

/// Called for each tensor entry once its object has been read.
using TensorSink =
    std::function<absl::Status(const std::string &name, EntryFields &entry)>;

/// Walks the header's JSON events with no document tree, so memory stays
/// proportional to what is kept (names, shapes, metadata) rather than to the
/// number of values in a hostile header, and nesting is bounded before it can
/// cost anything. It keeps the rules of the format: the header is an object
/// of tensor entries (objects with "dtype", "shape" and "data_offsets"; other
/// fields are checked for syntax and ignored, as other readers do) and at
/// most one "__metadata__" object of strings. Numbers must be integers within
/// int64, and true/false/null do not occur. The first violation ends the walk
/// (every handler returns false) and is kept in status().
class HeaderReader final : public nlohmann::json_sax<Json> {
public:
  HeaderReader(std::string_view text, std::string context,
               std::map<std::string, std::string> &metadata, TensorSink sink)
      : text(text), context(std::move(context)), metadata(metadata),
        sink(std::move(sink)) {}

  const absl::Status &status() const { return error; }

  bool null() override { return badLiteral("null"); }
  bool boolean(bool) override { return badLiteral("true or false"); }
  bool number_integer(number_integer_t value) override {
    return integer(value);
  }
  bool number_unsigned(number_unsigned_t value) override {
    // Integers beyond int64 are refused everywhere, as before this reader
    // was built on nlohmann::json: offsets and extents are int64 in the API.
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return malformed("integer out of the 64-bit range");
    return integer(static_cast<int64_t>(value));
  }
  bool number_float(number_float_t, const string_t &literal) override {
    // The parser turns integers beyond the 64-bit range into floats; their
    // literal has neither a fraction nor an exponent.
    if (literal.find_first_of(".eE") == std::string::npos)
      return malformed("integer out of the 64-bit range");
    return malformed("only integers are allowed, found a number with a "
                     "fraction or an exponent");
  }
  bool string(string_t &value) override;
  bool binary(binary_t &) override { return malformed("unexpected binary"); }
  bool start_object(std::size_t) override { return open(Kind::Object); }
  bool key(string_t &name) override;
  bool end_object() override;
  bool start_array(std::size_t) override { return open(Kind::Array); }
  bool end_array() override {
    if (scopes.back() == Scope::Offsets && offsetCount != 2)
      return invalid(kOffsetsShape);
    scopes.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string &,
                   const nlohmann::detail::exception &ex) override;

private:
  /// The containers on the way to the current value.
  enum class Scope { Header, Metadata, Entry, Shape, Offsets, Skipped };
  enum class Kind { Object, Array, String, Integer };

  static const char *kindName(Kind kind) {
    switch (kind) {
    case Kind::Object:
      return "an object";
    case Kind::Array:
      return "an array";
    case Kind::String:
      return "a string";
    case Kind::Integer:
      return "an integer";
    }
    return "a value";
  }

  /// The context of the value being read: the file, and inside a tensor
  /// entry or the metadata also that.
  std::string prefix() const {
    std::string out = context + ": ";
    if (scopes.size() >= 2 || (scopes.size() == 1 && valuePending)) {
      if (inMetadata)
        return out + "in \"__metadata__\": ";
      return out + "tensor " + quotedName(member) + ": ";
    }
    return out;
  }

  bool fail(absl::Status status) {
    error = std::move(status);
    return false;
  }
  bool invalid(const std::string &message) {
    return fail(absl::InvalidArgumentError(prefix() + message));
  }
  /// Malformed JSON found by this reader, which knows no byte offset.
  bool malformed(const std::string &message) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat(prefix(), "malformed header JSON: ", message)));
  }
  bool badLiteral(const char *) {
    return malformed("true, false and null are not used in safetensors "
                     "headers");
  }

  /// Checks that a value of `kind` may stand where it is; for Skipped
  /// scopes and unknown entry fields anything goes.
  bool accept(Kind kind);
  bool check(Kind kind, bool pending);
  bool integer(int64_t value);
  bool open(Kind kind);

  std::string_view text;
  std::string context;
  std::map<std::string, std::string> &metadata;
  TensorSink sink;
  absl::Status error;

  std::vector<Scope> scopes;
  /// A key was read and its value has not started yet.
  bool valuePending = false;
  /// The current member of the header (a tensor name or "__metadata__") and
  /// of its object (an entry's field or a metadata key).
  std::string member, field;
  bool inMetadata = false, sawMetadata = false;
  std::set<std::string> tensorNames;
  EntryFields entry;
  bool sawDtype = false, sawShape = false, sawOffsets = false;
  size_t offsetCount = 0;
};

bool HeaderReader::accept(Kind kind) {
  bool pending = valuePending;
  if (!check(kind, pending))
    return false;
  valuePending = false;
  return true;
}

bool HeaderReader::check(Kind kind, bool pending) {
  if (scopes.empty()) {
    if (kind != Kind::Object)
      return invalid(
          absl::StrCat("header must be a JSON object, found ", kindName(kind)));
    return true;
  }
  switch (scopes.back()) {
  case Scope::Header:
    if (kind == Kind::Object)
      return true;
    if (inMetadata)
      return invalid(absl::StrCat("\"__metadata__\" must be an object, found ",
                                  kindName(kind)));
    return invalid(
        absl::StrCat("entry must be an object, found ", kindName(kind)));
  case Scope::Metadata:
    if (kind != Kind::String)
      return invalid(absl::StrCat("metadata value of ", quotedName(field),
                                  " must be a string, found ", kindName(kind)));
    return true;
  case Scope::Entry:
    if (!pending)
      return true;
    if (field == "dtype" && kind != Kind::String)
      return invalid(
          absl::StrCat("\"dtype\" must be a string, found ", kindName(kind)));
    if (field == "shape" && kind != Kind::Array)
      return invalid(
          absl::StrCat("\"shape\" must be an array, found ", kindName(kind)));
    if (field == "data_offsets" && kind != Kind::Array)
      return invalid(kOffsetsShape);
    return true;
  case Scope::Shape:
    if (kind != Kind::Integer)
      return invalid(absl::StrCat("\"shape\" entries must be integers, found ",
                                  kindName(kind)));
    return true;
  case Scope::Offsets:
    if (kind != Kind::Integer || offsetCount == 2)
      return invalid(kOffsetsShape);
    return true;
  case Scope::Skipped:
    return true;
  }
  return true;
}

bool HeaderReader::open(Kind kind) {
  if (scopes.size() >= static_cast<size_t>(kMaxJsonDepth))
    return malformed(absl::StrCat("values nested deeper than ", kMaxJsonDepth));
  Scope parent = scopes.empty() ? Scope::Header : scopes.back();
  bool known = valuePending;
  if (!accept(kind))
    return false;
  if (scopes.empty()) {
    scopes.push_back(Scope::Header);
    return true;
  }
  Scope scope = Scope::Skipped;
  if (parent == Scope::Header) {
    scope = inMetadata ? Scope::Metadata : Scope::Entry;
    if (scope == Scope::Entry) {
      entry = EntryFields();
      sawDtype = sawShape = sawOffsets = false;
    }
  } else if (parent == Scope::Entry && known && field == "shape") {
    scope = Scope::Shape;
  } else if (parent == Scope::Entry && known && field == "data_offsets") {
    scope = Scope::Offsets;
    offsetCount = 0;
  }
  scopes.push_back(scope);
  return true;
}

bool HeaderReader::key(string_t &name) {
  valuePending = true;
  switch (scopes.back()) {
  case Scope::Header:
    member = name;
    inMetadata = name == kMetadataKey;
    if (inMetadata) {
      if (sawMetadata)
        return fail(absl::InvalidArgumentError(
            absl::StrCat(context, ": duplicate \"__metadata__\" entry")));
      sawMetadata = true;
    } else if (!tensorNames.insert(name).second) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat(context, ": duplicate tensor name ", quotedName(name))));
    }
    return true;
  case Scope::Metadata:
    field = name;
    return true;
  case Scope::Entry: {
    field = name;
    bool *seen = name == "dtype"          ? &sawDtype
                 : name == "shape"        ? &sawShape
                 : name == "data_offsets" ? &sawOffsets
                                          : nullptr;
    if (!seen)
      return true;
    if (*seen)
      return invalid(absl::StrCat("duplicate field \"", name, "\""));
    *seen = true;
    return true;
  }
  default:
    // Keys of skipped objects are not kept.
    valuePending = false;
    return true;
  }
}

bool HeaderReader::string(string_t &value) {
  Scope scope = scopes.empty() ? Scope::Header : scopes.back();
  bool known = valuePending;
  if (!accept(Kind::String))
    return false;
  if (scope == Scope::Metadata) {
    if (!metadata.emplace(field, std::move(value)).second)
      return invalid(
          absl::StrCat("duplicate metadata key ", quotedName(field)));
    return true;
  }
  if (scope == Scope::Entry && known && field == "dtype") {
    std::optional<DType> dtype = parseDType(value);
    if (!dtype)
      return invalid(
          absl::StrCat("unknown dtype ", quotedName(value),
                       " (supported: F32, BF16, F16, F64, I32, I64, U8)"));
    entry.dtype = *dtype;
  }
  return true;
}

bool HeaderReader::integer(int64_t value) {
  Scope scope = scopes.empty() ? Scope::Header : scopes.back();
  if (!accept(Kind::Integer))
    return false;
  if (scope == Scope::Shape) {
    if (value < 0)
      return invalid(absl::StrCat("\"shape\" has a negative extent ", value));
    entry.shape.push_back(value);
  } else if (scope == Scope::Offsets) {
    (offsetCount == 0 ? entry.begin : entry.end) = value;
    ++offsetCount;
  }
  return true;
}

bool HeaderReader::end_object() {
  Scope scope = scopes.back();
  if (scope != Scope::Entry) {
    scopes.pop_back();
    return true;
  }
  for (auto [seen, name] :
       {std::pair{sawDtype, "dtype"}, std::pair{sawShape, "shape"},
        std::pair{sawOffsets, "data_offsets"}})
    if (!seen)
      return invalid(absl::StrCat("missing \"", name, "\""));
  if (absl::Status status = sink(member, entry); !status.ok())
    return fail(std::move(status));
  scopes.pop_back();
  return true;
}

/// Rewords a parse error of nlohmann::json in this reader's terms: the byte
/// it is at and what was expected there, without the parser's line/column
/// preamble and its echo of the raw input (which may hold any bytes).
bool HeaderReader::parse_error(std::size_t position, const std::string &,
                               const nlohmann::detail::exception &ex) {
  // `position` counts the characters read, the offending one included.
  size_t at = std::min(position == 0 ? 0 : position - 1, text.size());
  auto here = [&] {
    return at >= text.size()
               ? std::string("end of header")
               : absl::StrCat("character ", quotedName(text.substr(at, 1)));
  };
  std::string what = ex.what();
  if (size_t colon = what.find(": ");
      colon != std::string::npos && what.find("parse error") < colon)
    what.erase(0, colon + 2);
  auto has = [&](std::string_view needle) {
    return what.find(needle) != std::string::npos;
  };
  auto isDigit = [&](size_t i) {
    return i < text.size() && text[i] >= '0' && text[i] <= '9';
  };
  std::string message;
  if (has("invalid string: ")) {
    // The lexer's reason, without what follows it (the echoed input).
    std::string reason = what.substr(what.find("invalid string: ") + 16);
    reason = reason.substr(0, reason.find("; last read"));
    if (reason == "missing closing quote")
      message = "unterminated string";
    else if (reason == "forbidden character after backslash")
      message = "invalid escape sequence";
    else if (has("must be followed by 4 hex digits"))
      message = "invalid hex digit in \\u escape";
    else if (has("ill-formed UTF-8"))
      message = "invalid UTF-8 in a string";
    else if (has("control character"))
      message = "unescaped control character in a string";
    else
      message = reason; // the surrogate rules
  } else if (has("expected digit after '-'")) {
    message = "expected a digit after '-'";
  } else if (has("number overflow")) {
    message = "only integers are allowed, found a number with a fraction or "
              "an exponent";
  } else if (has("; expected end of input")) {
    message = "unexpected " + here() + " after the top-level value";
  } else if (has("unexpected number literal") && at >= 1 &&
             text[at - 1] == '0' && isDigit(at) &&
             (at < 2 || std::string_view("0123456789.eE+").find(text[at - 2]) ==
                            std::string_view::npos)) {
    // "01" lexes as two numbers; the second one is the error.
    message = "integers must not have leading zeros";
  } else if (has("parsing object key")) {
    message = "expected a string key, found " + here();
  } else if (has("parsing object separator")) {
    message = "expected ':' after a key, found " + here();
  } else if (has("parsing object -")) {
    message = "expected ',' or '}' in an object, found " + here();
  } else if (has("parsing array -")) {
    message = "expected ',' or ']' in an array, found " + here();
  } else if (has("invalid literal")) {
    message = "expected a value, found " + here();
  } else if (has("parsing value")) {
    message = "expected a value, found " + here();
  } else {
    message = what.substr(0, what.find("; last read"));
  }
  return fail(absl::InvalidArgumentError(absl::StrCat(
      prefix(), "malformed header JSON at byte ", at, ": ", message)));
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
  const size_t dataStart = 8 + headerLength;
  const uint64_t dataSize = size - dataStart;
  struct Range {
    uint64_t begin, end;
    size_t tensor;
  };
  std::vector<Range> ranges;

  // Checks one entry against the data section and keeps it.
  auto addTensor = [&](const std::string &name,
                       EntryFields &entry) -> absl::Status {
    std::string tensorContext = absl::StrCat("tensor ", quotedName(name), ": ");
    auto tensorInvalid = [&](const std::string &message) {
      return invalid(tensorContext + message);
    };
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
    return absl::OkStatus();
  };

  // nlohmann::json takes a NUL byte for the end of its input; JSON has none
  // (in a string it must be escaped), so one is an error wherever it is.
  if (size_t nul = headerText.find('\0'); nul != std::string_view::npos)
    return invalid(absl::StrCat("malformed header JSON at byte ", nul,
                                ": unexpected NUL character"));
  HeaderReader reader(headerText, context, metadataMap, addTensor);
  // sax_parse reports every error to the reader (none is thrown); `strict`
  // refuses anything after the top-level value.
  if (!Json::sax_parse(headerText.begin(), headerText.end(), &reader,
                       Json::input_format_t::json, /*strict=*/true)) {
    if (!reader.status().ok())
      return reader.status();
    return invalid("malformed header JSON");
  }

  // Empty tensors occupy no bytes, so only the others can overlap.
  std::sort(ranges.begin(), ranges.end(),
            [](const Range &a, const Range &b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    const Range &prev = ranges[i - 1];
    const Range &cur = ranges[i];
    if (cur.begin < prev.end)
      return invalid(
          absl::StrCat("tensors ", quotedName(tensorList[prev.tensor].name),
                       " (bytes [", prev.begin, ", ", prev.end, ")) and ",
                       quotedName(tensorList[cur.tensor].name), " (bytes [",
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
      names.push_back(quotedName(tensorList[i].name));
    std::string available =
        tensorList.empty()
            ? std::string("it has no tensors")
            : absl::StrCat("it has ", tensorList.size(),
                           tensorList.size() == 1 ? " tensor: " : " tensors: ",
                           absl::StrJoin(names, ", "),
                           tensorList.size() > kListed ? ", ..." : "");
    return absl::NotFoundError(absl::StrCat(
        "safetensors file '", filePath, "': no tensor ", quotedName(name),
        " (expected ", expected, "); ", available));
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
      "safetensors file '", filePath, "': tensor ", quotedName(name), " is ",
      toAbsl(dtypeName(tensor->dtype)), " ", shapeString(tensor->shape),
      ", expected ", expected, " (", absl::StrJoin(problems, "; "), ")"));
}

//===----------------------------------------------------------------------===//
// ShardedSafetensors
//===----------------------------------------------------------------------===//

namespace {

/// The largest index file read (M1's is a few hundred KB).
constexpr off_t kMaxIndexBytes = off_t{64} << 20;

bool isDirectory(const std::string &path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool exists(const std::string &path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

/// A name the index may give a shard: a file beside it, not a path.
bool plainFileName(const std::string &name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

absl::StatusOr<std::string> readIndex(const std::string &path,
                                      const std::string &context) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return absl::ErrnoToStatus(errno, "cannot open " + context);
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) ||
      info.st_size > kMaxIndexBytes) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": not a regular file of at most ",
                     kMaxIndexBytes >> 20, " MiB"));
  }
  std::string text(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int error = n < 0 ? errno : EIO;
      ::close(fd);
      return absl::ErrnoToStatus(error, "cannot read " + context);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return text;
}

} // namespace

absl::StatusOr<ShardedSafetensors>
ShardedSafetensors::open(const std::string &path) {
  ShardedSafetensors out;
  out.label = path;
  std::string file = path;
  if (isDirectory(path)) {
    file = path + "/model.safetensors";
    if (!exists(file))
      file = path + "/model.safetensors.index.json";
    if (!exists(file))
      return absl::NotFoundError(absl::StrCat("model directory '", path,
                                              "': no model.safetensors or "
                                              "model.safetensors.index.json"));
  }
  bool index =
      file.size() >= 5 && file.compare(file.size() - 5, 5, ".json") == 0;
  if (!index) {
    absl::StatusOr<SafetensorsFile> single = SafetensorsFile::open(file);
    if (!single.ok())
      return single.status();
    out.fileList.push_back(*std::move(single));
    return out;
  }

  std::string context = absl::StrCat("safetensors index '", file, "'");
  absl::StatusOr<std::string> text = readIndex(file, context);
  if (!text.ok())
    return text.status();
  nlohmann::json root =
      nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object())
    return absl::InvalidArgumentError(context + ": not a JSON object");
  auto map = root.find("weight_map");
  if (map == root.end() || !map->is_object())
    return absl::InvalidArgumentError(context + ": no \"weight_map\" object");
  std::string dir = ".";
  if (size_t slash = file.rfind('/'); slash != std::string::npos)
    dir = file.substr(0, slash);
  std::map<std::string, size_t> shardIndex;
  std::vector<std::string> shards;
  for (auto it = map->begin(); it != map->end(); ++it) {
    const std::string &tensor = it.key();
    if (!it->is_string() || !plainFileName(it->get<std::string>()))
      return absl::InvalidArgumentError(absl::StrCat(
          context, ": \"weight_map\" maps ", quotedName(tensor), " to ",
          it->dump(), ", which is not the name of a file beside the index"));
    std::string shard = it->get<std::string>();
    auto [pos, added] = shardIndex.emplace(shard, shards.size());
    if (added)
      shards.push_back(shard);
    out.fileOf[tensor] = pos->second;
  }
  for (const std::string &shard : shards) {
    absl::StatusOr<SafetensorsFile> opened =
        SafetensorsFile::open(dir + "/" + shard);
    if (!opened.ok())
      return opened.status();
    out.fileList.push_back(*std::move(opened));
  }
  for (const auto &[tensor, i] : out.fileOf)
    if (!out.fileList[i].find(tensor))
      return absl::InvalidArgumentError(
          absl::StrCat(context, ": \"weight_map\" maps ", quotedName(tensor),
                       " to ", shards[i], ", which has no such tensor"));
  return out;
}

const TensorView *ShardedSafetensors::find(std::string_view name) const {
  if (fileOf.empty())
    return fileList.empty() ? nullptr : fileList[0].find(name);
  auto it = fileOf.find(name);
  return it == fileOf.end() ? nullptr : fileList[it->second].find(name);
}

absl::StatusOr<TensorView>
ShardedSafetensors::get(std::string_view name, DType dtype,
                        const std::vector<int64_t> &shape) const {
  if (fileOf.empty() && fileList.size() == 1)
    return fileList[0].get(name, dtype, shape);
  auto it = fileOf.find(name);
  if (it == fileOf.end())
    return absl::NotFoundError(absl::StrCat(
        "safetensors index '", label, "': no tensor ", quotedName(name),
        " (expected ", toAbsl(dtypeName(dtype)), " ", shapeString(shape),
        "); its weight map names ", fileOf.size(), " tensors"));
  return fileList[it->second].get(name, dtype, shape);
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
        "safetensors writer: tensor ", quotedName(name), ": ", message)));
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
        absl::StrCat("safetensors writer: metadata entry ", quotedName(key),
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
