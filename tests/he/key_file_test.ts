import assert from "node:assert/strict";
import {
  fingerprint,
  FlheError,
  generateKeyPair,
  type KeyPair,
  loadPublicKey,
  loadSecretKey,
  savePublicKey,
  saveSecretKey,
} from "./deps.ts";

const keys: KeyPair = await generateKeyPair(512);
const subgroupKeys: KeyPair = await generateKeyPair(512, { kind: "subgroup" });

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("savePublicKey() and loadPublicKey() round-trip with the fingerprint", async () => {
  await withDir(async (dir) => {
    await savePublicKey(`${dir}/public.json`, keys.publicKey);
    const loaded = await loadPublicKey(`${dir}/public.json`);
    assert.equal(loaded.n, keys.publicKey.n);
    assert.equal(loaded.hs, keys.publicKey.hs);
    assert.equal(await fingerprint(loaded), await fingerprint(keys.publicKey));
    const body = JSON.parse(await Deno.readTextFile(`${dir}/public.json`));
    assert.equal(body.p, undefined);
    assert.equal(body.q, undefined);
  });
});

Deno.test("saveSecretKey() writes mode 0600 and loadSecretKey() round-trips", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/secret.json`;
    await saveSecretKey(path, keys.secretKey);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const loaded = await loadSecretKey(path);
    assert.equal(loaded.secretKey.p, keys.secretKey.p);
    assert.equal(loaded.secretKey.q, keys.secretKey.q);
    assert.equal(loaded.publicKey.n, keys.publicKey.n);
  });
});

Deno.test("loadSecretKey() refuses a file that group or others can read", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/secret.json`;
    await saveSecretKey(path, keys.secretKey);
    await Deno.chmod(path, 0o644);
    await assert.rejects(() => loadSecretKey(path), (e: unknown) => {
      assert.ok(e instanceof FlheError);
      assert.equal(e.code, "auth");
      assert.match(e.message, /secret\.json.*mode 644.*chmod 600/);
      return true;
    });
  });
});

Deno.test("loadPublicKey() names the file and field of a bad key file", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/public.json`;
    await savePublicKey(path, keys.publicKey);
    const good = JSON.parse(await Deno.readTextFile(path));
    const cases: [unknown, RegExp][] = [
      [{ ...good, fingerprint: "00" }, /"fingerprint" does not match/],
      [{ ...good, kind: "fast" }, /"kind" is "fast", not one of standard, subgroup/],
      [{ ...good, kind: "subgroup" }, /"fingerprint" does not match kind, n and hs/],
      [{ ...good, n: 12 }, /"n" is missing or not a string/],
      [{ ...good, hs: "xyz" }, /"hs" does not match/],
      [{ ...good, keyBits: 1024 }, /"keyBits" is 1024 but n has 512 bits/],
      [{ ...good, format: "other" }, /"format" is "other"/],
      [[1, 2], /top level is not a JSON object/],
    ];
    for (const [body, pattern] of cases) {
      await Deno.writeTextFile(path, JSON.stringify(body));
      await assert.rejects(() => loadPublicKey(path), pattern);
      await assert.rejects(() => loadPublicKey(path), new RegExp(path.replaceAll("/", "\\/")));
    }
    await Deno.writeTextFile(path, JSON.stringify(good).slice(0, 40));
    await assert.rejects(() => loadPublicKey(path), /public\.json: not valid JSON/);
    await assert.rejects(
      () => loadPublicKey(`${dir}/missing.json`),
      /missing\.json: file not found/,
    );
  });
});

Deno.test("loadSecretKey() rejects primes that do not match n", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/secret.json`;
    await saveSecretKey(path, keys.secretKey);
    const body = JSON.parse(await Deno.readTextFile(path));
    body.p = (keys.secretKey.p + 2n).toString(16);
    await Deno.writeTextFile(path, JSON.stringify(body));
    await Deno.chmod(path, 0o600);
    await assert.rejects(() => loadSecretKey(path), /secret\.json: secret key: p \* q/);
  });
});

