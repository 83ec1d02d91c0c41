/** Unit tests of conditional requests (RFC 9110 §13) and HTTP-date parsing (§5.6.7). */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  entityTagListMatches,
  evaluatePreconditions,
  ifRangeMatches,
  type Validators,
} from "../src/media/conditional.ts";
import { formatHttpDate, parseHttpDate } from "../src/media/http_date.ts";

const LM = Date.UTC(2024, 0, 15, 10, 30, 0); // Mon, 15 Jan 2024 10:30:00 GMT
const LM_TEXT = "Mon, 15 Jan 2024 10:30:00 GMT";
const BEFORE = "Mon, 15 Jan 2024 10:29:59 GMT";
const AFTER = "Mon, 15 Jan 2024 10:30:01 GMT";
const V: Validators = { etag: '"abc-10-99"', lastModifiedMs: LM };

const run = (headers: Record<string, string>, method = "GET") =>
  evaluatePreconditions(new Headers(headers), method, V);

// ---- HTTP-date --------------------------------------------------------------------------------

Deno.test("http-date: the three forms of RFC 9110 §5.6.7 denote the same instant", () => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
  const now = Date.UTC(2026, 0, 1);
  assert.equal(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT", now), expected);
  assert.equal(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", now), expected);
  assert.equal(parseHttpDate("Sun Nov  6 08:49:37 1994", now), expected);
  assert.equal(parseHttpDate("Sun Nov 06 08:49:37 1994", now), expected);
});

Deno.test("http-date: RFC 850 two-digit years more than 50 years ahead are in the past", () => {
  const now = Date.UTC(2026, 5, 1);
  assert.equal(
    new Date(parseHttpDate("Monday, 01-Jan-76 00:00:00 GMT", now)!).getUTCFullYear(),
    2076,
  );
  assert.equal(
    new Date(parseHttpDate("Tuesday, 01-Jan-77 00:00:00 GMT", now)!).getUTCFullYear(),
    1977,
  );
  assert.equal(
    new Date(parseHttpDate("Wednesday, 01-Jan-25 00:00:00 GMT", now)!).getUTCFullYear(),
    2025,
  );
});

Deno.test("http-date: invalid dates are rejected (null)", () => {
  for (
    const value of [
      "",
      "yesterday",
      "Sun, 06 Nov 1994 08:49:37 UTC",
      "Sun, 06 Nov 1994 08:49:37 gmt", // HTTP-date is case-sensitive
      "sun, 06 Nov 1994 08:49:37 GMT",
      "Sun, 06 nov 1994 08:49:37 GMT",
      "Sun, 6 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 94 08:49:37 GMT",
      "Sun, 31 Feb 1994 08:49:37 GMT",
      "Sun, 00 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 24:00:00 GMT",
      "Sun, 06 Nov 1994 08:60:00 GMT",
      "Sun, 06 Nov 1994 08:49:61 GMT",
      "Sun, 06 Nov 1994 08-49-37 GMT",
      "Xyz, 06 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 08:49:37 GMT ",
      " Sun, 06 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
      "Sunday, 06-Nov-1994 08:49:37 GMT",
      "Sun Nov  6 08:49:37 94",
      "Sun Nov 6 08:49:37 1994",
      "1994-11-06T08:49:37Z",
      "784111777",
    ]
  ) {
    assert.equal(parseHttpDate(value), null, JSON.stringify(value));
  }
});

Deno.test("http-date: a leap second is accepted", () => {
  assert.equal(
    parseHttpDate("Sat, 31 Dec 2016 23:59:60 GMT"),
    Date.UTC(2017, 0, 1, 0, 0, 0),
  );
});

Deno.test("http-date property: format → parse round-trips to the whole second", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 253402300799999 }), (ms) => {
      const text = formatHttpDate(ms);
      assert.match(text, /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
      assert.equal(parseHttpDate(text), Math.floor(ms / 1000) * 1000);
    }),
  );
});

// ---- entity-tag lists ------------------------------------------------------------------------

Deno.test("etag list: strong and weak comparison (RFC 9110 §8.8.3.2)", () => {
  const tag = '"abc-10-99"';
  assert.ok(entityTagListMatches(tag, tag, true));
  assert.ok(!entityTagListMatches(`W/${tag}`, tag, true));
  assert.ok(entityTagListMatches(`W/${tag}`, tag, false));
  assert.ok(entityTagListMatches(`"x", W/"y" ,\t${tag}`, tag, false));
  assert.ok(entityTagListMatches(`"x",${tag}`, tag, true));
  assert.ok(entityTagListMatches(" * ", tag, true));
  assert.ok(!entityTagListMatches('"abc-10-9"', tag, false));
  assert.ok(!entityTagListMatches("abc-10-99", tag, false)); // unquoted: not an entity-tag
  assert.ok(!entityTagListMatches('w/"abc-10-99"', tag, false)); // `W/` is case-sensitive
  assert.ok(!entityTagListMatches('"a,b"', '"a"', false)); // a comma inside a tag is part of it
  assert.ok(entityTagListMatches('"a,b"', '"a,b"', true));
  assert.ok(!entityTagListMatches('"x" junk, "abc-10-99"', tag, false)); // stops at the error
  assert.ok(!entityTagListMatches("*, " + tag, '"z"', false)); // `*` only alone
  assert.ok(!entityTagListMatches("", tag, false));
});

