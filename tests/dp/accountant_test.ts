import assert from "node:assert/strict";
import {
  computeRdp,
  DEFAULT_RDP_ORDERS,
  epsilonFor,
  FlheError,
  noiseMultiplierFor,
  normalCdf,
  RdpAccountant,
  rdpAtOrder,
  rdpToEpsilon,
} from "./deps.ts";

const Q = 256 / 30000;
const DELTA = 1e-5;

function throwsRange(run: () => unknown, text: string): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof FlheError, String(e));
    assert.equal(e.code, "range");
    assert.ok(e.message.includes(text), `"${e.message}" does not name ${text}`);
    return true;
  });
}

Deno.test("DEFAULT_RDP_ORDERS are Opacus' DEFAULT_ALPHAS", () => {
  assert.equal(DEFAULT_RDP_ORDERS.length, 99 + 52);
  assert.deepEqual(DEFAULT_RDP_ORDERS.slice(0, 3), [1.1, 1.2, 1.3]);
  assert.equal(DEFAULT_RDP_ORDERS[8], 1.9);
  assert.equal(DEFAULT_RDP_ORDERS[9], 2); // 1 + 10 / 10: an integer order, as in Python
  assert.deepEqual(DEFAULT_RDP_ORDERS.slice(97, 101), [10.8, 10.9, 12, 13]);
  assert.equal(DEFAULT_RDP_ORDERS.at(-1), 63);
});

Deno.test("rdpAtOrder() without sampling is the Gaussian mechanism's alpha / (2 sigma^2)", () => {
  for (const order of [1.5, 2, 7.3, 32]) {
    assert.equal(rdpAtOrder(1, 2, order), order / 8);
  }
  assert.equal(rdpAtOrder(0, 1, 2), 0);
  assert.equal(rdpAtOrder(0.1, 0, 2), Infinity);
});

Deno.test("rdpAtOrder() is continuous across integer and fractional orders", () => {
  // The integer sum and the fractional series are different formulas for one function.
  for (const [q, sigma] of [[0.01, 1], [0.1, 0.7], [0.001, 2]] as const) {
    for (const order of [2, 3, 8, 20]) {
      const below = rdpAtOrder(q, sigma, order - 1e-7);
      const at = rdpAtOrder(q, sigma, order);
      const above = rdpAtOrder(q, sigma, order + 1e-7);
      assert.ok(below <= at * (1 + 1e-6) && at <= above * (1 + 1e-6), `q ${q} order ${order}`);
      assert.ok(Math.abs(above - below) / at < 1e-5, `q ${q} order ${order}: ${below} ${above}`);
    }
  }
});

Deno.test("computeRdp() composes steps by addition and grows with q and shrinks with sigma", () => {
  const one = computeRdp({ sampleRate: Q, noiseMultiplier: 1, steps: 1 });
  const many = computeRdp({ sampleRate: Q, noiseMultiplier: 1, steps: 585 });
  one.forEach((r, k) => assert.equal(many[k], r * 585));
  const moreQ = computeRdp({ sampleRate: 2 * Q, noiseMultiplier: 1, steps: 1 });
  const moreSigma = computeRdp({ sampleRate: Q, noiseMultiplier: 1.5, steps: 1 });
  one.forEach((r, k) => {
    assert.ok(moreQ[k]! > r, `order ${DEFAULT_RDP_ORDERS[k]}`);
    assert.ok(moreSigma[k]! < r, `order ${DEFAULT_RDP_ORDERS[k]}`);
  });
  assert.deepEqual([...computeRdp({ sampleRate: Q, noiseMultiplier: 1, steps: 0 })], [
    ...new Float64Array(DEFAULT_RDP_ORDERS.length),
  ]);
});

Deno.test("epsilonFor() is a valid bound: the exact Gaussian mechanism needs less", () => {
  // Without sampling, T steps of noise sigma are one Gaussian mechanism with mu = sqrt(T) / sigma,
  // whose exact delta at epsilon is Phi(mu/2 - eps/mu) - e^eps Phi(-mu/2 - eps/mu)
  // (Balle and Wang, ICML 2018, Theorem 8). RDP's epsilon must give a delta at most the target.
  for (const [sigma, steps] of [[10, 1], [4, 10], [20, 100], [2, 1]] as const) {
    const mu = Math.sqrt(steps) / sigma;
    const exactDelta = (eps: number): number =>
      normalCdf(mu / 2 - eps / mu) - Math.exp(eps) * normalCdf(-mu / 2 - eps / mu);
    const { epsilon } = epsilonFor({ sampleRate: 1, noiseMultiplier: sigma, steps }, DELTA);
    assert.ok(exactDelta(epsilon) <= DELTA, `sigma ${sigma}, steps ${steps}: ${epsilon}`);
    // ... and not absurdly loose: the exact epsilon is within 25%.
    assert.ok(exactDelta(epsilon / 1.25) > DELTA, `sigma ${sigma}, steps ${steps}: ${epsilon}`);
  }
});

