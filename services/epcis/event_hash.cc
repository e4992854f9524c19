#include "services/epcis/event_hash.h"

#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace lodestone::epcis {
namespace {

using http::Json;
using PrefixMap = std::map<std::string, std::string>;

// ---- Values -------------------------------------------------------------------------------

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The GS1 mod-10 check digit of `digits` (weights 3, 1, ... from the right).
char CheckDigit(absl::string_view digits) {
  int sum = 0;
  for (size_t i = 0; i < digits.size(); ++i) {
    const int d = digits[digits.size() - 1 - i] - '0';
    sum += i % 2 == 0 ? 3 * d : d;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

// Characters GS1 Digital Link wants percent-encoded that EPC URIs allow.
std::string PercentEncode(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '!':
        out += "%21";
        break;
      case '(':
        out += "%28";
        break;
      case ')':
        out += "%29";
        break;
      case '*':
        out += "%2A";
        break;
      case '+':
        out += "%2B";
        break;
      case ',':
        out += "%2C";
        break;
      case ':':
        out += "%3A";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

constexpr absl::string_view kDl = "https://id.gs1.org/";

// "CP.REF[.more]" of an EPC URI: the company prefix and reference must be digits (an indicator
// or extension digit included) of `key_digits` together.
bool SplitKey(absl::string_view rest, size_t parts, size_t key_digits,
              std::vector<std::string>* out) {
  *out = absl::StrSplit(rest, absl::MaxSplits('.', static_cast<int>(parts) - 1));
  if (out->size() != parts) return false;
  const std::string& cp = (*out)[0];
  const std::string& ref = (*out)[1];
  if (cp.size() < 6 || cp.size() > 12 || !AllDigits(cp)) return false;
  if (!ref.empty() && !AllDigits(ref)) return false;
  return cp.size() + ref.size() == key_digits;
}

std::optional<std::string> EpcUriToDl(absl::string_view uri) {
  std::vector<std::string> p;
  const auto gtin = [&](const std::string& cp, const std::string& ref) {
    std::string g = absl::StrCat(ref.substr(0, 1), cp, ref.substr(1));
    return absl::StrCat(g, std::string(1, CheckDigit(g)));
  };
  const auto with_check = [](std::string digits) {
    return absl::StrCat(digits, std::string(1, CheckDigit(digits)));
  };
  absl::string_view rest = uri;
  if (absl::ConsumePrefix(&rest, "urn:epc:id:sgtin:")) {
    if (!SplitKey(rest, 3, 13, &p) || p[2].empty()) return std::nullopt;
    return absl::StrCat(kDl, "01/", gtin(p[0], p[1]), "/21/", PercentEncode(p[2]));
  }
  if (absl::ConsumePrefix(&rest, "urn:epc:id:sscc:")) {
    if (!SplitKey(rest, 2, 17, &p)) return std::nullopt;
    return absl::StrCat(kDl, "00/", gtin(p[0], p[1]));
  }
  if (absl::ConsumePrefix(&rest, "urn:epc:id:sgln:")) {
    if (!SplitKey(rest, 3, 12, &p) || p[2].empty()) return std::nullopt;
    std::string out = absl::StrCat(kDl, "414/", with_check(p[0] + p[1]));
    if (p[2] != "0") absl::StrAppend(&out, "/254/", PercentEncode(p[2]));
    return out;
  }
  if (absl::ConsumePrefix(&rest, "urn:epc:id:pgln:")) {
    if (!SplitKey(rest, 2, 12, &p)) return std::nullopt;
    return absl::StrCat(kDl, "417/", with_check(p[0] + p[1]));
  }
  if (absl::ConsumePrefix(&rest, "urn:epc:id:grai:")) {
    if (!SplitKey(rest, 3, 12, &p) || p[2].empty()) return std::nullopt;
    return absl::StrCat(kDl, "8003/", with_check("0" + p[0] + p[1]), PercentEncode(p[2]));
  }
  if (absl::ConsumePrefix(&rest, "urn:epc:id:giai:")) {
    p = absl::StrSplit(rest, absl::MaxSplits('.', 1));
    if (p.size() != 2 || p[0].size() < 6 || p[0].size() > 12 || !AllDigits(p[0]) || p[1].empty()) {
      return std::nullopt;
    }
    return absl::StrCat(kDl, "8004/", p[0], PercentEncode(p[1]));
  }
  for (const auto& [scheme, ai] :
       {std::pair{"urn:epc:id:gsrn:", "8018/"}, std::pair{"urn:epc:id:gsrnp:", "8017/"}}) {
    if (absl::ConsumePrefix(&rest, scheme)) {
      if (!SplitKey(rest, 2, 17, &p)) return std::nullopt;
      return absl::StrCat(kDl, ai, with_check(p[0] + p[1]));
    }
  }
  if (absl::ConsumePrefix(&rest, "urn:epc:id:gdti:")) {
    if (!SplitKey(rest, 3, 12, &p)) return std::nullopt;
    return absl::StrCat(kDl, "253/", with_check(p[0] + p[1]), PercentEncode(p[2]));
  }
  if (absl::ConsumePrefix(&rest, "urn:epc:id:sgcn:")) {
    if (!SplitKey(rest, 3, 12, &p) || !AllDigits(p[2])) return std::nullopt;
    return absl::StrCat(kDl, "255/", with_check(p[0] + p[1]), p[2]);
  }
  if (absl::ConsumePrefix(&rest, "urn:epc:class:lgtin:")) {
    if (!SplitKey(rest, 3, 13, &p) || p[2].empty()) return std::nullopt;
    return absl::StrCat(kDl, "01/", gtin(p[0], p[1]), "/10/", PercentEncode(p[2]));
  }
  if (absl::ConsumePrefix(&rest, "urn:epc:idpat:sgtin:")) {
    if (!SplitKey(rest, 3, 13, &p) || p[2] != "*") return std::nullopt;
    return absl::StrCat(kDl, "01/", gtin(p[0], p[1]));
  }
  if (absl::ConsumePrefix(&rest, "urn:epc:idpat:grai:")) {
    if (!SplitKey(rest, 3, 12, &p) || p[2] != "*") return std::nullopt;
    return absl::StrCat(kDl, "8003/", with_check("0" + p[0] + p[1]));
  }
  if (absl::ConsumePrefix(&rest, "urn:epc:idpat:gdti:")) {
    if (!SplitKey(rest, 3, 12, &p) || p[2] != "*") return std::nullopt;
    return absl::StrCat(kDl, "253/", with_check(p[0] + p[1]));
  }
  return std::nullopt;
}

// Primary keys of GS1 Digital Link, by AI and by short name.
const std::map<std::string, std::string, std::less<>>& DlKeys() {
  static const auto* keys = new std::map<std::string, std::string, std::less<>>{
      {"01", "01"},     {"gtin", "01"},    {"8006", "8006"}, {"itip", "8006"}, {"8010", "8010"},
      {"cpid", "8010"}, {"414", "414"},    {"gln", "414"},   {"417", "417"},   {"party", "417"},
      {"8017", "8017"}, {"gsrnp", "8017"}, {"8018", "8018"}, {"gsrn", "8018"}, {"255", "255"},
      {"gcn", "255"},   {"00", "00"},      {"sscc", "00"},   {"253", "253"},   {"gdti", "253"},
      {"401", "401"},   {"ginc", "401"},   {"402", "402"},   {"gsin", "402"},  {"8003", "8003"},
      {"grai", "8003"}, {"8004", "8004"},  {"giai", "8004"}};
  return *keys;
}

std::optional<std::string> DlToCanonical(absl::string_view uri) {
  absl::string_view rest = uri;
  if (!absl::ConsumePrefix(&rest, "https://") && !absl::ConsumePrefix(&rest, "http://")) {
    return std::nullopt;
  }
  rest = rest.substr(0, std::min(rest.find('?'), rest.find('#')));
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) return std::nullopt;
  std::vector<std::string> segments = absl::StrSplit(rest.substr(slash + 1), '/');
  // The path from the first primary key on; key qualifiers in pairs after it.
  size_t start = 0;
  while (start < segments.size() && !DlKeys().contains(segments[start])) ++start;
  if (start + 1 >= segments.size()) return std::nullopt;
  const std::string key = DlKeys().find(segments[start])->second;
  std::string value = segments[start + 1];
  if (value.size() < 4 || !AllDigits(value.substr(0, 4))) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> qualifiers;
  for (size_t i = start + 2; i < segments.size(); i += 2) {
    if (i + 1 >= segments.size()) return std::nullopt;
    std::string ai = segments[i];
    if (ai == "cpv") ai = "22";
    if (ai == "lot") ai = "10";
    if (ai == "ser") ai = "21";
    qualifiers.emplace_back(ai, segments[i + 1]);
  }
  if (key == "01") {
    if (!AllDigits(value)) return std::nullopt;
    if (value.size() == 13) value = "0" + value;
    if (value.size() == 12) value = "00" + value;
    if (value.size() == 8) value = "000000" + value;
    if (value.size() != 14) return std::nullopt;
  }
  // Drop the consumer product variant; keep only the finest level (a serial drops the lot).
  std::erase_if(qualifiers, [](const auto& q) { return q.first == "22"; });
  const bool serial = std::any_of(qualifiers.begin(), qualifiers.end(),
                                  [](const auto& q) { return q.first == "21"; });
  if (serial) std::erase_if(qualifiers, [](const auto& q) { return q.first == "10"; });
  if (qualifiers.size() > 1) return std::nullopt;
  std::string out = absl::StrCat(kDl, key, "/", value);
  for (const auto& [ai, v] : qualifiers) absl::StrAppend(&out, "/", ai, "/", v);
  return out;
}

// Python's str(float(text)) with integral values as integers: the reference's number form.
std::optional<std::string> CanonicalNumber(absl::string_view text) {
  absl::string_view s = absl::StripAsciiWhitespace(text);
  if (s.empty()) return std::nullopt;
  size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
  size_t digits = 0;
  bool dot = false;
  for (; i < s.size(); ++i) {
    if (s[i] >= '0' && s[i] <= '9') {
      ++digits;
    } else if (s[i] == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    if (j >= s.size()) return std::nullopt;
    for (; j < s.size(); ++j) {
      if (s[j] < '0' || s[j] > '9') return std::nullopt;
    }
    i = s.size();
  }
  if (i != s.size()) return std::nullopt;
  std::string owned(s[0] == '+' ? s.substr(1) : s);
  double value = 0;
  if (std::from_chars(owned.data(), owned.data() + owned.size(), value).ec != std::errc()) {
    return std::nullopt;
  }
  if (!std::isfinite(value)) return std::nullopt;
  char buffer[400];
  if (value == std::trunc(value)) {
    auto end = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed, 0);
    std::string out(buffer, end.ptr);
    return out == "-0" ? "0" : out;
  }
  // Shortest round-trip digits; fixed notation for exponents in [-5, 16), else d.ddde-XX.
  auto end = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  std::string sci(buffer, end.ptr);
  const size_t e = sci.find('e');
  const int exponent = std::stoi(sci.substr(e + 1));
  if (exponent >= -5 && exponent < 16) {
    end = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed);
    return std::string(buffer, end.ptr);
  }
  return absl::StrCat(sci.substr(0, e), "e", exponent < 0 ? "-" : "+",
                      std::abs(exponent) < 10 ? "0" : "", std::abs(exponent));
}

// Millisecond precision in UTC with "Z"; the text as it is when it is not a date-time.
std::string CanonicalTime(const std::string& text) {
  absl::Time time;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, nullptr)) return text;
  // Microseconds (as the reference's parser keeps), rounded half to even to milliseconds.
  const int64_t micros = absl::ToUnixMicros(time);
  int64_t millis = micros / 1000;
  int64_t rest = micros % 1000;
  if (rest < 0) {
    rest += 1000;
    --millis;
  }
  if (rest > 500 || (rest == 500 && millis % 2 != 0)) ++millis;
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(millis),
                          absl::UTCTimeZone());
}

