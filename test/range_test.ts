/** Unit and property tests of `Range` parsing (RFC 9110 §14.1, §14.2). */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseRange, type RangeResult } from "../src/media/range.ts";

const ranges = (...pairs: [number, number][]): RangeResult => ({
  kind: "satisfiable",
  ranges: pairs.map(([start, end]) => ({ start, end })),
});
const ignored = (reason: string) => ({ kind: "ignored", reason });
const UNSAT = { kind: "unsatisfiable" };

Deno.test("range: RFC 9110 §14.1.2 examples on a 10000-byte representation", () => {
  assert.deepEqual(parseRange("bytes=0-499", 10000), ranges([0, 499]));
  assert.deepEqual(parseRange("bytes=500-999", 10000), ranges([500, 999]));
  assert.deepEqual(parseRange("bytes=-500", 10000), ranges([9500, 9999]));
  assert.deepEqual(parseRange("bytes=9500-", 10000), ranges([9500, 9999]));
  assert.deepEqual(parseRange("bytes=0-0,-1", 10000), ranges([0, 0], [9999, 9999]));
  assert.deepEqual(parseRange("bytes=500-600,601-999", 10000), ranges([500, 600], [601, 999]));
});

Deno.test("range: end clamped to size-1, suffix longer than the file is the whole file", () => {
  assert.deepEqual(parseRange("bytes=0-99999", 100), ranges([0, 99]));
  assert.deepEqual(parseRange("bytes=90-", 100), ranges([90, 99]));
  assert.deepEqual(parseRange("bytes=-1000", 100), ranges([0, 99]));
  assert.deepEqual(parseRange("bytes=0-1", 100), ranges([0, 1])); // Safari's probe
  assert.deepEqual(parseRange("bytes=0-", 100), ranges([0, 99])); // Chrome's first request
});

Deno.test("range: list syntax tolerates OWS and empty elements (RFC 9110 §5.6.1)", () => {
  assert.deepEqual(parseRange("bytes= 0-1 ,\t2-3 ", 100), ranges([0, 1], [2, 3]));
  assert.deepEqual(parseRange("bytes=,,0-1,,", 100), ranges([0, 1]));
  assert.deepEqual(parseRange("BYTES=0-1", 100), ranges([0, 1])); // unit is case-insensitive
  assert.deepEqual(parseRange("Bytes=0-1", 100), ranges([0, 1]));
  assert.deepEqual(parseRange("bytes=000000000000000000000001-2", 100), ranges([1, 2]));
});

Deno.test("range: invalid syntax is ignored", () => {
  for (
    const header of [
      "bytes",
      "bytes=",
      "bytes=,",
      "=0-1",
      "bytes=abc",
      "bytes=5-1", // last-pos < first-pos (RFC 9110 §14.1.1)
      "bytes=1-2-3",
      "bytes=--1",
      "bytes=+1-2",
      "bytes=0x10-",
      "bytes=1 -2",
      "bytes=1- 2",
      "bytes=-",
      "bytes=0-1;2-3",
      "bytes =0-1",
      "by tes=0-1",
      "bytes=0-1,x",
      "bytes=0-1.5",
    ]
  ) {
    assert.deepEqual(parseRange(header, 100), ignored("invalid"), header);
  }
  assert.deepEqual(parseRange(null, 100), ignored("absent"));
  assert.deepEqual(parseRange("items=0-1", 100), ignored("unit"));
  assert.deepEqual(parseRange("none", 100), ignored("invalid"));
});

Deno.test("range: unsatisfiable → 416; unsatisfiable specs next to satisfiable ones are dropped", () => {
  assert.deepEqual(parseRange("bytes=100-", 100), UNSAT);
  assert.deepEqual(parseRange("bytes=100-200", 100), UNSAT);
  assert.deepEqual(parseRange("bytes=-0", 100), UNSAT);
  assert.deepEqual(parseRange("bytes=100-,-0", 100), UNSAT);
  assert.deepEqual(parseRange("bytes=0-1,200-300,-0", 100), ranges([0, 1]));
});

Deno.test("range: every byte range on an empty file is unsatisfiable, suffix ranges included", () => {
  for (const header of ["bytes=0-0", "bytes=0-", "bytes=-1", "bytes=-100", "bytes=0-0,-1"]) {
    assert.deepEqual(parseRange(header, 0), UNSAT, header);
  }
  assert.deepEqual(parseRange("bytes=5-1", 0), ignored("invalid"));
});

