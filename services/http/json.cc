#include "services/http/json.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace lodestone::http {
namespace {

// Builds the DOM from nlohmann's SAX events (which never throw), keeping number texts and the
// JSON Pointer of the value being read.
class DomBuilder {
 public:
  using string_t = Json::string_t;
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using binary_t = Json::binary_t;

  DomBuilder(ParsedJson& out, const JsonLimits& limits) : out_(out), limits_(limits) {}

  bool null() { return Put(Json(nullptr)); }
  bool boolean(bool value) { return Put(Json(value)); }
  bool number_integer(number_integer_t value) { return Put(Json(value)); }
  bool number_unsigned(number_unsigned_t value) { return Put(Json(value)); }
  bool number_float(number_float_t value, const string_t& text) {
    out_.number_text[CurrentPointer()] = text;
    return Put(Json(value));
  }
  bool string(string_t& value) { return Put(Json(std::move(value))); }
  bool binary(binary_t&) { return Fail(0, "binary values are not JSON"); }
  bool start_object(size_t) { return Open(Json::object()); }
  bool key(string_t& key) {
    Json& object = *stack_.back();
    if (object.contains(key)) return Fail(0, absl::StrCat("duplicate key \"", key, "\""));
    key_ = std::move(key);
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(size_t) { return Open(Json::array()); }
  bool end_array() { return Close(); }
  bool parse_error(size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& error) {
    (void)last_token;
    std::string message = error.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> after ": ".
    if (const size_t colon = message.find(": "); colon != std::string::npos) {
      message = message.substr(colon + 2);
    }
    return Fail(position, message);
  }

  const std::string& error() const { return error_; }

 private:
  std::string CurrentPointer() const {
    std::string pointer;
    for (size_t i = 0; i < stack_.size(); ++i) {
      const Json& container = *stack_[i];
      const bool last = i + 1 == stack_.size();
      if (container.is_array()) {
        pointer = PointerAppend(pointer, last ? container.size() : container.size() - 1);
      } else {
        pointer = PointerAppend(pointer, last ? key_ : keys_[i + 1]);
      }
    }
    return pointer;
  }

  Json* Insert(Json value) {
    if (stack_.empty()) {
      out_.value = std::move(value);
      return &out_.value;
    }
    Json& container = *stack_.back();
    if (container.is_array()) {
      container.push_back(std::move(value));
      return &container.back();
    }
    Json& slot = container[key_];
    slot = std::move(value);
    return &slot;
  }
  bool Put(Json value) {
    Insert(std::move(value));
    return true;
  }
  bool Open(Json container) {
    if (stack_.size() >= limits_.max_depth) {
      return Fail(0, absl::StrCat("nesting deeper than ", limits_.max_depth, " levels"));
    }
    Json* inserted = Insert(std::move(container));
    keys_.push_back(key_);
    stack_.push_back(inserted);
    return true;
  }
  bool Close() {
    stack_.pop_back();
    key_ = keys_.back();
    keys_.pop_back();
    return true;
  }
  bool Fail(size_t position, std::string message) {
    if (error_.empty()) {
      error_ = position > 0 ? absl::StrCat("malformed JSON at byte ", position, ": ", message)
                            : absl::StrCat("malformed JSON: ", message);
    }
    return false;
  }

  ParsedJson& out_;
  const JsonLimits& limits_;
  std::vector<Json*> stack_;
  std::vector<std::string> keys_;  // the key of each open container in its parent (keys_[0]: none)
  std::string key_;
  std::string error_;
};

void AppendToken(std::string& pointer, std::string_view token) {
  pointer.push_back('/');
  for (const char c : token) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer.push_back(c);
    }
  }
}

}  // namespace

std::string ParsedJson::NumberText(const std::string& pointer) const {
  if (auto it = number_text.find(pointer); it != number_text.end()) return it->second;
  const Json::json_pointer ptr = [&] {
    // json_pointer's constructor throws on a malformed pointer; ours are built by PointerAppend.
    return Json::json_pointer(pointer);
  }();
  if (!value.contains(ptr)) return "";
  const Json& number = value.at(ptr);
  if (number.is_number_integer()) return number.dump();
  return "";
}

absl::StatusOr<ParsedJson> ParseJson(std::string_view text, const JsonLimits& limits) {
  ParsedJson out;
  DomBuilder builder(out, limits);
  const bool ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                                  /*strict=*/true);
  if (!ok) {
    return absl::InvalidArgumentError(builder.error().empty() ? "malformed JSON" : builder.error());
  }
  return out;
}

std::string PointerAppend(std::string_view pointer, std::string_view key) {
  std::string out(pointer);
  AppendToken(out, key);
  return out;
}

std::string PointerAppend(std::string_view pointer, size_t index) {
  return absl::StrCat(std::string(pointer), "/", index);
}

std::string DumpJson(const Json& value, int indent) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace lodestone::http