std::string CanonicalValue(std::string text) {
  static constexpr std::pair<absl::string_view, absl::string_view> kWebVocabulary[] = {
      {"urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"},
      {"urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"},
      {"urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"},
      {"urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"},
      {"urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"}};
  for (const auto& [urn, web] : kWebVocabulary) {
    if (absl::StartsWith(text, urn)) text = absl::StrCat(web, text.substr(urn.size()));
  }
  if (auto number = CanonicalNumber(text)) text = *number;
  if (auto dl = CanonicalDigitalLink(text)) return *dl;
  return text;
}

// ---- The event as a tree of named values, as the XML binding would give it ---------------

struct Node {
  std::string name;
  std::string value;  // canonical; "" for none
  std::vector<Node> children;
};

// Bare CBV / GS1 vocabulary words of the fields whose values are vocabulary (the EPCIS
// context's @vocab terms), as Web URIs.
std::string VocabularyValue(absl::string_view field, const std::string& word) {
  if (word.empty() || word.find(':') != std::string::npos) return word;
  static const auto* prefixes = new std::map<std::string, std::string, std::less<>>{
      {"bizStep", "https://ref.gs1.org/cbv/BizStep-"},
      {"disposition", "https://ref.gs1.org/cbv/Disp-"},
      {"set", "https://ref.gs1.org/cbv/Disp-"},
      {"unset", "https://ref.gs1.org/cbv/Disp-"},
      {"bizTransactionType", "https://ref.gs1.org/cbv/BTT-"},
      {"sourceOrDestinationType", "https://ref.gs1.org/cbv/SDT-"},
      {"measurementType", "https://gs1.org/voc/"},
      {"exception", "https://gs1.org/voc/"},
      {"component", "https://ref.gs1.org/cbv/Comp-"}};
  auto it = prefixes->find(field);
  return it == prefixes->end() ? word : it->second + word;
}

