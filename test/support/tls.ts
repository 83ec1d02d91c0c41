/**
 * A self-signed certificate for `127.0.0.1`, generated with openssl at test time (nothing
 * secret is committed), for HTTPS integration tests.
 *
 * @module
 */

/** A generated certificate and key on disk, plus the PEM to trust it. */
export interface TestCert {
  /** Path of the PEM certificate. */
  readonly certFile: string;
  /** Path of the PEM private key. */
  readonly keyFile: string;
  /** The certificate PEM (pass to `Deno.createHttpClient({ caCerts })`). */
  readonly certPem: string;
  /** Removes the files. */
  cleanup(): Promise<void>;
}

/** Generates a fresh RSA-2048 self-signed certificate with `subjectAltName=IP:127.0.0.1`. */
export async function makeTestCert(): Promise<TestCert> {
  const dir = await Deno.makeTempDir({ prefix: "zerocast-tls-" });
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      // rustls (Deno's fetch) rejects a CA certificate used as the server's own certificate.
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`openssl failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return {
    certFile,
    keyFile,
    certPem: await Deno.readTextFile(certFile),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}
