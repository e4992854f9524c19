#include "services/domain/codes.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

namespace lodestone::domain {
namespace {

// ISO 3166-1 alpha-2, officially assigned codes, sorted (the static_assert below checks it).
// Checked against the Debian iso-codes list (iso_3166-1.json) when written; update when the ISO
// 3166 Maintenance Agency assigns or withdraws a code.
constexpr size_t kCountryCount = 249;
constexpr std::array<std::string_view, kCountryCount> kCountryCodes = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
};

constexpr bool IsStrictlySorted(const std::array<std::string_view, kCountryCount>& codes) {
  for (size_t i = 1; i < codes.size(); ++i) {
    if (!(codes[i - 1] < codes[i])) return false;
  }
  return true;
}
static_assert(IsStrictlySorted(kCountryCodes), "kCountryCodes must be sorted and unique");

constexpr bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::span<const std::string_view> CountryCodes() { return kCountryCodes; }

bool IsCountryCode(std::string_view code) {
  if (code.size() != 2 || !IsUpper(code[0]) || !IsUpper(code[1])) return false;
  return std::binary_search(kCountryCodes.begin(), kCountryCodes.end(), code);
}

bool IsSubdivisionCode(std::string_view code) {
  if (code.size() < 4 || code.size() > 6 || code[2] != '-') return false;
  if (!IsCountryCode(code.substr(0, 2))) return false;
  for (char c : code.substr(3)) {
    if (!IsUpper(c) && !IsDigit(c)) return false;
  }
  return true;
}

bool IsSubdivisionOf(std::string_view subdivision, std::string_view country) {
  return IsSubdivisionCode(subdivision) && subdivision.substr(0, 2) == country;
}

bool IsCurrencyCode(std::string_view code) {
  return code.size() == 3 && IsUpper(code[0]) && IsUpper(code[1]) && IsUpper(code[2]);
}

bool IsHsCode(std::string_view code) {
  if (code.size() < 4 || code.size() > 10) return false;
  for (char c : code) {
    if (!IsDigit(c)) return false;
  }
  const int chapter = (code[0] - '0') * 10 + (code[1] - '0');
  return chapter >= 1 && chapter <= 97;
}

std::string_view HsHeading(std::string_view code) {
  if (!IsHsCode(code)) return {};
  return code.substr(0, 4);
}

}  // namespace lodestone::domain