class TreeBuilder {
 public:
  TreeBuilder(const http::ParsedJson& document, PrefixMap prefixes)
      : document_(document), prefixes_(std::move(prefixes)) {}

  // "prefix:local" keys as "{iri}local" when the prefix is bound in the document.
  std::string Key(const std::string& key) const {
    const size_t colon = key.find(':');
    if (colon == std::string::npos) return key;
    auto it = prefixes_.find(key.substr(0, colon));
    return it == prefixes_.end() ? key : absl::StrCat("{", it->second, "}", key.substr(colon + 1));
  }

  // A scalar's text: the decimal text as written for numbers, CURIE values expanded.
  std::string Scalar(const Json& value, const std::string& pointer) const {
    if (value.is_string()) {
      std::string text(absl::StripAsciiWhitespace(value.get<std::string>()));
      const size_t colon = text.find(':');
      if (colon != std::string::npos) {
        auto it = prefixes_.find(text.substr(0, colon));
        if (it != prefixes_.end()) text = it->second + text.substr(colon + 1);
      }
      return text;
    }
    if (value.is_number()) return document_.NumberText(pointer);
    if (value.is_boolean()) return value.get<bool>() ? "True" : "False";
    return "";
  }

  // Generic: an object's members, an array's elements under the member's name, a scalar.
  void Generic(const std::string& name, const Json& value, const std::string& pointer,
               std::vector<Node>* out) const {
    if (value.is_array()) {
      for (size_t i = 0; i < value.size(); ++i) {
        Generic(name, value[i], http::PointerAppend(pointer, i), out);
      }
      return;
    }
    Node node{name, "", {}};
    if (value.is_object()) {
      for (const auto& [key, member] : value.items()) {
        Generic(Key(key), member, http::PointerAppend(pointer, key), &node.children);
      }
    } else {
      node.value = CanonicalValue(Scalar(value, pointer));
    }
    out->push_back(std::move(node));
  }

