/**
 * Process-wide counters in Prometheus text format (`GET /metrics`). Servers and the app write
 * into one {@linkcode Metrics}; the app only renders it, so it never needs to know which server
 * produced a number.
 *
 * @module
 */

/** How response body bytes left the process. */
export type SendPath = "sendfile" | "copy" | "stream";
/** How request body bytes reached a file. */
export type IngestPath = "splice" | "stream";

/** Counters and gauges of one server process. */
export class Metrics {
  /** Responses by status code. */
  readonly requestsByStatus: Map<number, number> = new Map();
  /** Response body bytes by the path they took. */
  readonly bytesSent: Record<SendPath, number> = { sendfile: 0, copy: 0, stream: 0 };
  /** Request body bytes written to files, by path. */
  readonly bytesIngested: Record<IngestPath, number> = { splice: 0, stream: 0 };
  /** Connections open now. */
  activeConnections = 0;
  /** Connections accepted since start. */
  acceptedConnections = 0;
  /** Connections closed since start. */
  closedConnections = 0;
  /** sendfile(2) calls made. */
  sendfileCalls = 0;
  /** splice(2) calls made. */
  spliceCalls = 0;
  /** Times a write found the socket full (EAGAIN) and waited for EPOLLOUT. */
  eagainWaits = 0;
  /** Uploads that completed and were renamed into place. */
  uploadsCompleted = 0;
  /** Uploads that failed or were interrupted (nothing left behind). */
  uploadsAborted = 0;

  /** Counts one response with `status`. */
  countRequest(status: number): void {
    this.requestsByStatus.set(status, (this.requestsByStatus.get(status) ?? 0) + 1);
  }

  /** Renders all counters in the Prometheus text exposition format (version 0.0.4). */
  render(): string {
    const labelled = (label: string, values: Record<string, number>): [string, number][] =>
      Object.entries(values).map(([key, n]) => [`{${label}="${key}"}`, n]);
    const families: [name: string, type: string, help: string, samples: [string, number][]][] = [
      [
        "requests_total",
        "counter",
        "HTTP responses by status code.",
        [...this.requestsByStatus].sort((a, b) => a[0] - b[0])
          .map(([code, n]) => [`{status="${code}"}`, n]),
      ],
      [
        "bytes_sent_total",
        "counter",
        "Response body bytes by how they were sent.",
        labelled("path", this.bytesSent),
      ],
      [
        "bytes_ingested_total",
        "counter",
        "Request body bytes written to files by how they were written.",
        labelled("path", this.bytesIngested),
      ],
      ["active_connections", "gauge", "Open client connections.", [["", this.activeConnections]]],
      [
        "connections_accepted_total",
        "counter",
        "Connections accepted.",
        [["", this.acceptedConnections]],
      ],
      ["connections_closed_total", "counter", "Connections closed.", [[
        "",
        this.closedConnections,
      ]]],
      ["sendfile_calls_total", "counter", "sendfile(2) calls.", [["", this.sendfileCalls]]],
      ["splice_calls_total", "counter", "splice(2) calls.", [["", this.spliceCalls]]],
      [
        "eagain_waits_total",
        "counter",
        "Writes that waited for EPOLLOUT.",
        [["", this.eagainWaits]],
      ],
      [
        "uploads_completed_total",
        "counter",
        "Uploads renamed into place.",
        [["", this.uploadsCompleted]],
      ],
      [
        "uploads_aborted_total",
        "counter",
        "Uploads that left nothing behind.",
        [["", this.uploadsAborted]],
      ],
    ];
    const lines: string[] = [];
    for (const [name, type, help, samples] of families) {
      lines.push(`# HELP zerocast_${name} ${help}`, `# TYPE zerocast_${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`zerocast_${name}${labels} ${value}`);
    }
    return lines.join("\n") + "\n";
  }
}
