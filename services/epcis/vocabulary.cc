#include "services/epcis/vocabulary.h"

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/domain/rules.h"

namespace lodestone::epcis {
namespace {

constexpr domain::Grams kMaxGrams = domain::Grams{1} << 52;

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The GS1 check digit of `digits` (all but the last digit of a key).
char CheckDigit(std::string_view digits) {
  int sum = 0;
  bool three = true;  // weights 3,1,3,... from the right
  for (size_t i = digits.size(); i-- > 0;) {
    sum += (digits[i] - '0') * (three ? 3 : 1);
    three = !three;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

bool CheckDigitOk(std::string_view key) {
  return key.size() >= 2 && IsDigits(key) &&
         CheckDigit(key.substr(0, key.size() - 1)) == key.back();
}

// %XX escapes of EPC URNs and Digital Link paths.
std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    parts.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

// The path segments of a GS1 Digital Link URI ("https://host/01/...": after the host, without
// query or fragment); nullopt when `uri` is not an http(s) URI.
std::optional<std::vector<std::string_view>> DigitalLinkPath(std::string_view uri) {
  size_t rest;
  if (uri.starts_with("https://")) {
    rest = 8;
  } else if (uri.starts_with("http://")) {
    rest = 7;
  } else {
    return std::nullopt;
  }
  const size_t slash = uri.find('/', rest);
  if (slash == std::string_view::npos) return std::vector<std::string_view>{};
  std::string_view path = uri.substr(slash + 1);
  if (const size_t end = path.find_first_of("?#"); end != std::string_view::npos) {
    path = path.substr(0, end);
  }
  std::vector<std::string_view> segments = Split(path, '/');
  return segments;
}

// The segments following the first occurrence of the AI `ai` (Digital Link paths may have a
// custom prefix before the primary key).
std::optional<size_t> FindAi(const std::vector<std::string_view>& segments, std::string_view ai) {
  for (size_t i = 0; i + 1 < segments.size(); i += 1) {
    if (segments[i] == ai) return i;
  }
  return std::nullopt;
}

absl::Status Malformed(std::string_view what, std::string_view uri, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(what), " '", std::string(uri), "': ", std::string(why)));
}

absl::StatusOr<std::optional<std::string>> CheckedId(std::string id, std::string_view what,
                                                     std::string_view uri) {
  if (!domain::IsWellFormedId(id)) {
    return Malformed(what, uri, "does not make a Lodestone id (1..128 bytes of [A-Za-z0-9._:/-])");
  }
  return std::optional<std::string>(std::move(id));
}

std::optional<std::string> NativeId(std::string_view uri, std::string_view kind) {
  const std::string prefix = absl::StrCat("urn:lodestone:", std::string(kind), ":");
  if (!uri.starts_with(prefix)) return std::nullopt;
  return std::string(uri.substr(prefix.size()));
}

// "CP.REF" of a URN (company prefix + reference) into the GS1 key `digits` long, with `lead`
// (the indicator digit of a GTIN, taken from the reference's first digit) or none.
std::optional<std::string> KeyFromUrnParts(std::string_view company, std::string_view ref,
                                           size_t digits, bool indicator_first) {
  if (!IsDigits(company) || (!ref.empty() && !IsDigits(ref))) return std::nullopt;
  std::string body;
  if (indicator_first) {
    if (ref.empty()) return std::nullopt;
    body = absl::StrCat(std::string(ref.substr(0, 1)), std::string(company),
                        std::string(ref.substr(1)));
  } else {
    body = absl::StrCat(std::string(company), std::string(ref));
  }
  if (body.size() + 1 != digits) return std::nullopt;
  body.push_back(CheckDigit(body));
  return body;
}

std::optional<std::string> Gtin14(std::string_view gtin) {
  if (!IsDigits(gtin) ||
      (gtin.size() != 8 && gtin.size() != 12 && gtin.size() != 13 && gtin.size() != 14)) {
    return std::nullopt;
  }
  std::string padded = std::string(14 - gtin.size(), '0') + std::string(gtin);
  if (!CheckDigitOk(padded)) return std::nullopt;
  return padded;
}

struct NamedEnum {
  std::string_view name;
  int value;
};
constexpr std::array<NamedEnum, 18> kMaterials = {{{"antimony_ore", 1},
                                                   {"antimony_oxide", 2},
                                                   {"antimony_metal", 3},
                                                   {"rare_earth_ore", 4},
                                                   {"rare_earth_compound", 5},
                                                   {"rare_earth_metal", 6},
                                                   {"ndfeb_alloy", 7},
                                                   {"ndfeb_magnet", 8},
                                                   {"gallium", 9},
                                                   {"germanium", 10},
                                                   {"germanium_oxide", 11},
                                                   {"tungsten", 12},
                                                   {"tantalum", 13},
                                                   {"graphite", 14},
                                                   {"iron", 15},
                                                   {"boron", 16},
                                                   {"scrap", 17},
                                                   {"other", 18}}};
constexpr std::array<NamedEnum, 10> kProcesses = {{{"separation", 1},
                                                   {"refining", 2},
                                                   {"smelting", 3},
                                                   {"metal_making", 4},
                                                   {"alloying", 5},
                                                   {"magnet_making", 6},
                                                   {"recycling", 7},
                                                   {"repackaging", 8},
                                                   {"blending", 9},
                                                   {"splitting", 10}}};

template <size_t N>
std::optional<int> FromName(const std::array<NamedEnum, N>& table, std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

template <size_t N>
std::string_view ToName(const std::array<NamedEnum, N>& table, int value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "unspecified";
}

}  // namespace

absl::StatusOr<domain::Grams> GramsFromDecimal(std::string_view text, std::string_view uom) {
  // Grams per unit as a fraction numerator / 10^scale, exact.
  struct Unit {
    std::string_view code;
    int64_t numerator;
    int scale;
    bool rounds;
  };
  static constexpr std::array<Unit, 6> kUnits = {
      {{"GRM", 1, 0, false},
       {"KGM", 1000, 0, false},
       {"TNE", 1000000, 0, false},
       {"MGM", 1, 3, false},
       {"LBR", 45359237, 5, true},       // 453.59237 g
       {"ONZ", 28349523125, 9, true}}};  // 28.349523125 g
  if (uom.empty()) {
    return absl::InvalidArgumentError(
        "a quantity without a unit is a count; Lodestone needs a mass (KGM, TNE, GRM, ...)");
  }
  const Unit* unit = nullptr;
  for (const auto& candidate : kUnits) {
    if (candidate.code == uom) unit = &candidate;
  }
  if (unit == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unit '", std::string(uom),
                     "' is not a unit of mass Lodestone converts (GRM, KGM, TNE, MGM, LBR, ONZ)"));
  }
  // Parse [-]digits[.digits][(e|E)[+-]digits] into digits and a decimal exponent.
  std::string_view s = text;
  const auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("quantity '", std::string(text), "' is not a decimal number"));
  };
  if (s.empty()) return bad();
  bool negative = false;
  if (s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  std::string digits;
  int64_t exponent = 0;
  size_t i = 0;
  bool any = false;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, any = true) digits.push_back(s[i]);
  if (i < s.size() && s[i] == '.') {
    ++i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, any = true) {
      digits.push_back(s[i]);
      --exponent;
    }
  }
  if (!any) return bad();
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) exp_negative = s[i++] == '-';
    if (i == s.size()) return bad();
    int64_t e = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      e = e * 10 + (s[i] - '0');
      if (e > 100000) return bad();
    }
    exponent += exp_negative ? -e : e;
  }
  if (i != s.size()) return bad();
  // Strip leading zeros and trailing zeros (into the exponent).
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos || negative) {
    return absl::InvalidArgumentError(
        absl::StrCat("quantity '", std::string(text), "' is not a positive mass"));
  }
  digits = digits.substr(first);
  while (!digits.empty() && digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  const auto too_large = [&] {
    return absl::InvalidArgumentError(absl::StrCat("quantity '", std::string(text), " ",
                                                   std::string(uom), "' is more than 2^52 g"));
  };
  // value = digits * 10^exponent * numerator / 10^scale grams.
  unsigned __int128 mantissa = 0;
  const auto power_of_ten = [](int64_t n) {
    unsigned __int128 p = 1;
    for (int64_t k = 0; k < n; ++k) p *= 10;
    return p;
  };
  unsigned __int128 grams = 0;
  if (!unit->rounds) {
    // Metric: the numerator is a power of ten, so the mass is digits * 10^e exactly.
    int64_t e = exponent - unit->scale;
    for (int64_t n = unit->numerator; n > 1; n /= 10) ++e;
    if (e < 0) {
      return absl::InvalidArgumentError(absl::StrCat("quantity '", std::string(text), " ",
                                                     std::string(uom),
                                                     "' is not a whole number of grams"));
    }
    if (static_cast<int64_t>(digits.size()) + e > 16) return too_large();
    for (const char c : digits) mantissa = mantissa * 10 + static_cast<unsigned>(c - '0');
    grams = mantissa * power_of_ten(e);
  } else {
    // Avoirdupois: an exact fraction, rounded once. 24 significant digits times the numerator
    // (< 2^35) stay far below 2^128.
    if (digits.size() > 24) {
      return absl::InvalidArgumentError(
          absl::StrCat("quantity '", std::string(text), "' has more than 24 significant digits"));
    }
    for (const char c : digits) mantissa = mantissa * 10 + static_cast<unsigned>(c - '0');
    const int64_t e = exponent - unit->scale;
    unsigned __int128 value = mantissa * static_cast<unsigned __int128>(unit->numerator);
    if (e > 0) {
      if (static_cast<int64_t>(digits.size()) + e > 30) return too_large();
      grams = value * power_of_ten(e);
    } else if (-e > 36) {
      grams = 0;  // far below a gram
    } else {
      const unsigned __int128 divisor = power_of_ten(-e);
      grams = value / divisor;
      const unsigned __int128 remainder = value % divisor;
      const unsigned __int128 twice = remainder * 2;
      if (twice > divisor || (twice == divisor && (grams % 2) == 1)) ++grams;
    }
  }
  if (grams == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("quantity '", std::string(text), "' rounds to 0 g"));
  }
  if (grams > static_cast<unsigned __int128>(kMaxGrams)) return too_large();
  return static_cast<domain::Grams>(grams);
}