  // The members of `object` named in `known` become children with vocabulary values; the rest
  // (extensions) generic children.
  Node Structured(const std::string& name, const Json& object, const std::string& pointer,
                  const std::map<std::string, std::string>& vocabulary = {}) const {
    Node node{name, "", {}};
    if (!object.is_object()) return node;
    for (const auto& [key, member] : object.items()) {
      const std::string at = http::PointerAppend(pointer, key);
      auto vocab = vocabulary.find(key);
      if (vocab != vocabulary.end() && member.is_string()) {
        node.children.push_back(
            {key, CanonicalValue(VocabularyValue(vocab->second, Scalar(member, at))), {}});
      } else {
        Generic(Key(key), member, at, &node.children);
      }
    }
    return node;
  }

  std::vector<Node> Event(const Json& event, const std::string& pointer) const {
    std::vector<Node> nodes;
    for (const auto& [key, value] : event.items()) {
      const std::string at = http::PointerAppend(pointer, key);
      if (key == "type" || key == "eventID" || key == "recordTime" || key == "errorDeclaration" ||
          key == "@context") {
        continue;
      }
      if (key == "epcList" || key == "inputEPCList" || key == "outputEPCList" ||
          key == "childEPCs") {
        Node list{key, "", {}};
        for (size_t i = 0; i < value.size(); ++i) {
          list.children.push_back(
              {"epc", CanonicalValue(Scalar(value[i], http::PointerAppend(at, i))), {}});
        }
        nodes.push_back(std::move(list));
      } else if (key == "quantityList" || key == "childQuantityList" ||
                 key == "inputQuantityList" || key == "outputQuantityList") {
        Node list{key, "", {}};
        for (size_t i = 0; i < value.size(); ++i) {
          list.children.push_back(
              Structured("quantityElement", value[i], http::PointerAppend(at, i)));
        }
        nodes.push_back(std::move(list));
      } else if (key == "bizTransactionList" || key == "sourceList" || key == "destinationList") {
        // <bizTransaction type="...">value</bizTransaction>: type then value, in document order.
        const std::string member = key == "bizTransactionList" ? "bizTransaction"
                                   : key == "sourceList"       ? "source"
                                                               : "destination";
        const std::string vocab =
            key == "bizTransactionList" ? "bizTransactionType" : "sourceOrDestinationType";
        Node list{key, "", {}};
        for (size_t i = 0; i < value.size(); ++i) {
          const Json& entry = value[i];
          const std::string entry_at = http::PointerAppend(at, i);
          if (!entry.is_object()) continue;
          if (entry.contains("type")) {
            list.children.push_back(
                {"type",
                 CanonicalValue(VocabularyValue(
                     vocab, Scalar(entry["type"], http::PointerAppend(entry_at, "type")))),
                 {}});
          }
          if (entry.contains(member)) {
            list.children.push_back(
                {member,
                 CanonicalValue(Scalar(entry[member], http::PointerAppend(entry_at, member))),
                 {}});
          }
        }
        nodes.push_back(std::move(list));
      } else if (key == "sensorElementList") {
        Node list{key, "", {}};
        for (size_t i = 0; i < value.size(); ++i) {
          const Json& element = value[i];
          const std::string element_at = http::PointerAppend(at, i);
          Node sensor{"sensorElement", "", {}};
          if (element.is_object()) {
            for (const auto& [part, content] : element.items()) {
              const std::string part_at = http::PointerAppend(element_at, part);
              if (part == "sensorMetadata") {
                sensor.children.push_back(Structured(part, content, part_at));
              } else if (part == "sensorReport" && content.is_array()) {
                for (size_t r = 0; r < content.size(); ++r) {
                  sensor.children.push_back(Structured(part, content[r],
                                                       http::PointerAppend(part_at, r),
                                                       {{"type", "measurementType"},
                                                        {"exception", "exception"},
                                                        {"component", "component"}}));
                }
              } else {
                Generic(Key(part), content, part_at, &sensor.children);
              }
            }
          }
          list.children.push_back(std::move(sensor));
        }
        nodes.push_back(std::move(list));
      } else if (key == "persistentDisposition") {
        Node node{key, "", {}};
        for (const char* part : {"set", "unset"}) {
          if (!value.is_object() || !value.contains(part)) continue;
          const Json& words = value[part];
          for (size_t i = 0; i < words.size(); ++i) {
            node.children.push_back(
                {part,
                 CanonicalValue(
                     VocabularyValue(part, Scalar(words[i], absl::StrCat(at, "/", part, "/", i)))),
                 {}});
          }
        }
        nodes.push_back(std::move(node));
      } else if (key == "readPoint" || key == "bizLocation") {
        nodes.push_back(Structured(key, value, at));
      } else if (key == "bizStep" || key == "disposition") {
        nodes.push_back({key, CanonicalValue(VocabularyValue(key, Scalar(value, at))), {}});
      } else {
        Generic(Key(key), value, at, &nodes);
      }
    }
    return nodes;
  }

