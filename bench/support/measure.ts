/**
 * One measurement: one client against one running server for one workload, with the server's
 * CPU (whole process tree) sampled at the edges of the client's measured window and its peak
 * RSS reset before and read after.
 *
 * @module
 */
import { runLoadProcess } from "../loadgen/run.ts";
import { machineBusySeconds, resetTreePeakRss, treeCpuSeconds, treePeakRssBytes } from "./proc.ts";
import type { ServerId } from "./servers.ts";
import type { Workload, WorkloadId } from "./workloads.ts";
import { runWrk } from "./wrk.ts";

/** The two clients. */
export const CLIENT_IDS = ["own", "wrk"] as const;

/** One of {@linkcode CLIENT_IDS}. */
export type ClientId = typeof CLIENT_IDS[number];

/** Everything one measurement reports. */
export interface Measurement {
  /** Run number (1-based). */
  readonly run: number;
  /** Server measured. */
  readonly server: ServerId;
  /** Workload. */
  readonly workload: WorkloadId;
  /** Client. */
  readonly client: ClientId;
  /** Responses completed in the window. */
  readonly requests: number;
  /** Window length in seconds. */
  readonly seconds: number;
  /** Body bytes in the window (wrk: responses × expected body length; route: wrk's byte count). */
  readonly bodyBytes: number;
  /** Median latency, µs. */
  readonly p50Us: number;
  /** 99th percentile latency, µs. */
  readonly p99Us: number;
  /** CPU seconds of the server's process tree in the window. */
  readonly serverCpuSeconds: number;
  /** CPU seconds of the client in the window. */
  readonly clientCpuSeconds: number;
  /** CPU seconds anything else on the machine used in the window (disturbance). */
  readonly otherCpuSeconds: number;
  /** Peak RSS of the server's process tree during this measurement (bytes). */
  readonly peakRssBytes: number;
  /** Errors (wrong status or length, parse errors, closed connections, wrk socket errors). */
  readonly errors: number;
}

/** Settings shared by every measurement. */
export interface MeasureSettings {
  /** Connections per client. */
  readonly connections: number;
  /** Measured seconds (wrk rounds to whole seconds). */
  readonly durationSeconds: number;
  /** Warm-up seconds of the own client (wrk follows it on the already warm server). */
  readonly warmupSeconds: number;
  /** CPU the client is pinned to. */
  readonly clientCpu?: number;
  /** Seed of the random ranges. */
  readonly seed: number;
}

/** Runs `client` against the server at `url` (PID `pid`) for `workload`. */
export async function measure(
  run: number,
  server: { id: ServerId; url: string; pid: number },
  workload: Workload,
  client: ClientId,
  settings: MeasureSettings,
): Promise<Measurement> {
  let cpuStart = 0;
  let cpuEnd = 0;
  let busyStart = 0;
  let busyEnd = 0;
  const onStart = () => {
    cpuStart = treeCpuSeconds(server.pid);
    busyStart = machineBusySeconds();
  };
  const onEnd = () => {
    cpuEnd = treeCpuSeconds(server.pid);
    busyEnd = machineBusySeconds();
  };
  const other = (clientCpu: number) =>
    Math.max(0, busyEnd - busyStart - (cpuEnd - cpuStart) - clientCpu);
  resetTreePeakRss(server.pid);
  const base = { run, server: server.id, workload: workload.id, client };
  if (client === "own") {
    const { hostname, port } = new URL(server.url);
    const result = await runLoadProcess(
      {
        hostname,
        port: Number(port),
        path: workload.path,
        range: workload.range,
        paths: workload.paths,
        expectStatus: workload.status,
        expectLength: workload.bodyLength,
        connections: settings.connections,
        warmupSeconds: settings.warmupSeconds,
        durationSeconds: settings.durationSeconds,
        seed: settings.seed,
      },
      { onMeasureStart: onStart, onMeasureEnd: onEnd },
      settings.clientCpu,
    );
    const e = result.errors;
    return {
      ...base,
      requests: result.requests,
      seconds: result.seconds,
      bodyBytes: result.bodyBytes,
      p50Us: result.latencyUs.p50,
      p99Us: result.latencyUs.p99,
      serverCpuSeconds: cpuEnd - cpuStart,
      clientCpuSeconds: result.clientCpuSeconds,
      otherCpuSeconds: other(result.clientCpuSeconds),
      peakRssBytes: treePeakRssBytes(server.pid),
      errors: e.status + e.length + e.parse + e.closed,
    };
  }
  const result = await runWrk({
    url: server.url,
    path: workload.path,
    range: workload.range,
    paths: workload.paths,
    connections: settings.connections,
    durationSeconds: settings.durationSeconds,
    seed: settings.seed,
    cpu: settings.clientCpu,
  }, { onStart, onEnd });
  return {
    ...base,
    requests: result.requests,
    seconds: result.seconds,
    bodyBytes: workload.bodyLength === undefined
      ? result.bytes
      : result.requests * workload.bodyLength,
    p50Us: result.p50,
    p99Us: result.p99,
    serverCpuSeconds: cpuEnd - cpuStart,
    clientCpuSeconds: result.clientCpuSeconds,
    otherCpuSeconds: other(result.clientCpuSeconds),
    peakRssBytes: treePeakRssBytes(server.pid),
    errors: result.errors,
  };
}