absl::StatusOr<std::optional<std::string>> LotId(std::string_view uri) {
  if (auto native = NativeId(uri, "lot")) return CheckedId(*native, "lot", uri);
  constexpr std::string_view kLgtin = "urn:epc:class:lgtin:";
  if (uri.starts_with(kLgtin)) {
    const std::vector<std::string_view> parts = Split(uri.substr(kLgtin.size()), '.');
    if (parts.size() < 3) return Malformed("LGTIN", uri, "expected CompanyPrefix.ItemRef.Lot");
    // The lot may itself hold dots: rejoin what follows the item reference.
    const size_t lot_start = parts[0].size() + parts[1].size() + 2;
    auto gtin = KeyFromUrnParts(parts[0], parts[1], 14, /*indicator_first=*/true);
    if (!gtin)
      return Malformed("LGTIN", uri, "company prefix and item reference are not 13 digits");
    auto lot = PercentDecode(uri.substr(kLgtin.size() + lot_start));
    if (!lot || lot->empty()) return Malformed("LGTIN", uri, "bad lot number");
    return CheckedId(absl::StrCat("01/", *gtin, "/10/", *lot), "lot", uri);
  }
  auto path = DigitalLinkPath(uri);
  if (!path) return std::optional<std::string>();
  auto at = FindAi(*path, "01");
  if (!at) return std::optional<std::string>();
  const auto& segments = *path;
  if (*at + 3 >= segments.size() || segments[*at + 2] != "10") {
    return std::optional<std::string>();  // a GTIN without a lot: a class, not a lot
  }
  auto gtin = Gtin14(segments[*at + 1]);
  if (!gtin) return Malformed("GS1 Digital Link", uri, "bad GTIN (length or check digit)");
  auto lot = PercentDecode(segments[*at + 3]);
  if (!lot || lot->empty()) return Malformed("GS1 Digital Link", uri, "bad lot number");
  return CheckedId(absl::StrCat("01/", *gtin, "/10/", *lot), "lot", uri);
}

