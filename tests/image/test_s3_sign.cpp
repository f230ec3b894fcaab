// SigV4 against AWS's published answers, never against this code's own output:
//  - the "aws-sig-v4-test-suite" cases get-vanilla, get-vanilla-query-order-key-case,
//    get-vanilla-query-unreserved, get-utf8 and post-vanilla (AKIDEXAMPLE, service
//    "service", us-east-1, 20150830T123600Z), as stored in public repositories, e.g.
//    awslabs/aws-c-auth tests/aws-signing-test-suite/v4/ and the AWS General Reference
//    page "Signature Version 4 test suite";
//  - the Amazon S3 API Reference "Signature Calculations for the Authorization Header"
//    examples GET Object (Range bytes=0-9) and List Objects (max-keys=2&prefix=J) with
//    AKIAIOSFODNN7EXAMPLE, 20130524T000000Z.
#include "image/storage_s3_sign.hpp"

#include "tests/catch.hpp"

using namespace vssimg::s3;

namespace {

const std::string k_empty_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string suite_sig(const std::string& method, const std::string& path, Pairs query) {
  SignInput in{method,
               path,
               std::move(query),
               {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
               k_empty_sha};
  Credentials c{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  return authorization(in, c, "us-east-1", "service", "20150830T123600Z");
}

std::string expect_suite(const std::string& sig) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, Signature=" +
         sig;
}

const Credentials k_s3_docs{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

}  // namespace

TEST_CASE("sha256 of nothing is the published value", "[s3][sign]") {
  CHECK(sha256_hex("", 0) == k_empty_sha);
  // The S3 docs' PUT example body.
  const std::string body = "Welcome to Amazon S3.";
  CHECK(sha256_hex(body.data(), body.size()) ==
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
}

TEST_CASE("SigV4 test suite: get-vanilla", "[s3][sign]") {
  CHECK(suite_sig("GET", "/", {}) ==
        expect_suite("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
  // The suite's canonical request for get-vanilla.
  SignInput in{"GET",
               "/",
               {},
               {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
               k_empty_sha};
  CHECK(canonical_request(in) ==
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
            k_empty_sha);
}

TEST_CASE("SigV4 test suite: query order, unreserved characters, UTF-8, POST", "[s3][sign]") {
  CHECK(suite_sig("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}) ==
        expect_suite("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
  const std::string unreserved =
      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  CHECK(suite_sig("GET", "/", {{unreserved, unreserved}}) ==
        expect_suite("9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"));
  CHECK(suite_sig("GET", uri_encode("/\xE1\x88\xB4", false), {}) ==
        expect_suite("8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"));
  CHECK(suite_sig("POST", "/", {}) ==
        expect_suite("5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));
  // A wrong secret gives another signature (the check is not vacuous).
  SignInput in{"GET",
               "/",
               {},
               {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
               k_empty_sha};
  CHECK(authorization(in, {"AKIDEXAMPLE", "wrong", ""}, "us-east-1", "service",
                      "20150830T123600Z") != suite_sig("GET", "/", {}));
}

TEST_CASE("SigV4: the S3 documentation's GET Object and List Objects examples", "[s3][sign]") {
  SignInput get{"GET",
                "/test.txt",
                {},
                {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"Range", "bytes=0-9"},
                 {"x-amz-content-sha256", k_empty_sha},
                 {"x-amz-date", "20130524T000000Z"}},
                k_empty_sha};
  CHECK(authorization(get, k_s3_docs, "us-east-1", "s3", "20130524T000000Z") ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  SignInput list{"GET",
                 "/",
                 {{"prefix", "J"}, {"max-keys", "2"}},
                 {{"Host", "examplebucket.s3.amazonaws.com"},
                  {"x-amz-content-sha256", k_empty_sha},
                  {"x-amz-date", "20130524T000000Z"}},
                 k_empty_sha};
  const std::string a = authorization(list, k_s3_docs, "us-east-1", "s3", "20130524T000000Z");
  CHECK(a.substr(a.size() - 64) ==
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST_CASE("uri_encode keeps unreserved characters and encodes the rest", "[s3][sign]") {
  CHECK(uri_encode("a b/c+d~", false) == "a%20b/c%2Bd~");
  CHECK(uri_encode("a/b", true) == "a%2Fb");
}

TEST_CASE("md5: the RFC 1321 test suite", "[s3][sign]") {
  const std::pair<std::string, std::string> cases[] = {
      {"", "d41d8cd98f00b204e9800998ecf8427e"},
      {"abc", "900150983cd24fb0d6963f7d28e17f72"},
      {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
       "57edf4a22be3c955ac49da2e2107b67a"}};
  for (const auto& [in, want] : cases) CHECK(md5_hex(in.data(), in.size()) == want);
  CHECK(md5_base64("", 0) == "1B2M2Y8AsgTpgAmY7PhCfg==");
}

TEST_CASE("sha256 given in pieces equals the hash of the whole", "[s3][sign]") {
  std::string data;
  for (int i = 0; i < 5000; ++i) data += static_cast<char>(i * 7 + i / 13);
  Sha256 h;
  REQUIRE(h.hex_final() == k_empty_sha);  // nothing given; and reset afterwards
  for (size_t at = 0; at < data.size(); at += 333)
    h.update(data.data() + at, std::min<size_t>(333, data.size() - at));
  REQUIRE(h.hex_final() == sha256_hex(data.data(), data.size()));
  h.update("abc", 3);
  REQUIRE(h.hex_final() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