 private:
  const http::ParsedJson& document_;
  const PrefixMap prefixes_;
};

// ---- Rendering ----------------------------------------------------------------------------

struct Order {
  Order(std::string n, std::vector<Order> c = {}) : name(std::move(n)), children(std::move(c)) {}
  std::string name;
  std::vector<Order> children;  // empty: a plain value
};

const std::vector<Order>& EventOrder() {
  static const auto* order = [] {
    const std::vector<Order> quantity = {
        {"quantityElement", {{"epcClass"}, {"quantity"}, {"uom"}}}};
    const std::vector<Order> epc = {{"epc"}};
    return new std::vector<Order>{
        {"eventTime"},
        {"eventTimeZoneOffset"},
        {"certificationInfo"},
        {"parentID"},
        {"epcList", epc},
        {"inputEPCList", epc},
        {"childEPCs", epc},
        {"quantityList", quantity},
        {"childQuantityList", quantity},
        {"inputQuantityList", quantity},
        {"outputEPCList", epc},
        {"outputQuantityList", quantity},
        {"action"},
        {"transformationID"},
        {"bizStep"},
        {"disposition"},
        {"persistentDisposition", {{"set"}, {"unset"}}},
        {"readPoint", {{"id"}}},
        {"bizLocation", {{"id"}}},
        // bizTransactionList, sourceList and destinationList are not here: the reference
        // generator renders them with the other fields after the ordered ones, sorted.
        {"sensorElementList",
         {{"sensorElement",
           {{"sensorMetadata",
             {{"time"},
              {"startTime"},
              {"endTime"},
              {"deviceID"},
              {"deviceMetadata"},
              {"rawData"},
              {"dataProcessingMethod"},
              {"bizRules"}}},
            {"sensorReport",
             {{"type"},
              {"exception"},
              {"deviceID"},
              {"deviceMetadata"},
              {"rawData"},
              {"dataProcessingMethod"},
              {"time"},
              {"microorganism"},
              {"chemicalSubstance"},
              {"value"},
              {"component"},
              {"stringValue"},
              {"booleanValue"},
              {"hexBinaryValue"},
              {"uriValue"},
              {"minValue"},
              {"maxValue"},
              {"meanValue"},
              {"sDev"},
              {"percRank"},
              {"percValue"},
              {"uom"},
              {"coordinateReferenceSystem"}}}}}}}};
  }();
  return *order;
}