absl::StatusOr<std::optional<std::string>> FacilityId(std::string_view uri) {
  if (auto native = NativeId(uri, "facility")) return CheckedId(*native, "facility", uri);
  constexpr std::string_view kSgln = "urn:epc:id:sgln:";
  if (uri.starts_with(kSgln)) {
    const std::vector<std::string_view> parts = Split(uri.substr(kSgln.size()), '.');
    if (parts.size() != 3) return Malformed("SGLN", uri, "expected CompanyPrefix.LocationRef.Ext");
    auto gln = KeyFromUrnParts(parts[0], parts[1], 13, /*indicator_first=*/false);
    if (!gln)
      return Malformed("SGLN", uri, "company prefix and location reference are not 12 digits");
    auto ext = PercentDecode(parts[2]);
    if (!ext) return Malformed("SGLN", uri, "bad extension");
    if (ext->empty() || *ext == "0") return CheckedId(absl::StrCat("414/", *gln), "facility", uri);
    return CheckedId(absl::StrCat("414/", *gln, "/254/", *ext), "facility", uri);
  }
  auto path = DigitalLinkPath(uri);
  if (!path) return std::optional<std::string>();
  auto at = FindAi(*path, "414");
  if (!at) return std::optional<std::string>();
  const auto& segments = *path;
  const std::string_view gln = segments[*at + 1];
  if (gln.size() != 13 || !CheckDigitOk(gln)) {
    return Malformed("GS1 Digital Link", uri, "bad GLN (length or check digit)");
  }
  if (*at + 3 < segments.size() && segments[*at + 2] == "254") {
    auto ext = PercentDecode(segments[*at + 3]);
    if (!ext) return Malformed("GS1 Digital Link", uri, "bad extension");
    if (*ext != "0") {
      return CheckedId(absl::StrCat("414/", std::string(gln), "/254/", *ext), "facility", uri);
    }
  }
  return CheckedId(absl::StrCat("414/", std::string(gln)), "facility", uri);
}

