import assert from "node:assert/strict";
import {
  exportClientPublicKeys,
  generateClientKeys,
  generateOwnerSigningKey,
  loadClientSecretKeys,
  loadOwnerSigningKey,
  maskVector,
  pairSecrets,
  parseClientPublicKeys,
  saveClientSecretKeys,
  saveOwnerSigningKey,
  signContribution,
  signModel,
  verifyContribution,
  verifyModel,
} from "./deps.ts";
import { assertFlheError, values, withDir } from "./helpers.ts";

const keys = await generateClientKeys("client-7");
const peer = await generateClientKeys("client-8");
const owner = await generateOwnerSigningKey();

Deno.test("generateClientKeys() makes X25519 and Ed25519 pairs with 64-hex public keys", async () => {
  assert.equal(keys.agreement.privateKey.algorithm.name, "X25519");
  assert.equal(keys.signing.privateKey.algorithm.name, "Ed25519");
  const pub = await exportClientPublicKeys(keys);
  assert.equal(pub.id, "client-7");
  assert.match(pub.agreementKey, /^[0-9a-f]{64}$/);
  assert.match(pub.verifyKey, /^[0-9a-f]{64}$/);
  assert.notEqual(pub.agreementKey, (await exportClientPublicKeys(peer)).agreementKey);
  assert.ok(Object.isFrozen(keys) && Object.isFrozen(pub));
  await assertFlheError(() => generateClientKeys("owner"), "usage", /id does not match/);
  await assertFlheError(() => generateClientKeys("client-123456"), "usage", /id does not match/);
});

Deno.test("saveClientSecretKeys() writes mode 0600 and loadClientSecretKeys() round-trips", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/client-7.keys.json`;
    await saveClientSecretKeys(path, keys);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const loaded = await loadClientSecretKeys(path);
    assert.equal(loaded.id, "client-7");
    assert.deepEqual(await exportClientPublicKeys(loaded), await exportClientPublicKeys(keys));
    // Loaded private keys stay inside Web Crypto.
    assert.equal(loaded.agreement.privateKey.extractable, false);
    assert.equal(loaded.signing.privateKey.extractable, false);
    await assertFlheError(
      () => saveClientSecretKeys(`${dir}/again.json`, loaded),
      "usage",
      /client-7 keys: the private key is not extractable/,
    );

    // The loaded keys work with the original ones: signatures verify under
    // the original verify key, and masks cancel against a peer's.
    const { verifyKey } = await exportClientPublicKeys(keys);
    const c = {
      context: "fp",
      round: 1,
      baseRound: 0,
      base: "cd".repeat(32),
      set: [{ id: "client-7", weight: 2 }, { id: "client-8", weight: 3 }],
      id: "client-7",
      weight: 2,
      digest: "11".repeat(32),
    };
    assert.ok(await verifyContribution(verifyKey, c, await signContribution(loaded, c)));
    const directory = [await exportClientPublicKeys(keys), await exportClientPublicKeys(peer)];
    const common = { set: c.set, base: "cd".repeat(32), context: "fp", count: 8, width: 4 };
    const modulus = 4_294_967_291n;
    const mine = await maskVector({
      ...common,
      modulus,
      selfId: "client-7",
      pairKeys: await pairSecrets(loaded, directory),
    });
    const theirs = await maskVector({
      ...common,
      modulus,
      selfId: "client-8",
      pairKeys: await pairSecrets(peer, directory),
    });
    const a = values(mine, 4);
    const b = values(theirs, 4);
    assert.deepEqual(a.map((x, i) => (x + b[i]!) % modulus), new Array(8).fill(0n));
  });
});

Deno.test("loadClientSecretKeys() refuses a file that group or others can read", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/client-7.keys.json`;
    await saveClientSecretKeys(path, keys);
    for (const mode of [0o640, 0o604]) {
      await Deno.chmod(path, mode);
      await assertFlheError(
        () => loadClientSecretKeys(path),
        "auth",
        new RegExp(`client-7\\.keys\\.json.*mode ${mode.toString(8)}.*chmod 600`),
      );
    }
  });
});