Deno.test("rdpToEpsilon() picks the best order, flags an edge order and spends 0 for zero RDP", () => {
  const orders = [2, 4, 8];
  const best = rdpToEpsilon(orders, [0.5, 0.6, 2], 1e-5);
  const each = orders.map((o, k) => rdpToEpsilon([o], [[0.5, 0.6, 2][k]!], 1e-5).epsilon);
  assert.equal(best.epsilon, Math.min(...each));
  assert.equal(best.order, orders[each.indexOf(best.epsilon)]);
  assert.equal(rdpToEpsilon([2, 3], [1e-3, 1e-3], 1e-5).orderAtEdge, true);
  assert.deepEqual(rdpToEpsilon(orders, [0, 0, 0], 1e-5).epsilon, 0);
  assert.equal(rdpToEpsilon(orders, [Infinity, Infinity, Infinity], 1e-5).epsilon, Infinity);
  // The classic conversion is never tighter than Balle et al.'s.
  const rdp = computeRdp({ sampleRate: Q, noiseMultiplier: 1, steps: 585 });
  assert.ok(
    rdpToEpsilon(DEFAULT_RDP_ORDERS, rdp, DELTA, "classic").epsilon >
      rdpToEpsilon(DEFAULT_RDP_ORDERS, rdp, DELTA).epsilon,
  );
});

Deno.test("the accountant composes mixed mechanisms and merges repeated ones", () => {
  const acc = new RdpAccountant();
  assert.equal(acc.spent(DELTA).epsilon, 0);
  acc.step({ sampleRate: Q, noiseMultiplier: 1 });
  acc.step({ sampleRate: Q, noiseMultiplier: 1, steps: 116 });
  acc.step({ sampleRate: 2 * Q, noiseMultiplier: 1.2, steps: 50 });
  acc.step({ sampleRate: 2 * Q, noiseMultiplier: 1.2, steps: 0 });
  assert.deepEqual(acc.history, [
    { sampleRate: Q, noiseMultiplier: 1, steps: 117 },
    { sampleRate: 2 * Q, noiseMultiplier: 1.2, steps: 50 },
  ]);
  assert.equal(acc.steps, 167);
  const a = computeRdp({ sampleRate: Q, noiseMultiplier: 1, steps: 117 });
  const b = computeRdp({ sampleRate: 2 * Q, noiseMultiplier: 1.2, steps: 50 });
  const total = acc.rdp();
  total.forEach((t, k) => assert.ok(Math.abs(t - a[k]! - b[k]!) <= 1e-12 * t));
  assert.equal(acc.spent(DELTA).epsilon, rdpToEpsilon(DEFAULT_RDP_ORDERS, total, DELTA).epsilon);
  // One call per step gives the figure of one call for all steps.
  const stepwise = new RdpAccountant();
  for (let i = 0; i < 585; i++) stepwise.step({ sampleRate: Q, noiseMultiplier: 1 });
  const direct = epsilonFor({ sampleRate: Q, noiseMultiplier: 1, steps: 585 }, DELTA).epsilon;
  assert.equal(stepwise.spent(DELTA).epsilon, direct);
});

Deno.test("spentAfter() looks ahead without spending", () => {
  const acc = new RdpAccountant();
  acc.step({ sampleRate: Q, noiseMultiplier: 1, steps: 100 });
  const before = acc.spent(DELTA).epsilon;
  const ahead = acc.spentAfter({ sampleRate: Q, noiseMultiplier: 1, steps: 485 }, DELTA).epsilon;
  assert.equal(acc.spent(DELTA).epsilon, before);
  assert.equal(acc.steps, 100);
  const direct = epsilonFor({ sampleRate: Q, noiseMultiplier: 1, steps: 585 }, DELTA).epsilon;
  assert.ok(Math.abs(ahead - direct) < 1e-12);
});

Deno.test("stepsWithin() is the exact number of steps that stays within the budget", () => {
  for (const [target, sigma, spentSteps] of [[1, 1, 0], [3, 0.8, 200], [8, 0.6, 50], [0.5, 2, 0]]) {
    const acc = new RdpAccountant();
    acc.step({ sampleRate: Q, noiseMultiplier: sigma!, steps: spentSteps! });
    const budget = { targetEpsilon: target!, delta: DELTA, sampleRate: Q, noiseMultiplier: sigma! };
    const n = acc.stepsWithin(budget);
    assert.ok(n > 0);
    const at = (k: number) =>
      acc.spentAfter({ sampleRate: Q, noiseMultiplier: sigma!, steps: k }, DELTA).epsilon;
    assert.ok(at(n) <= target!, `target ${target}: ${n} steps spend ${at(n)}`);
    assert.ok(at(n + 1) > target!, `target ${target}: ${n + 1} steps spend ${at(n + 1)}`);
    acc.step({ sampleRate: Q, noiseMultiplier: sigma!, steps: n });
    assert.equal(acc.stepsWithin(budget), 0);
    acc.step({ sampleRate: Q, noiseMultiplier: sigma! });
    assert.ok(acc.spent(DELTA).epsilon > target!);
    assert.equal(acc.stepsWithin(budget), 0);
  }
  const free = new RdpAccountant();
  const budget = { targetEpsilon: 1, delta: DELTA, sampleRate: 0, noiseMultiplier: 1 };
  assert.equal(free.stepsWithin(budget), Infinity);
  assert.equal(free.stepsWithin({ ...budget, sampleRate: Q, noiseMultiplier: 0 }), 0);
});