absl::StatusOr<std::optional<std::string>> PartyId(std::string_view uri) {
  if (auto native = NativeId(uri, "party")) return CheckedId(*native, "party", uri);
  constexpr std::string_view kPgln = "urn:epc:id:pgln:";
  if (uri.starts_with(kPgln)) {
    const std::vector<std::string_view> parts = Split(uri.substr(kPgln.size()), '.');
    if (parts.size() != 2) return Malformed("PGLN", uri, "expected CompanyPrefix.PartyRef");
    auto gln = KeyFromUrnParts(parts[0], parts[1], 13, /*indicator_first=*/false);
    if (!gln) return Malformed("PGLN", uri, "company prefix and party reference are not 12 digits");
    return CheckedId(absl::StrCat("417/", *gln), "party", uri);
  }
  auto path = DigitalLinkPath(uri);
  if (!path) return std::optional<std::string>();
  auto at = FindAi(*path, "417");
  if (!at) return std::optional<std::string>();
  const std::string_view gln = (*path)[*at + 1];
  if (gln.size() != 13 || !CheckDigitOk(gln)) {
    return Malformed("GS1 Digital Link", uri, "bad GLN (length or check digit)");
  }
  return CheckedId(absl::StrCat("417/", std::string(gln)), "party", uri);
}

absl::StatusOr<std::string> ShipmentId(std::string_view uri) {
  std::optional<std::string> id;
  if (auto native = NativeId(uri, "shipment")) {
    id = *native;
  } else if (constexpr std::string_view kBt = "urn:epcglobal:cbv:bt:"; uri.starts_with(kBt)) {
    id = absl::StrCat("bt:", std::string(uri.substr(kBt.size())));
  } else if (auto path = DigitalLinkPath(uri)) {
    if (auto at = FindAi(*path, "253")) id = absl::StrCat("253/", std::string((*path)[*at + 1]));
  }
  if (!id) {
    return Malformed("business transaction", uri,
                     "not a CBV business transaction URN, a GDTI Digital Link or "
                     "urn:lodestone:shipment:<id>");
  }
  if (!domain::IsWellFormedId(*id)) {
    return Malformed("business transaction", uri,
                     "does not make a Lodestone id (1..128 bytes of [A-Za-z0-9._:/-])");
  }
  return *id;
}

std::string IdToUri(std::string_view kind, std::string_view id) {
  if (kind == "shipment") {
    if (id.starts_with("bt:")) return absl::StrCat("urn:epcglobal:cbv:", std::string(id));
    if (id.starts_with("253/")) return absl::StrCat("https://id.gs1.org/", std::string(id));
  }
  const bool gs1 = (kind == "lot" && id.starts_with("01/")) ||
                   (kind == "facility" && id.starts_with("414/")) ||
                   (kind == "party" && id.starts_with("417/"));
  if (gs1) return absl::StrCat("https://id.gs1.org/", std::string(id));
  return absl::StrCat("urn:lodestone:", std::string(kind), ":", std::string(id));
}

std::string CbvWord(std::string_view value, std::string_view urn_kind,
                    std::string_view web_prefix) {
  const std::string urn = absl::StrCat("urn:epcglobal:cbv:", std::string(urn_kind), ":");
  if (value.starts_with(urn)) return std::string(value.substr(urn.size()));
  const std::string web = absl::StrCat("https://ref.gs1.org/cbv/", std::string(web_prefix), "-");
  if (value.starts_with(web)) return std::string(value.substr(web.size()));
  if (value.find(':') != std::string_view::npos || value.empty()) return "";
  return std::string(value);
}

std::optional<domain::Material> MaterialFromName(std::string_view name) {
  auto value = FromName(kMaterials, name);
  if (!value) return std::nullopt;
  return static_cast<domain::Material>(*value);
}

std::string_view MaterialToName(domain::Material material) {
  return ToName(kMaterials, static_cast<int>(material));
}

std::optional<domain::Process> ProcessFromName(std::string_view name) {
  auto value = FromName(kProcesses, name);
  if (!value) return std::nullopt;
  return static_cast<domain::Process>(*value);
}

std::string_view ProcessToName(domain::Process process) {
  return ToName(kProcesses, static_cast<int>(process));
}

}  // namespace lodestone::epcis
