// The S3 response parser: ListObjectsV2 pages, error bodies and DeleteObjects results as
// radosgw and AWS write them, and what it refuses.
#include "core/base/error.hpp"
#include "image/storage_s3_xml.hpp"
#include "tests/catch.hpp"

using namespace vssimg;
using namespace vssimg::s3;

TEST_CASE("ListObjectsV2: keys, sizes, continuation", "[s3][xml]") {
  const std::string page =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
      "<Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
      "<Contents><Key>p/a&amp;b.pack</Key><LastModified>2026-12-02T05:00:00.000Z</LastModified>"
      "<ETag>&quot;x&quot;</ETag><Size>123</Size><StorageClass>STANDARD</StorageClass></Contents>"
      "<Contents><Key>p/c.pack</Key><Size>0</Size></Contents>"
      "<CommonPrefixes><Prefix>p/d/</Prefix></CommonPrefixes>"
      "<NextContinuationToken>tok+1/=</NextContinuationToken></ListBucketResult>";
  ListPage p = parse_list_page(page, "s3://b/p/");
  REQUIRE(p.objects.size() == 2);
  CHECK(p.objects[0] == std::make_pair(std::string("p/a&b.pack"), uint64_t{123}));
  CHECK(p.objects[1].second == 0);
  CHECK(p.prefixes == std::vector<std::string>{"p/d/"});
  CHECK(p.truncated);
  CHECK(p.next_token == "tok+1/=");
  // LastModified per object (prune's safety window); -1 where the server gave none.
  REQUIRE(p.modified.size() == 2);
  CHECK(p.modified[0] == 1796187600);  // 2026-12-02 05:00:00 UTC
  CHECK(p.modified[1] == -1);
}

TEST_CASE("LastModified: ISO 8601 in UTC", "[s3][xml]") {
  CHECK(parse_iso8601("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_iso8601("2000-03-01T00:00:00.000Z") == 951868800);
  CHECK(parse_iso8601("2024-02-29T23:59:59.5Z") == 1709251199);
  for (const char* bad : {"", "2024-02-29", "2024-02-29T23:59:59", "2024-13-01T00:00:00Z",
                          "2024-02-29T24:00:00Z", "2024-02-29T23:59:59.Z", "1969-12-31T23:59:59Z",
                          "2024-02-29T23:59:59+01:00", "2024-02-29 23:59:59Z"}) {
    CHECK(parse_iso8601(bad) == -1);
  }
}

TEST_CASE("ListObjectsV2: malformed pages are refused", "[s3][xml]") {
  for (const std::string bad :
       {"", "<ListBucketResult>", "<Error><Code>x</Code></Error>",
        "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&bogus;</Key><Size>1</Size></Contents></"
        "ListBucketResult>",
        "<ListBucketResult></Contents></ListBucketResult>"}) {
    CHECK_THROWS_AS(parse_list_page(bad, "s3://b/"), Error);
  }
}

TEST_CASE("error bodies and DeleteObjects results", "[s3][xml]") {
  S3Error e = parse_error(
      "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>no</Message>"
      "<RequestId>tx1</RequestId></Error>");
  CHECK(e.code == "SignatureDoesNotMatch");
  CHECK(e.message == "no");
  CHECK(parse_error("<Error><Code>x").code.empty());
  CHECK(parse_error("").code.empty());
  auto errs = parse_delete_errors(
      "<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code>"
      "</Error></DeleteResult>",
      "s3://b/");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0] == std::make_pair(std::string("b"), std::string("AccessDenied")));
  CHECK_THROWS_AS(parse_delete_errors("<Other/>", "s3://b/"), Error);
  CHECK(xml_escape("a<&>\"b") == "a&lt;&amp;&gt;&quot;b");
}
