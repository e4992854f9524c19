// Validation of the standard codes the ledger stores: ISO 3166-1 alpha-2 countries, ISO 3166-2
// subdivisions, ISO 4217-shaped currency codes and Harmonized System (HS) commodity codes.
// Pure functions, no allocation, no locale: codes are ASCII and case-sensitive (uppercase).
#ifndef LODESTONE_SERVICES_DOMAIN_CODES_H_
#define LODESTONE_SERVICES_DOMAIN_CODES_H_

#include <span>
#include <string_view>

namespace lodestone::domain {

// The officially assigned ISO 3166-1 alpha-2 codes (249 of them), sorted. Reserved and
// user-assigned codes ("UK", "EU", "XK", "XX", ...) are not in it.
std::span<const std::string_view> CountryCodes();

// True when `code` is an officially assigned ISO 3166-1 alpha-2 code ("CN"; not "cn", "XX").
bool IsCountryCode(std::string_view code);

// True when `code` has the ISO 3166-2 form "<alpha-2 country>-<1..3 of [A-Z0-9]>" and the country
// part is an assigned country code ("CN-XJ", "US-CA", "GB-ENG"). The list of subdivisions is not
// checked: it changes several times a year and the format is what the rules rely on.
bool IsSubdivisionCode(std::string_view code);

// True when `subdivision` is a subdivision code (as above) of `country` ("CN-XJ" of "CN").
bool IsSubdivisionOf(std::string_view subdivision, std::string_view country);

// True when `code` is 3 uppercase ASCII letters, the shape of an ISO 4217 currency code.
bool IsCurrencyCode(std::string_view code);

// True when `code` is an HS code as the ledger stores it: 4 to 10 ASCII digits, no dots, with
// the chapter (the first 2 digits) in 01..97 ("2825", "282580", "2825800010").
bool IsHsCode(std::string_view code);

// The HS heading (the first 4 digits) of a valid HS code, a view into `code`; empty when `code`
// is not a valid HS code. A change of heading is the default test of substantial transformation.
std::string_view HsHeading(std::string_view code);

}  // namespace lodestone::domain

#endif  // LODESTONE_SERVICES_DOMAIN_CODES_H_
