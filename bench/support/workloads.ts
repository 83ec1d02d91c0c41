/** The workloads of the comparison (issue 4). @module */
import { GiB, MiB } from "./data.ts";

/** Workload identifiers. */
export const WORKLOAD_IDS = ["W1", "W2", "W3", "W4", "W5"] as const;

/** One of {@linkcode WORKLOAD_IDS}. */
export type WorkloadId = typeof WORKLOAD_IDS[number];

/** The data files the workloads read, by name. */
export interface DataFiles {
  /** The big file ranges are cut from (1 GiB by default). */
  readonly big: { readonly name: string; readonly size: number };
  /** The file fetched whole (4 MiB). */
  readonly small: { readonly name: string; readonly size: number };
}

/** Default data files. */
export function defaultDataFiles(bigSize = GiB): DataFiles {
  return {
    big: { name: bigSize === GiB ? "1g.bin" : `big-${bigSize}.bin`, size: bigSize },
    small: { name: "4m.bin", size: 4 * MiB },
  };
}

/** One workload: what every request asks for. */
export interface Workload {
  /** W1..W4. */
  readonly id: WorkloadId;
  /** Heading in the results. */
  readonly label: string;
  /**
   * "files" workloads run on file servers; "route" on servers of the Hono app; "hls" on zerocast
   * (packaging just in time) and nginx (the same segments as static files).
   */
  readonly kind: "files" | "route" | "hls";
  /** Request path. */
  readonly path: string;
  /** Request paths picked at random per request, when the workload uses them (W5). */
  readonly paths?: readonly string[];
  /** Random ranges, when the workload uses them. */
  readonly range?: { readonly fileSize: number; readonly length: number };
  /** Expected status. */
  readonly status: number;
  /** Expected body length (undefined = not checked, e.g. the route). */
  readonly bodyLength?: number;
}

/** True when the server `spec` takes part in `workload`. */
export function serves(
  spec: { readonly id: string; readonly servesFiles: boolean; readonly servesRoute: boolean },
  workload: Workload,
): boolean {
  if (workload.kind === "hls") return spec.id.startsWith("zerocast") || spec.id.startsWith("nginx");
  return workload.kind === "files" ? spec.servesFiles : spec.servesRoute;
}

/** The workloads on `files`; W5 requests `hlsPaths` (empty until prepared, see hls_data.ts). */
export function workloads(
  files: DataFiles,
  hlsPaths: readonly string[] = [],
): Map<WorkloadId, Workload> {
  const { big, small } = files;
  const bigLabel = big.size === GiB ? "1 GiB" : `${big.size / MiB} MiB`;
  const list: Workload[] = [
    {
      id: "W1",
      label: `random 4 MiB ranges of a ${bigLabel} file`,
      kind: "files",
      path: `/media/${big.name}`,
      range: { fileSize: big.size, length: 4 * MiB },
      status: 206,
      bodyLength: 4 * MiB,
    },
    {
      id: "W2",
      label: `random 64 KiB ranges of a ${bigLabel} file`,
      kind: "files",
      path: `/media/${big.name}`,
      range: { fileSize: big.size, length: 64 * 1024 },
      status: 206,
      bodyLength: 64 * 1024,
    },
    {
      id: "W3",
      label: "whole 4 MiB file",
      kind: "files",
      path: `/media/${small.name}`,
      status: 200,
      bodyLength: small.size,
    },
    {
      id: "W4",
      label: "small Hono route (GET /healthz)",
      kind: "route",
      path: "/healthz",
      status: 200,
    },
    {
      id: "W5",
      label: "random HLS media segments of a 10-minute H.264+AAC MP4 (/hls/ vs static copies)",
      kind: "hls",
      path: hlsPaths[0] ?? "/hls/",
      paths: hlsPaths,
      status: 200,
    },
  ];
  return new Map(list.map((w) => [w.id, w]));
}