Deno.test("savePublicKey() and saveSecretKey() write the kind; subgroup keys round-trip", async () => {
  await withDir(async (dir) => {
    await savePublicKey(`${dir}/public.json`, subgroupKeys.publicKey);
    await saveSecretKey(`${dir}/secret.json`, subgroupKeys.secretKey);
    const pub = JSON.parse(await Deno.readTextFile(`${dir}/public.json`));
    const sec = JSON.parse(await Deno.readTextFile(`${dir}/secret.json`));
    assert.equal(pub.kind, "subgroup");
    assert.equal(pub.p0, undefined);
    assert.equal(sec.kind, "subgroup");
    assert.equal(BigInt("0x" + sec.p0), subgroupKeys.secretKey.p0);
    assert.equal(BigInt("0x" + sec.q0), subgroupKeys.secretKey.q0);
    const loadedPublic = await loadPublicKey(`${dir}/public.json`);
    assert.equal(loadedPublic.kind, "subgroup");
    assert.equal(loadedPublic.randomExponentBits, 112);
    assert.equal(await fingerprint(loadedPublic), await fingerprint(subgroupKeys.publicKey));
    const loaded = await loadSecretKey(`${dir}/secret.json`);
    assert.equal(loaded.publicKey.kind, "subgroup");
    assert.equal(loaded.secretKey.exponentP, subgroupKeys.secretKey.exponentP);
    assert.equal(loaded.secretKey.exponentQ, subgroupKeys.secretKey.exponentQ);
    // The public key in a secret file loads too.
    assert.equal((await loadPublicKey(`${dir}/secret.json`)).kind, "subgroup");
    // Standard keys say so.
    await savePublicKey(`${dir}/standard.json`, keys.publicKey);
    assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/standard.json`)).kind, "standard");
  });
});

Deno.test("key files without a kind load as standard keys", async () => {
  await withDir(async (dir) => {
    // The files flhe wrote before key kinds existed.
    const pk = keys.publicKey;
    const common = {
      version: 1,
      keyBits: pk.keyBits,
      n: pk.n.toString(16),
      hs: pk.hs.toString(16),
      fingerprint: await fingerprint(pk),
    };
    await Deno.writeTextFile(
      `${dir}/public.json`,
      JSON.stringify({ format: "flhe-paillier-public", ...common }),
    );
    const secretPath = `${dir}/secret.json`;
    await Deno.writeTextFile(
      secretPath,
      JSON.stringify({
        format: "flhe-paillier-secret",
        ...common,
        p: keys.secretKey.p.toString(16),
        q: keys.secretKey.q.toString(16),
      }),
      { mode: 0o600 },
    );
    await Deno.chmod(secretPath, 0o600);
    const loadedPublic = await loadPublicKey(`${dir}/public.json`);
    assert.equal(loadedPublic.kind, "standard");
    assert.equal(loadedPublic.randomExponentBits, 256);
    const loaded = await loadSecretKey(secretPath);
    assert.equal(loaded.secretKey.kind, "standard");
    assert.equal(loaded.secretKey.exponentP, keys.secretKey.p - 1n);
  });
});

Deno.test("loadSecretKey() names a missing or wrong p0 of a subgroup key", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/secret.json`;
    await saveSecretKey(path, subgroupKeys.secretKey);
    const good = JSON.parse(await Deno.readTextFile(path));
    const cases: [unknown, RegExp][] = [
      [{ ...good, p0: undefined }, /secret\.json: field "p0" is missing/],
      [{ ...good, q0: "zz" }, /secret\.json: field "q0" does not match/],
      [{ ...good, p0: (subgroupKeys.secretKey.p0! + 2n).toString(16) }, /p0 is not an odd factor/],
    ];
    for (const [body, pattern] of cases) {
      await Deno.writeTextFile(path, JSON.stringify(body));
      await assert.rejects(() => loadSecretKey(path), pattern);
    }
  });
});
