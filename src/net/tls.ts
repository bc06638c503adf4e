/**
 * A private certificate authority for a federation's `wss://` links: one CA
 * certificate that every party trusts, and one certificate per listening
 * party (server, owner service) signed by it. Keys are ECDSA P-256 from Web
 * Crypto; certificates are built by `@peculiar/x509` (loaded on first use,
 * so commands that never make certificates do not pay for it).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";

/** A certificate and its private key, both PEM. */
export interface PemPair {
  /** The certificate (PEM). */
  readonly certPem: string;
  /** The PKCS#8 private key (PEM). */
  readonly keyPem: string;
}

/** A certificate authority able to issue certificates. */
export interface CertificateAuthority {
  /** The CA certificate (PEM): what parties trust. */
  readonly certPem: string;
  /** The CA's signing key; not extractable. */
  readonly signingKey: CryptoKey;
  /** The CA certificate's subject name. */
  readonly name: string;
}

const ECDSA = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;
/** Validity of the CA and of the certificates it issues. */
const VALID_DAYS = 5 * 365;

type X509 = typeof import("@peculiar/x509");
let x509Module: Promise<X509> | undefined;

function loadX509(): Promise<X509> {
  x509Module ??= (async () => {
    // @peculiar/x509 uses tsyringe, which needs the Reflect metadata API.
    await import("reflect-metadata");
    return await import("@peculiar/x509");
  })();
  return x509Module;
}

function validity(): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  // An hour back tolerates clocks that are a little behind the owner's.
  return { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + VALID_DAYS * DAY_MS) };
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = btoa(String.fromCharCode(...new Uint8Array(der)));
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Whether `host` is an IP address literal (IPv4 dotted quad or IPv6).
 *
 * @param host A host name or address, without brackets.
 * @returns True for an IP literal.
 *
 * @example Usage
 * ```ts
 * import { isIpAddress } from "./tls.ts";
 * isIpAddress("127.0.0.1"); // true
 * isIpAddress("server.example"); // false
 * ```
 */
export function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

/**
 * Creates a new certificate authority (self-signed, ECDSA P-256).
 *
 * @param name Common name of the CA.
 * @returns The CA; its key never leaves memory.
 *
 * @example Usage
 * ```ts
 * import { createCertificateAuthority } from "./tls.ts";
 * const ca = await createCertificateAuthority("flhe federation CA");
 * ca.certPem.startsWith("-----BEGIN CERTIFICATE-----"); // true
 * ```
 */
export async function createCertificateAuthority(name: string): Promise<CertificateAuthority> {
  const x509 = await loadX509();
  const keys = await crypto.subtle.generateKey(ECDSA, false, ["sign", "verify"]);
  const subject = `CN=${name.replace(/[,=+<>#;"\\]/g, " ")}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: subject,
    keys,
    signingAlgorithm: ECDSA,
    ...validity(),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", signingKey: keys.privateKey, name: subject };
}

/**
 * Issues a TLS server certificate for `hosts` (each an IP literal or a DNS
 * name), signed by `ca`, with a fresh ECDSA P-256 key.
 *
 * @param ca The issuing CA.
 * @param commonName Common name of the certificate (e.g. the party).
 * @param hosts Subject alternative names; duplicates are dropped.
 * @returns The certificate and its private key.
 * @throws {FlheError} `input` if `hosts` is empty.
 *
 * @example Usage
 * ```ts
 * import { createCertificateAuthority, issueCertificate } from "./tls.ts";
 * const ca = await createCertificateAuthority("flhe federation CA");
 * const { certPem, keyPem } = await issueCertificate(ca, "server", ["127.0.0.1", "localhost"]);
 * ```
 */
export async function issueCertificate(
  ca: CertificateAuthority,
  commonName: string,
  hosts: readonly string[],
): Promise<PemPair> {
  const names = [...new Set(hosts.map((h) => h.replace(/^\[|\]$/g, "").toLowerCase()))];
  if (names.length === 0) {
    throw new FlheError("input", `certificate ${commonName}: no host names given`);
  }
  const x509 = await loadX509();
  const keys = await crypto.subtle.generateKey(ECDSA, true, ["sign", "verify"]);
  const caCert = new x509.X509Certificate(ca.certPem);
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${commonName.replace(/[,=+<>#;"\\]/g, " ")}`,
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: ECDSA,
    ...validity(),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((value) => ({
          type: isIpAddress(value) ? "ip" as const : "dns" as const,
          value,
        })),
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { certPem: cert.toString("pem") + "\n", keyPem: pem("PRIVATE KEY", pkcs8) };
}