bool IsExtension(const Node& node) { return !node.name.empty() && node.name[0] == '{'; }

// Unordered children: sorted, except the entries of a business transaction, source or
// destination list, which keep their order (type before value).
std::string RenderGeneric(const std::vector<Node>& nodes) {
  std::vector<std::string> parts;
  bool keep_order = false;
  for (const Node& node : nodes) {
    if (node.name == "bizTransaction" || node.name == "source" || node.name == "destination") {
      keep_order = true;
    }
    parts.push_back(absl::StrCat(node.name, node.value.empty() ? "" : "=", node.value,
                                 RenderGeneric(node.children)));
  }
  if (!keep_order) std::sort(parts.begin(), parts.end());
  return absl::StrJoin(parts, "");
}

std::string RenderOrdered(const std::vector<Node>& nodes, const std::vector<Order>& order);

std::string RenderField(const Node& node, const Order& order) {
  std::string value = node.value;
  if (!value.empty()) {
    const std::string lower = absl::AsciiStrToLower(node.name);
    // Time stamps are read back from the text as written (CanonicalValue left them alone).
    if (absl::StrContains(lower, "time") && !absl::StrContains(lower, "offset")) {
      value = CanonicalTime(value);
    }
  }
  std::string children;
  if (!order.children.empty()) {
    children = RenderOrdered(node.children, order.children);
    std::vector<Node> extensions;
    for (const Node& child : node.children) {
      if (IsExtension(child)) extensions.push_back(child);
    }
    absl::StrAppend(&children, RenderGeneric(extensions));
  }
  if (value.empty() && children.empty()) return "";
  return absl::StrCat(node.name, value.empty() ? "" : "=", value, children);
}