// ---- precedence of RFC 9110 §13.2.2 ------------------------------------------------------------

Deno.test("preconditions: none → proceed", () => {
  assert.equal(run({}), "proceed");
});

Deno.test("preconditions: If-Match (strong) → 412 unless it matches", () => {
  assert.equal(run({ "if-match": V.etag }), "proceed");
  assert.equal(run({ "if-match": "*" }), "proceed");
  assert.equal(run({ "if-match": '"other"' }), "precondition-failed");
  assert.equal(run({ "if-match": `W/${V.etag}` }), "precondition-failed");
  assert.equal(run({ "if-match": "garbage" }), "precondition-failed");
});

Deno.test("preconditions: If-Unmodified-Since → 412 when modified after; ignored with If-Match", () => {
  assert.equal(run({ "if-unmodified-since": LM_TEXT }), "proceed");
  assert.equal(run({ "if-unmodified-since": AFTER }), "proceed");
  assert.equal(run({ "if-unmodified-since": BEFORE }), "precondition-failed");
  assert.equal(run({ "if-unmodified-since": "not a date" }), "proceed");
  assert.equal(run({ "if-match": V.etag, "if-unmodified-since": BEFORE }), "proceed");
});

Deno.test("preconditions: If-None-Match (weak) → 304 for GET/HEAD", () => {
  assert.equal(run({ "if-none-match": V.etag }), "not-modified");
  assert.equal(run({ "if-none-match": `W/${V.etag}` }), "not-modified");
  assert.equal(run({ "if-none-match": `"x", ${V.etag}` }), "not-modified");
  assert.equal(run({ "if-none-match": "*" }), "not-modified");
  assert.equal(run({ "if-none-match": '"x"' }), "proceed");
  assert.equal(run({ "if-none-match": V.etag }, "HEAD"), "not-modified");
  assert.equal(run({ "if-none-match": V.etag }, "DELETE"), "precondition-failed");
});

Deno.test("preconditions: If-Modified-Since → 304; ignored when If-None-Match is present", () => {
  assert.equal(run({ "if-modified-since": LM_TEXT }), "not-modified");
  assert.equal(run({ "if-modified-since": AFTER }), "not-modified");
  assert.equal(run({ "if-modified-since": BEFORE }), "proceed");
  assert.equal(run({ "if-modified-since": "garbage" }), "proceed");
  assert.equal(run({ "if-modified-since": LM_TEXT }, "HEAD"), "not-modified");
  assert.equal(run({ "if-modified-since": LM_TEXT }, "POST"), "proceed");
  // A non-matching If-None-Match wins over a matching date (RFC 9110 §13.1.3).
  assert.equal(run({ "if-none-match": '"x"', "if-modified-since": LM_TEXT }), "proceed");
  assert.equal(run({ "if-none-match": V.etag, "if-modified-since": BEFORE }), "not-modified");
});

Deno.test("preconditions: 412 from step 1/2 wins over 304 from step 3/4", () => {
  assert.equal(run({ "if-match": '"x"', "if-none-match": V.etag }), "precondition-failed");
  assert.equal(
    run({ "if-unmodified-since": BEFORE, "if-modified-since": LM_TEXT }),
    "precondition-failed",
  );
  assert.equal(run({ "if-match": V.etag, "if-none-match": V.etag }), "not-modified");
});

// ---- If-Range (RFC 9110 §13.1.5) ------------------------------------------------------------

Deno.test("if-range: strong ETag byte for byte, or the exact Last-Modified date", () => {
  assert.ok(ifRangeMatches(V.etag, V));
  assert.ok(!ifRangeMatches(`W/${V.etag}`, V)); // weak never matches
  assert.ok(!ifRangeMatches('"ABC-10-99"', V));
  assert.ok(!ifRangeMatches(`${V.etag} `, V));
  assert.ok(!ifRangeMatches(`"x", ${V.etag}`, V)); // If-Range takes one validator, not a list
  assert.ok(ifRangeMatches(LM_TEXT, V));
  assert.ok(ifRangeMatches("Monday, 15-Jan-24 10:30:00 GMT", V));
  assert.ok(ifRangeMatches("Mon Jan 15 10:30:00 2024", V));
  assert.ok(!ifRangeMatches(AFTER, V)); // later is not "equal"
  assert.ok(!ifRangeMatches(BEFORE, V));
  assert.ok(!ifRangeMatches("garbage", V));
  assert.ok(!ifRangeMatches("", V));
});