Deno.test("the accountant's saved state restores the same spending", () => {
  const acc = new RdpAccountant();
  acc.step({ sampleRate: Q, noiseMultiplier: 1, steps: 117 });
  acc.step({ sampleRate: 0.02, noiseMultiplier: 0.9, steps: 33 });
  const saved = JSON.parse(JSON.stringify(acc));
  assert.equal(saved.format, "flhe-rdp-accountant");
  const restored = RdpAccountant.fromJSON(saved);
  assert.deepEqual(restored.history, acc.history);
  assert.deepEqual(restored.orders, acc.orders);
  assert.deepEqual([...restored.rdp()], [...acc.rdp()]);
  assert.equal(restored.spent(DELTA).epsilon, acc.spent(DELTA).epsilon);
  const custom = new RdpAccountant([1.5, 2, 16]);
  assert.deepEqual(RdpAccountant.fromJSON(JSON.parse(JSON.stringify(custom))).orders, [1.5, 2, 16]);
});

Deno.test("RdpAccountant.fromJSON() names the field that is wrong", () => {
  const good = JSON.parse(JSON.stringify(new RdpAccountant([2, 4])));
  const history = [{ sampleRate: 0.01, noiseMultiplier: 1, steps: 3 }];
  const cases: [unknown, string][] = [
    [null, "format"],
    [{ ...good, format: "other" }, "format"],
    [{ ...good, version: 2 }, "version 2"],
    [{ ...good, orders: "x" }, "orders"],
    [{ ...good, orders: [2, 0.5] }, "orders[1] 0.5"],
    [{ ...good, history: {} }, "history"],
    [
      { ...good, history: [...history, { sampleRate: 0.01, steps: 3 }] },
      "history[1].noiseMultiplier",
    ],
    [{ ...good, history: [{ ...history[0], steps: -1 }] }, "history[0]: dp: steps -1"],
    [{ ...good, history: [{ ...history[0], sampleRate: 2 }] }, "sampleRate 2"],
  ];
  for (const [state, text] of cases) {
    assert.throws(() => RdpAccountant.fromJSON(state), (e: unknown) => {
      assert.ok(e instanceof FlheError && e.code === "input", String(e));
      assert.ok(e.message.includes(text), `"${e.message}" does not name ${text}`);
      return true;
    });
  }
});

Deno.test("the accountant's functions quote the parameter that is out of range", () => {
  throwsRange(() => rdpAtOrder(1.5, 1, 2), "sampleRate 1.5");
  throwsRange(() => rdpAtOrder(NaN, 1, 2), "sampleRate NaN");
  throwsRange(() => rdpAtOrder(0.1, -1, 2), "noiseMultiplier -1");
  throwsRange(() => rdpAtOrder(0.1, 1, 1), "order 1");
  throwsRange(() => computeRdp({ sampleRate: 0.1, noiseMultiplier: 1, steps: 2.5 }), "steps 2.5");
  throwsRange(() => computeRdp({ sampleRate: 0.1, noiseMultiplier: 1, steps: 1 }, []), "orders");
  throwsRange(() => rdpToEpsilon([2], [0.1], 0), "delta 0");
  throwsRange(() => rdpToEpsilon([2], [0.1], 1), "delta 1");
  throwsRange(() => rdpToEpsilon([2, 3], [0.1], 1e-5), "1 values for 2 orders");
  throwsRange(() => rdpToEpsilon([2], [-1], 1e-5), "rdp[0] -1");
  const target = { targetEpsilon: 1, delta: DELTA, sampleRate: Q, steps: 585 };
  throwsRange(() => noiseMultiplierFor({ ...target, targetEpsilon: 0 }), "targetEpsilon 0");
  throwsRange(() => noiseMultiplierFor({ ...target, sampleRate: 0 }), "sampleRate 0");
  throwsRange(() => noiseMultiplierFor({ ...target, steps: 0 }), "steps 0");
  throwsRange(() => noiseMultiplierFor({ ...target, epsilonTolerance: 2 }), "epsilonTolerance 2");
  throwsRange(
    () =>
      noiseMultiplierFor({
        ...target,
        targetEpsilon: 1e-4,
        sampleRate: 1,
        steps: 1e9,
        epsilonTolerance: 1e-5,
      }),
    "above 1000000",
  );
  throwsRange(() => new RdpAccountant([2, 1]), "orders[1] 1");
  const acc = new RdpAccountant();
  throwsRange(() => acc.step({ sampleRate: Q, noiseMultiplier: 1, steps: -3 }), "steps -3");
  throwsRange(() => acc.spent(2), "delta 2");
  throwsRange(
    () => acc.stepsWithin({ targetEpsilon: -1, delta: DELTA, sampleRate: Q, noiseMultiplier: 1 }),
    "targetEpsilon -1",
  );
});
