import assert from "node:assert/strict";
import { FlheError } from "../../src/util/error.ts";
import { connect, listen } from "../../src/net/mod.ts";
import { createCertificateAuthority, issueCertificate } from "../../src/net/tls.ts";
import type { RoundRecord } from "../../src/rounds/mod.ts";
import { freePort, type Party, smallFederation, startParty, stopAll } from "../parties/harness.ts";

const LIMITS = ["--train-limit", "200", "--test-limit", "200", "--workers", "1"];

/** A small federation with `owner init --tls`: wss:// URLs on loopback. */
async function tlsFederation(dir: string, rounds = 1): Promise<void> {
  await smallFederation(dir, {
    rounds,
    tls: true,
    serverUrl: `wss://127.0.0.1:${freePort()}`,
    ownerUrl: `wss://127.0.0.1:${freePort()}`,
  });
}

function mode(path: string): number {
  return Deno.statSync(path).mode! & 0o777;
}

Deno.test("owner init with tls writes the CA to every bundle and keys only where they belong", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await tlsFederation(`${dir}/fed`);
    const fed = `${dir}/fed`;
    const ca = Deno.readTextFileSync(`${fed}/owner/ca.pem`);
    assert.match(ca, /^-----BEGIN CERTIFICATE-----\n/);
    for (const party of ["owner", "server", "client-1", "client-2"]) {
      assert.equal(Deno.readTextFileSync(`${fed}/${party}/ca.pem`), ca);
    }
    for (const party of ["owner", "server"]) {
      assert.match(Deno.readTextFileSync(`${fed}/${party}/tls/cert.pem`), /BEGIN CERTIFICATE/);
      assert.match(Deno.readTextFileSync(`${fed}/${party}/tls/key.pem`), /BEGIN PRIVATE KEY/);
      assert.equal(mode(`${fed}/${party}/tls/key.pem`), 0o600);
    }
    for (const party of ["client-1", "client-2"]) {
      assert.throws(() => Deno.statSync(`${fed}/${party}/tls`), Deno.errors.NotFound);
    }
    // The CA's private key is not kept anywhere.
    for (const party of ["owner", "server", "client-1", "client-2"]) {
      for (const e of Deno.readDirSync(`${fed}/${party}`)) {
        if (e.isFile) {
          assert.ok(
            !Deno.readTextFileSync(`${fed}/${party}/${e.name}`).includes("PRIVATE KEY"),
            `${party}/${e.name}`,
          );
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("owner init with tls refuses ws:// URLs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      smallFederation(`${dir}/fed`, { tls: true, ownerUrl: `wss://127.0.0.1:${freePort()}` }),
      /--server-url: 'ws:\/\/127\.0\.0\.1:\d+' must be a wss:\/\/ URL with --tls/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a round over wss:// with the federation's own CA, no TLS flags", async () => {
  const dir = await Deno.makeTempDir();
  const parties: Party[] = [];
  try {
    const fed = `${dir}/fed`;
    await tlsFederation(fed);
    const owner = startParty("owner", ["owner", "serve", "--bundle", `${fed}/owner`]);
    const server = startParty("server", ["serve", "--bundle", `${fed}/server`]);
    parties.push(owner, server);
    for (const i of [1, 2]) {
      parties.push(
        startParty(`client-${i}`, ["client", "--bundle", `${fed}/client-${i}`, ...LIMITS]),
      );
    }
    assert.equal((await server.done).code, 0, server.lines.join("\n"));
    for (const p of parties) {
      assert.equal((await p.done).code, 0, `${p.name}:\n${p.lines.join("\n")}`);
    }
    assert.ok(
      owner.lines.some((l) => /decryption service on wss:\/\//.test(l)),
      owner.lines.join("\n"),
    );
    assert.ok(server.lines.some((l) => /listening on wss:\/\//.test(l)), server.lines.join("\n"));
    assert.ok(server.lines.some((l) => /connected to the owner service at wss:\/\//.test(l)));
    const client = parties[2]!;
    assert.ok(client.lines.some((l) => /connected to wss:\/\//.test(l)), client.lines.join("\n"));
    const history = JSON.parse(
      await Deno.readTextFile(`${fed}/server/history.json`),
    ) as RoundRecord[];
    assert.equal(history.length, 1);
    assert.deepEqual([...history[0]!.participants].sort(), ["client-1", "client-2"]);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a client refuses a server whose certificate comes from another CA", async () => {
  const dir = await Deno.makeTempDir();
  const parties: Party[] = [];
  try {
    await tlsFederation(`${dir}/a`);
    await tlsFederation(`${dir}/b`);
    // Federation b's server, reached by a client of b that trusts a's CA.
    const server = startParty("server", ["serve", "--bundle", `${dir}/b/server`]);
    parties.push(server);
    await server.waitFor(/listening on wss:\/\//);
    const client = startParty("client", [
      "client",
      "--bundle",
      `${dir}/b/client-1`,
      "--ca",
      `${dir}/a/client-1/ca.pem`,
      "--connect-timeout",
      "5",
      ...LIMITS,
    ]);
    parties.push(client);
    const status = await client.done;
    assert.notEqual(status.code, 0, client.lines.join("\n"));
    const errors = client.lines.filter((l) => /certificate/i.test(l));
    assert.equal(errors.length, 1, client.lines.join("\n"));
    assert.match(
      errors[0]!,
      /wss:\/\/127\.0\.0\.1:\d+: TLS certificate rejected \(.*(UnknownIssuer|BadSignature)/,
    );
    assert.ok(!/\n/.test(errors[0]!));
    // The server never saw the client get past TLS.
    assert.ok(!server.lines.some((l) => /client-1 connected/.test(l)), server.lines.join("\n"));
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connect() trusts the given CA and rejects a certificate from another CA", async () => {
  const ca = await createCertificateAuthority("test CA one");
  const other = await createCertificateAuthority("test CA two");
  const { certPem, keyPem } = await issueCertificate(ca, "server", ["127.0.0.1"]);
  const listener = await listen({
    hostname: "127.0.0.1",
    port: 0,
    maxFrameBytes: 1 << 16,
    cert: certPem,
    key: keyPem,
    onChannel: () => {},
  });
  try {
    const url = `wss://127.0.0.1:${listener.port}`;
    const options = { peer: "server", maxFrameBytes: 1 << 16 };
    const ok = await connect(url, { ...options, caCerts: [ca.certPem] }, 5_000);
    ok.close();
    await ok.closed;
    for (const caCerts of [[other.certPem], undefined]) {
      await assert.rejects(
        connect(url, { ...options, caCerts }, 5_000),
        (e) =>
          e instanceof FlheError && e.code === "auth" &&
          /TLS certificate rejected \(invalid peer certificate: UnknownIssuer\)/.test(e.message),
      );
    }
    // A certificate of the right CA for another host fails too.
    const elsewhere = await issueCertificate(ca, "server", ["10.9.9.9", "example.org"]);
    const wrongHost = await listen({
      hostname: "127.0.0.1",
      port: 0,
      maxFrameBytes: 1 << 16,
      cert: elsewhere.certPem,
      key: elsewhere.keyPem,
      onChannel: () => {},
    });
    try {
      await assert.rejects(
        connect(`wss://127.0.0.1:${wrongHost.port}`, { ...options, caCerts: [ca.certPem] }, 5_000),
        (e) =>
          e instanceof FlheError && e.code === "auth" &&
          /not valid for name "127.0.0.1"/.test(e.message),
      );
    } finally {
      await wrongHost.close();
    }
  } finally {
    await listener.close();
  }
});
