#include "services/domain/codes.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace lodestone::domain {
namespace {

TEST(CountryCodeTest, AcceptsAssignedCodes) {
  for (std::string_view code : {"CN", "US", "TH", "MX", "DE", "CD", "KP", "IR", "RU", "AX", "ZW"}) {
    EXPECT_TRUE(IsCountryCode(code)) << code;
  }
}

TEST(CountryCodeTest, RejectsUnassignedCode) {
  // XX and XK are user-assigned, UK and EU exceptionally reserved, AA never assigned.
  for (std::string_view code : {"XX", "XK", "UK", "EU", "AA", "ZZ", "QZ"}) {
    EXPECT_FALSE(IsCountryCode(code)) << code;
  }
}

TEST(CountryCodeTest, RejectsLowercaseCode) {
  EXPECT_FALSE(IsCountryCode("cn"));
  EXPECT_FALSE(IsCountryCode("Cn"));
  EXPECT_FALSE(IsCountryCode("cN"));
}

TEST(CountryCodeTest, RejectsWrongLength) {
  EXPECT_FALSE(IsCountryCode(""));
  EXPECT_FALSE(IsCountryCode("C"));
  EXPECT_FALSE(IsCountryCode("CHN"));  // alpha-3 is not accepted
  EXPECT_FALSE(IsCountryCode("CN "));
  EXPECT_FALSE(IsCountryCode(std::string_view("CN\0", 3)));
}

TEST(CountryCodeTest, TableIsSortedUniqueAndComplete) {
  const auto codes = CountryCodes();
  EXPECT_EQ(codes.size(), 249u);
  EXPECT_TRUE(std::adjacent_find(codes.begin(), codes.end(),
                                 [](std::string_view a, std::string_view b) { return a >= b; }) ==
              codes.end());
  for (std::string_view code : codes) EXPECT_TRUE(IsCountryCode(code)) << code;
}

TEST(SubdivisionCodeTest, AcceptsWellFormedCodes) {
  for (std::string_view code : {"CN-XJ", "US-CA", "GB-ENG", "FR-75C", "TH-10", "MX-CMX", "CD-1"}) {
    EXPECT_TRUE(IsSubdivisionCode(code)) << code;
  }
  EXPECT_TRUE(IsSubdivisionOf("CN-XJ", "CN"));
}

TEST(SubdivisionCodeTest, RejectsSubdivisionOfAnotherCountry) {
  EXPECT_FALSE(IsSubdivisionOf("US-XJ", "CN"));
  EXPECT_FALSE(IsSubdivisionOf("CN-XJ", "US"));
  EXPECT_FALSE(IsSubdivisionOf("CN-XJ", "cn"));
}

TEST(SubdivisionCodeTest, RejectsMalformedCodes) {
  for (std::string_view code : {"", "CN", "CN-", "CN-ABCD", "cn-xj", "CN-xj", "CN_XJ", "CNXJ",
                                "CN-X J", "XX-AB", "CHN-XJ", "CN--X", "CN-X-"}) {
    EXPECT_FALSE(IsSubdivisionCode(code)) << code;
  }
}

TEST(HsCodeTest, AcceptsFourToTenDigits) {
  for (std::string_view code :
       {"2825", "261710", "282580", "8505", "850511", "81129200", "2825800010", "0101", "9701"}) {
    EXPECT_TRUE(IsHsCode(code)) << code;
  }
}

TEST(HsCodeTest, RejectsWrongLength) {
  EXPECT_FALSE(IsHsCode(""));
  EXPECT_FALSE(IsHsCode("282"));
  EXPECT_FALSE(IsHsCode("28258000101"));
}

TEST(HsCodeTest, RejectsChapterOutsideOneToNinetySeven) {
  EXPECT_FALSE(IsHsCode("0012"));
  EXPECT_FALSE(IsHsCode("9801"));
  EXPECT_FALSE(IsHsCode("9999"));
}

TEST(HsCodeTest, RejectsNonDigits) {
  EXPECT_FALSE(IsHsCode("8505.11"));  // the ledger stores codes without dots
  EXPECT_FALSE(IsHsCode("28a5"));
  EXPECT_FALSE(IsHsCode(" 2825"));
  EXPECT_FALSE(IsHsCode("-2825"));
  EXPECT_FALSE(IsHsCode("\xef\xbc\x92\xef\xbc\x98"));  // full-width digits
}

TEST(HsCodeTest, HeadingIsFirstFourDigits) {
  EXPECT_EQ(HsHeading("850511"), "8505");
  EXPECT_EQ(HsHeading("2825800010"), "2825");
  EXPECT_EQ(HsHeading("8110"), "8110");
}

TEST(HsCodeTest, HeadingOfInvalidCodeIsEmpty) {
  EXPECT_EQ(HsHeading("282"), "");
  EXPECT_EQ(HsHeading("8505.11"), "");
  EXPECT_EQ(HsHeading("0012"), "");
}

TEST(CurrencyCodeTest, AcceptsThreeUppercaseLetters) {
  EXPECT_TRUE(IsCurrencyCode("USD"));
  EXPECT_TRUE(IsCurrencyCode("CNY"));
  EXPECT_FALSE(IsCurrencyCode("usd"));
  EXPECT_FALSE(IsCurrencyCode("US"));
  EXPECT_FALSE(IsCurrencyCode("USD1"));
  EXPECT_FALSE(IsCurrencyCode("U$D"));
}

}  // namespace
}  // namespace lodestone::domain
