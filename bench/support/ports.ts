/** Loopback ports for benchmark servers: picked by the kernel, checked free, waited for. @module */

/** The only address benchmark servers bind and clients connect to. */
export const LOOPBACK = "127.0.0.1";

/** Returns true when nothing accepts connections on `LOOPBACK:port`. */
export async function portIsFree(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: LOOPBACK, port });
    conn.close();
    return false;
  } catch {
    return true;
  }
}

/** Asks the kernel for an unused loopback port and checks that nobody listens on it. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const listener = Deno.listen({ hostname: LOOPBACK, port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    if (await portIsFree(port)) return port;
  }
  throw new Error("no free loopback port found");
}

/**
 * Waits until `LOOPBACK:port` accepts a connection. Fails early when `alive()` turns false
 * (the server process exited) or after `timeoutMs`.
 */
export async function waitForPort(
  port: number,
  alive: () => boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`server exited before listening on port ${port}`);
    if (!(await portIsFree(port))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not listen on port ${port} within ${timeoutMs} ms`);
}