Deno.test("range: numbers beyond 2^53-1 are invalid and never wrap (CVE-2017-7529)", () => {
  const max = Number.MAX_SAFE_INTEGER; // 9007199254740991
  assert.deepEqual(parseRange("bytes=-1,-9223372036854775808", 100), ignored("invalid"));
  assert.deepEqual(parseRange("bytes=0-18446744073709551615", 100), ignored("invalid"));
  assert.deepEqual(parseRange("bytes=18446744073709551616-", 100), ignored("invalid"));
  assert.deepEqual(parseRange("bytes=-18446744073709551616", 100), ignored("invalid"));
  assert.deepEqual(parseRange(`bytes=${max + 1}-`, 100), ignored("invalid"));
  assert.deepEqual(parseRange(`bytes=-${"9".repeat(400)}`, 100), ignored("invalid"));
  assert.deepEqual(parseRange(`bytes=${max}-`, 100), UNSAT);
  assert.deepEqual(parseRange(`bytes=0-${max}`, 100), ranges([0, 99]));
  assert.deepEqual(parseRange(`bytes=-${max}`, 100), ranges([0, 99]));
  assert.deepEqual(parseRange(`bytes=${max - 1}-`, max), ranges([max - 1, max - 1]));
});

Deno.test("range: offsets beyond 2^32 are exact", () => {
  const size = 5 * 2 ** 30;
  assert.deepEqual(
    parseRange("bytes=4294967296-4294967305", size),
    ranges([4294967296, 4294967305]),
  );
  assert.deepEqual(parseRange("bytes=-10", size), ranges([size - 10, size - 1]));
  assert.deepEqual(parseRange("bytes=4294967297-", size), ranges([4294967297, size - 1]));
});

Deno.test("range: DoS guard — too many ranges, or more bytes than the file → whole file", () => {
  const sixteen = Array.from({ length: 16 }, (_, i) => `${i}-${i}`).join(",");
  assert.equal(parseRange(`bytes=${sixteen}`, 100).kind, "satisfiable");
  assert.deepEqual(parseRange(`bytes=${sixteen},99-99`, 100), ignored("too-many"));
  assert.deepEqual(parseRange("bytes=0-1,2-3,4-5", 100, { maxRanges: 2 }), ignored("too-many"));
  assert.deepEqual(parseRange("bytes=0-1", 100, { maxRanges: 0 }), ignored("too-many"));
  // Unsatisfiable specs count toward the limit too.
  assert.deepEqual(parseRange("bytes=0-1,200-,300-", 100, { maxRanges: 2 }), ignored("too-many"));
  assert.deepEqual(parseRange("bytes=0-,0-", 100), ignored("too-large"));
  assert.deepEqual(parseRange("bytes=0-50,50-99", 100), ignored("too-large"));
  assert.deepEqual(parseRange("bytes=-1,-1,-1", 2), ignored("too-large"));
  const many = Array.from({ length: 100_000 }, () => "0-0").join(",");
  assert.deepEqual(parseRange(`bytes=${many}`, 100), ignored("too-many"));
});

Deno.test("range: overlapping ranges within the sum guard are served as requested, in order", () => {
  assert.deepEqual(parseRange("bytes=500-700,601-999", 10000), ranges([500, 700], [601, 999]));
  assert.deepEqual(parseRange("bytes=50-59,0-9", 100), ranges([50, 59], [0, 9]));
});

// ---- property tests -------------------------------------------------------------------------

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * An independent reference implementation: regex + BigInt, written straight from the grammar
 * (RFC 9110 §14.1.1) and the module's documented decisions.
 */
function reference(header: string, size: number, maxRanges: number): RangeResult {
  const eq = header.indexOf("=");
  if (eq <= 0) return { kind: "ignored", reason: "invalid" };
  const unit = header.slice(0, eq);
  if (unit.toLowerCase() !== "bytes") {
    return { kind: "ignored", reason: TOKEN.test(unit) ? "unit" : "invalid" };
  }
  const elements = header.slice(eq + 1).split(",").map((e) => e.replace(/^[ \t]+|[ \t]+$/g, ""))
    .filter((e) => e !== "");
  if (elements.length === 0) return { kind: "ignored", reason: "invalid" };
  const n = BigInt(size);
  const out: { start: number; end: number }[] = [];
  let total = 0n;
  let count = 0;
  for (const element of elements) {
    if (++count > maxRanges) return { kind: "ignored", reason: "too-many" };
    let m;
    let start: bigint;
    let end: bigint;
    if ((m = /^-([0-9]+)$/.exec(element))) {
      const suffix = BigInt(m[1]);
      if (suffix > MAX_SAFE) return { kind: "ignored", reason: "invalid" };
      start = n - suffix < 0n ? 0n : n - suffix;
      end = n - 1n;
    } else if ((m = /^([0-9]+)-([0-9]*)$/.exec(element))) {
      start = BigInt(m[1]);
      const last = m[2] === "" ? null : BigInt(m[2]);
      if (start > MAX_SAFE || (last !== null && last > MAX_SAFE)) {
        return { kind: "ignored", reason: "invalid" };
      }
      if (last !== null && last < start) return { kind: "ignored", reason: "invalid" };
      end = last === null || last > n - 1n ? n - 1n : last;
    } else {
      return { kind: "ignored", reason: "invalid" };
    }
    if (start < n && start <= end) {
      out.push({ start: Number(start), end: Number(end) });
      total += end - start + 1n;
    }
  }
  if (out.length === 0) return { kind: "unsatisfiable" };
  if (total > n) return { kind: "ignored", reason: "too-large" };
  return { kind: "satisfiable", ranges: out };
}