Deno.test("loadClientSecretKeys() refuses a public part that is not the private key's", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/client-7.keys.json`;
    await saveClientSecretKeys(path, keys);
    const good = JSON.parse(await Deno.readTextFile(path));
    const other = await exportClientPublicKeys(peer);
    const cases: [unknown, RegExp][] = [
      [{ ...good, agreementKey: other.agreementKey }, /"agreementKey" does not belong/],
      [{ ...good, verifyKey: other.verifyKey }, /"verifyKey" does not belong/],
      // Swapping a private part instead is the same mismatch.
      [
        { ...good, signingPrivate: JSON.parse(await savedText(dir, peer)).signingPrivate },
        /"verifyKey" does not belong/,
      ],
    ];
    for (const [body, pattern] of cases) {
      await Deno.writeTextFile(path, JSON.stringify(body), { mode: 0o600 });
      await assertFlheError(() => loadClientSecretKeys(path), "auth", pattern);
    }
  });
});

async function savedText(dir: string, k: typeof peer): Promise<string> {
  const path = `${dir}/${k.id}.other.json`;
  await saveClientSecretKeys(path, k);
  return await Deno.readTextFile(path);
}

Deno.test("loadClientSecretKeys() names the file and field of a malformed file", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/client-7.keys.json`;
    await saveClientSecretKeys(path, keys);
    const good = JSON.parse(await Deno.readTextFile(path));
    const cases: [unknown, RegExp][] = [
      [{ ...good, format: "flhe-paillier-secret" }, /field "format" is "flhe-paillier-secret"/],
      [{ ...good, version: 2 }, /field "version" is 2/],
      [{ ...good, id: "client-x" }, /field "id" does not match/],
      [{ ...good, agreementKey: "AB".repeat(32) }, /field "agreementKey" does not match/],
      [{ ...good, verifyKey: undefined }, /field "verifyKey" is missing/],
      [
        { ...good, agreementPrivate: "00".repeat(48) },
        /"agreementPrivate" is not an X25519 PKCS#8 key/,
      ],
      // An Ed25519 key where an X25519 key belongs.
      [{ ...good, agreementPrivate: good.signingPrivate }, /"agreementPrivate" is not an X25519/],
      [{ ...good, signingPrivate: "zz" }, /field "signingPrivate" does not match/],
    ];
    for (const [body, pattern] of cases) {
      await Deno.writeTextFile(path, JSON.stringify(body), { mode: 0o600 });
      await assertFlheError(() => loadClientSecretKeys(path), "input", pattern);
      await assertFlheError(() => loadClientSecretKeys(path), "input", /client-7\.keys\.json: /);
    }
    await Deno.writeTextFile(path, "{", { mode: 0o600 });
    await assertFlheError(() => loadClientSecretKeys(path), "input", /not valid JSON/);
    await assertFlheError(() => loadClientSecretKeys(`${dir}/none.json`), "input", /not found/);
  });
});

Deno.test("parseClientPublicKeys() accepts what exportClientPublicKeys() gives, names bad fields", async () => {
  const pub = await exportClientPublicKeys(keys);
  assert.deepEqual(
    parseClientPublicKeys("federation.json", JSON.parse(JSON.stringify(pub))),
    pub,
  );
  const cases: [unknown, RegExp][] = [
    [{ ...pub, id: "client-123456" }, /federation\.json: field "id" does not match/],
    [{ ...pub, id: 7 }, /field "id" is missing or not a string/],
    [{ ...pub, agreementKey: pub.agreementKey.slice(2) }, /field "agreementKey" does not match/],
    [{ ...pub, verifyKey: pub.verifyKey.toUpperCase() }, /field "verifyKey" does not match/],
    [[pub], /federation\.json: top level is not a JSON object/],
  ];
  for (const [value, pattern] of cases) {
    await assertFlheError(() => parseClientPublicKeys("federation.json", value), "input", pattern);
  }
});

Deno.test("saveOwnerSigningKey() writes mode 0600 and loadOwnerSigningKey() round-trips", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/owner-signing.json`;
    await saveOwnerSigningKey(path, owner);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const loaded = await loadOwnerSigningKey(path);
    assert.equal(loaded.verifyKey, owner.verifyKey);
    assert.match(loaded.verifyKey, /^[0-9a-f]{64}$/);
    assert.equal(loaded.signing.privateKey.extractable, false);
    const m = { context: "fp", round: 3, digest: "22".repeat(32) };
    assert.ok(await verifyModel(owner.verifyKey, m, await signModel(loaded.signing.privateKey, m)));
  });
});

Deno.test("loadOwnerSigningKey() refuses a readable file and a foreign verify key", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/owner-signing.json`;
    await saveOwnerSigningKey(path, owner);
    await Deno.chmod(path, 0o644);
    await assertFlheError(() => loadOwnerSigningKey(path), "auth", /mode 644.*chmod 600/);
    await Deno.chmod(path, 0o600);
    const good = JSON.parse(await Deno.readTextFile(path));
    const other = await generateOwnerSigningKey();
    await Deno.writeTextFile(path, JSON.stringify({ ...good, verifyKey: other.verifyKey }));
    await assertFlheError(
      () => loadOwnerSigningKey(path),
      "auth",
      /owner-signing\.json: field "verifyKey" does not belong/,
    );
    await Deno.writeTextFile(path, JSON.stringify({ ...good, format: "flhe-client-keys" }));
    await assertFlheError(() => loadOwnerSigningKey(path), "input", /field "format"/);
  });
});
