import assert from "node:assert/strict";
import { erfc, erfcx, logErfc, normalCdf } from "./deps.ts";
import { logAddExp, logSubExp } from "../../src/dp/special.ts";

// x, erfc(x), log(erfc(x)), erfcx(x) = exp(x^2) erfc(x): mpmath 1.3.0 at 50 decimal digits
// (mpmath.erfc, mpmath.log, mpmath.exp of the exact x), printed to 17 significant digits.
const REFERENCE: readonly (readonly [number, number, number, number])[] = [
  [-5, 1.9999999999984625, 0.69314718055917658, 144009798674.66104],
  [-1, 1.8427007929497149, 0.61123231767807049, 5.0089800807622835],
  [-0.3, 1.3286267594591274, 0.28414589714140826, 1.4537492328427656],
  [0, 1, 0, 1],
  [0.2, 0.77729741078952155, -0.25193223378261666, 0.80901951990158074],
  [0.46875, 0.50738652678206201, -0.6784821856143961, 0.63206968924955608],
  [0.5, 0.47950012218695346, -0.7350111298370844, 0.61569034419292587],
  [1, 0.15729920705028513, -1.8496055099332482, 0.427583576155807],
  [2, 0.0046777349810472658, -5.3649412646166376, 0.25539567631050574],
  [3.9, 3.4792248597231742e-8, -17.173871216435404, 0.14031418160068973],
  [4, 1.5417257900280019e-8, -17.987778312103007, 0.13699945762506139],
  [4.5, 1.9661604415428875e-10, -22.349768303435941, 0.12248480427384142],
  [10, 2.0884875837625448e-45, -102.87988902484489, 0.056140992743822586],
  [26, 5.6631924088561428e-296, -679.83119976319423, 0.021683584850562907],
  [27, 0, -732.86888650789741, 0.020881607990420941], // erfc(27) = 5.2e-319: subnormal
  [40, 0, -1604.2615566532736, 0.014100335983377814],
  [100, 0, -10005.177585122664, 0.0056416137829894329],
  [1e4, 0, -100000009.78270532, 5.6418958072680841e-5],
];

function relErr(got: number, want: number): number {
  return want === 0 ? Math.abs(got) : Math.abs(got - want) / Math.abs(want);
}

Deno.test("erfc() matches mpmath to within 1e-15 relative", () => {
  for (const [x, want] of REFERENCE) {
    if (want === 0) continue;
    assert.ok(relErr(erfc(x), want) < 1e-15, `erfc(${x}) = ${erfc(x)}, want ${want}`);
  }
  assert.equal(erfc(Infinity), 0);
  assert.equal(erfc(-Infinity), 2);
  assert.ok(Number.isNaN(erfc(NaN)));
});

Deno.test("logErfc() matches mpmath far into the tail where erfc underflows", () => {
  for (const [x, , want] of REFERENCE) {
    const got = logErfc(x);
    const tol = want === 0 ? 1e-16 : 4e-15;
    assert.ok(relErr(got, want) <= tol, `logErfc(${x}) = ${got}, want ${want}`);
  }
  assert.equal(logErfc(Infinity), -Infinity);
  assert.equal(logErfc(-Infinity), Math.LN2);
});

Deno.test("erfcx() matches mpmath on both sides of Cody's break points", () => {
  for (const [x, , , want] of REFERENCE) {
    assert.ok(relErr(erfcx(x), want) < 2e-15, `erfcx(${x}) = ${erfcx(x)}, want ${want}`);
  }
});

Deno.test("normalCdf() matches mpmath's ncdf", () => {
  // mpmath 1.3.0 ncdf at 50 digits; the rounding of x / sqrt(2) costs ~x^2 ulps in the tail.
  const cases: readonly (readonly [number, number])[] = [
    [-8, 6.2209605742717841e-16],
    [-3, 0.0013498980316300945],
    [-1, 0.15865525393145705],
    [0, 0.5],
    [1.5, 0.93319279873114193],
    [3, 0.99865010196836991],
  ];
  for (const [x, want] of cases) {
    assert.ok(relErr(normalCdf(x), want) < 1e-14, `normalCdf(${x}) = ${normalCdf(x)}`);
  }
});

Deno.test("logAddExp() and logSubExp() neither overflow nor lose small terms", () => {
  assert.equal(logAddExp(1000, 1000), 1000 + Math.LN2);
  assert.equal(logAddExp(-Infinity, 3), 3);
  assert.ok(Math.abs(logAddExp(0, -40) - 4.248354255291589e-18) < 1e-30);
  assert.ok(Math.abs(logSubExp(Math.log(3), 0) - Math.LN2) < 1e-15);
  assert.equal(logSubExp(5, -Infinity), 5);
  assert.equal(logSubExp(2, 2), -Infinity);
  assert.ok(Number.isNaN(logSubExp(1, 2)));
  assert.equal(logSubExp(1000, 0), 1000);
});
