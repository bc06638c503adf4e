/**
 * The round table's metrics: a classifier's accuracy and loss, a
 * regression's test MSE and MAE; the MAE read back from a history file.
 */
import assert from "node:assert/strict";
import {
  finalMetric,
  metricsKindOf,
  parseHistory,
  roundCsv,
  roundTable,
} from "../../src/rounds/mod.ts";
import { failedRecord, okRecord, regressionRecord } from "../dashboard/fixtures.ts";

/** A history as the server writes it and reads it back (NaN becomes null). */
function throughFile(rows: unknown[]): ReturnType<typeof parseHistory> {
  return parseHistory("history.json", JSON.parse(JSON.stringify(rows)));
}

Deno.test("parseHistory() reads a regression row's MAE, and a classifier's row without one", () => {
  const [regression, failed, classifier] = throughFile([
    regressionRecord(1),
    failedRecord(2),
    okRecord(3),
  ]);
  assert.equal(regression!.mae, 4);
  assert.ok(Number.isNaN(regression!.accuracy), "a regression has no accuracy");
  assert.equal(regression!.loss, 20);
  assert.equal("mae" in failed!, false);
  assert.equal("mae" in classifier!, false);
  assert.equal("mae" in throughFile([{ ...okRecord(1), mae: null }])[0]!, false);
  assert.throws(
    () => throughFile([{ ...regressionRecord(1), mae: "4" }]),
    /history\.json: field "\[0\]\.mae" is missing or not a number/,
  );
  assert.throws(
    () => throughFile([okRecord(1), { ...regressionRecord(2), mae: -1 }]),
    /history\.json: field "\[1\]\.mae" is -1, outside/,
  );
});

Deno.test("metricsKindOf() takes a history with an MAE for a regression", () => {
  assert.equal(metricsKindOf([okRecord(1), okRecord(2)]), "multiclass");
  assert.equal(metricsKindOf([failedRecord(1), regressionRecord(2)]), "regression");
  assert.equal(metricsKindOf([]), "multiclass");
});

Deno.test("roundTable() shows a regression's test MSE and MAE, a classifier's accuracy and loss", () => {
  const regression = roundTable([regressionRecord(1), regressionRecord(2)]).split("\n");
  assert.match(regression[0]!, /^round +clients +test MSE +test MAE +train s/);
  assert.deepEqual(regression[2]!.trim().split(/\s+/).slice(0, 4), ["2", "2", "10.00", "3.000"]);
  const classifier = roundTable([okRecord(1)]).split("\n");
  assert.match(classifier[0]!, /^round +clients +accuracy +loss +train s/);
  assert.deepEqual(classifier[1]!.trim().split(/\s+/).slice(0, 4), ["1", "2", "60.00%", "1.0000"]);
  // A regression round nobody reported on: the federation's task still names the columns.
  const unreported = { ...okRecord(1), loss: NaN, accuracy: NaN };
  const table = roundTable([unreported], "regression").split("\n");
  assert.match(table[0]!, /test MSE +test MAE/);
  assert.deepEqual(table[1]!.trim().split(/\s+/).slice(0, 4), ["1", "2", "-", "-"]);
});

Deno.test("finalMetric() gives a regression's last test MSE and MAE", () => {
  const history = [regressionRecord(1), regressionRecord(2), failedRecord(3)];
  assert.equal(finalMetric(history, "regression"), "test MSE 10.00, MAE 3.000");
  assert.equal(finalMetric([okRecord(1, 0.981)], "multiclass"), "test accuracy 98.10%");
});

Deno.test("roundCsv() has an mae column, empty for a classifier", () => {
  const [header, classifier, regression] = roundCsv([okRecord(1), regressionRecord(2)]).split("\n");
  assert.deepEqual(header!.split(",").slice(3, 6), ["accuracy", "loss", "mae"]);
  assert.deepEqual(classifier!.split(",").slice(3, 6), ["0.6", "1", ""]);
  assert.deepEqual(regression!.split(",").slice(3, 6), ["", "10", "3"]);
});