const sizeArb = fc.oneof(
  fc.constantFrom(0, 1, 2, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 5 * 2 ** 30, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 0, max: 1000 }),
  fc.integer({ min: 0, max: 2 ** 34 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
/** Decimal numbers around every interesting magnitude, including far beyond 2^64. */
const numberArb = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 1100 }).map(String), weight: 6 },
  { arbitrary: fc.bigInt({ min: 0n, max: 2n ** 34n }).map(String), weight: 2 },
  { arbitrary: fc.bigInt({ min: MAX_SAFE - 3n, max: MAX_SAFE + 3n }).map(String), weight: 1 },
  { arbitrary: fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String), weight: 1 },
  {
    arbitrary: fc.tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 20 }))
      .map(([zeros, v]) => "0".repeat(zeros) + v),
    weight: 1,
  },
);
const specArb = fc.oneof(
  { arbitrary: fc.tuple(numberArb, numberArb).map(([a, b]) => `${a}-${b}`), weight: 2 },
  {
    arbitrary: fc.tuple(numberArb, numberArb).map(([a, b]) =>
      BigInt(a) <= BigInt(b) ? `${a}-${b}` : `${b}-${a}`
    ),
    weight: 5,
  },
  { arbitrary: numberArb.map((a) => `${a}-`), weight: 3 },
  { arbitrary: numberArb.map((n) => `-${n}`), weight: 3 },
  {
    arbitrary: fc.oneof(
      fc.constantFrom("", " ", "-", "x-1", "1-x", "--1", "1--", " 1-2", "1-2 ", "\t-5"),
      fc.string({ maxLength: 6 }),
    ),
    weight: 1,
  },
);
const unitArb = fc.oneof(
  { arbitrary: fc.constant("bytes"), weight: 8 },
  { arbitrary: fc.constantFrom("BYTES", "Bytes", "items", "by tes", "", "bytes "), weight: 2 },
);
const headerArb = fc.tuple(
  unitArb,
  fc.oneof(
    { arbitrary: fc.array(specArb, { minLength: 1, maxLength: 4 }), weight: 4 },
    { arbitrary: fc.array(specArb, { maxLength: 20 }), weight: 1 },
  ),
  fc.constantFrom(",", ", ", " ,", ",,", ",\t"),
).map(([unit, specs, sep]) => `${unit}=${specs.join(sep)}`);

Deno.test("range property: agrees with an independent BigInt reference implementation", () => {
  fc.assert(
    fc.property(headerArb, sizeArb, fc.integer({ min: 0, max: 20 }), (header, size, maxRanges) => {
      assert.deepEqual(parseRange(header, size, { maxRanges }), reference(header, size, maxRanges));
    }),
    { numRuns: 5000 },
  );
});

Deno.test("range property: arbitrary header strings agree with the reference too", () => {
  const anyHeader = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: fc.constantFrom(..."bytes=0123456789-, \t"), maxLength: 40 }),
    fc.string({ maxLength: 30 }).map((s) => `bytes=${s}`),
  );
  fc.assert(
    fc.property(anyHeader, sizeArb, (header, size) => {
      assert.deepEqual(parseRange(header, size), reference(header, size, 16));
    }),
    { numRuns: 5000 },
  );
});

Deno.test("range property: satisfiable ranges lie in [0, size), never wrap, and obey the guards", () => {
  fc.assert(
    fc.property(headerArb, sizeArb, fc.integer({ min: 1, max: 20 }), (header, size, maxRanges) => {
      const result = parseRange(header, size, { maxRanges });
      if (result.kind !== "satisfiable") return;
      assert.ok(size > 0);
      assert.ok(result.ranges.length >= 1 && result.ranges.length <= maxRanges);
      let total = 0;
      for (const { start, end } of result.ranges) {
        assert.ok(Number.isSafeInteger(start) && Number.isSafeInteger(end));
        assert.ok(start >= 0 && start <= end && end < size, `${start}-${end}/${size}`);
        total += end - start + 1;
      }
      assert.ok(total <= size);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("range property: a single well-formed int-range is served exactly, clamped", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      (size, a, b) => {
        const [first, last] = a <= b ? [a, b] : [b, a];
        const result = parseRange(`bytes=${first}-${last}`, size);
        if (first >= size) assert.deepEqual(result, UNSAT);
        else assert.deepEqual(result, ranges([first, Math.min(last, size - 1)]));
      },
    ),
    { numRuns: 2000 },
  );
});