std::string RenderOrdered(const std::vector<Node>& nodes, const std::vector<Order>& order) {
  std::string out;
  for (const Order& field : order) {
    std::vector<std::string> values;
    for (const Node& node : nodes) {
      if (node.name != field.name) continue;
      if (std::string text = RenderField(node, field); !text.empty()) values.push_back(text);
    }
    std::sort(values.begin(), values.end());
    for (const std::string& value : values) out += value;
  }
  return out;
}

}  // namespace

std::optional<std::string> CanonicalDigitalLink(std::string_view uri) {
  const absl::string_view text(uri.data(), uri.size());
  if (absl::StartsWith(text, "urn:epc:")) return EpcUriToDl(text);
  return DlToCanonical(text);
}

std::string EventPreHash(const http::ParsedJson& document, size_t index) {
  const Json& root = document.value;
  if (!root.is_object() || !root.contains("epcisBody") || !root["epcisBody"].is_object() ||
      !root["epcisBody"].contains("eventList") || !root["epcisBody"]["eventList"].is_array() ||
      index >= root["epcisBody"]["eventList"].size()) {
    return "";
  }
  const Json& event = root["epcisBody"]["eventList"][index];
  if (!event.is_object()) return "";
  // Only the document's own prefixes, as the reference generator: the standard context's terms
  // are the standard's fields, not namespaces.
  PrefixMap prefixes;
  if (root.contains("@context")) AddContextPrefixes(root["@context"], prefixes);
  if (event.contains("@context")) AddContextPrefixes(event["@context"], prefixes);
  TreeBuilder builder(document, std::move(prefixes));
  const std::string pointer = http::PointerAppend("/epcisBody/eventList", index);
  std::vector<Node> nodes = builder.Event(event, pointer);
  std::string pre_hash = absl::StrCat("eventType=", event.value("type", ""));
  absl::StrAppend(&pre_hash, RenderOrdered(nodes, EventOrder()));
  std::vector<Node> rest;
  for (const Node& node : nodes) {
    const bool ordered = std::any_of(EventOrder().begin(), EventOrder().end(),
                                     [&](const Order& o) { return o.name == node.name; });
    if (!ordered) rest.push_back(node);
  }
  absl::StrAppend(&pre_hash, RenderGeneric(rest));
  return pre_hash;
}

std::string HexSha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : digest) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 15]);
  }
  return hex;
}

void AddContextPrefixes(const Json& context, std::map<std::string, std::string>& prefixes) {
  if (context.is_array()) {
    for (const Json& entry : context) AddContextPrefixes(entry, prefixes);
  } else if (context.is_object()) {
    for (const auto& [prefix, iri] : context.items()) {
      if (iri.is_string()) prefixes[prefix] = iri.get<std::string>();
    }
  }
}

std::string EventHashFromPreHash(std::string_view pre_hash) {
  return absl::StrCat("ni:///sha-256;", HexSha256(pre_hash), "?ver=CBV2.0");
}
}  // namespace lodestone::epcis
