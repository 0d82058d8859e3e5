/**
 * What the LVS checkers need from the host: a connector for TCP, TLS and UDP, an ICMP echo, and a
 * bounded file read (FILE_CHECK). The checkers (this folder) speak the protocols over it; the
 * adapter (src/adapters/lvs-probes.ts) opens the sockets with hard timeouts and byte caps, and the
 * unit tests use fakes. Nothing here throws or rejects: every failure is an outcome.
 */
import type { CheckFailure } from '../events/lvs.js';

/** Where and how to connect (connect_ip/connect_port, bindto/bind_port/bind_if, fwmark). */
export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly bindAddress?: string;
  readonly bindPort?: number;
  readonly bindInterface?: string;
  /** SO_MARK on the probe (`fwmark` in a checker); the adapter may not support it (then ignored, said once). */
  readonly fwmark?: number;
  /** The adapter's own hard bound on connecting (the checker also bounds the whole check). */
  readonly timeoutMs: number;
  /** TLS (SSL_GET): the SNI name (`enable_sni`: the virtualhost), certificates are not verified (as keepalived). */
  readonly tls?: { readonly servername?: string };
}

export type Failure = { readonly ok: false; readonly reason: CheckFailure; readonly detail: string };

/** An open stream. Reads are bounded by the adapter (`maxBufferedBytes`) and by the checker's deadline. */
export interface StreamConnection {
  write(data: Uint8Array | string): void;
  /**
   * The next bytes received, `null` at end of stream, or a failure (reset, TLS error). Never
   * rejects; after close() it resolves with null.
   */
  read(): Promise<Uint8Array | null | Failure>;
  /** Ends the connection now (destroy: no lingering on a hostile peer). Idempotent. */
  close(): void;
}

export type ConnectResult = { readonly ok: true; readonly connection: StreamConnection } | Failure;

/** One UDP request and at most one reply (UDP_CHECK, DNS_CHECK). */
export interface DatagramOptions {
  readonly host: string;
  readonly port: number;
  readonly payload: Uint8Array;
  readonly bindAddress?: string;
  readonly bindPort?: number;
  readonly timeoutMs: number;
  /** Replies longer than this are cut to it (the checker sees `truncated`). */
  readonly maxReplyBytes: number;
}

/** `timeout`: no reply in time; `refused`: ICMP port unreachable came back. */
export type DatagramResult = { readonly ok: true; readonly reply: Uint8Array; readonly truncated: boolean } | Failure;

export type FileValue = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly detail: string };

export interface LvsProbes {
  connect(opts: ConnectOptions): Promise<ConnectResult>;
  datagram(opts: DatagramOptions): Promise<DatagramResult>;
  /** One ICMP (or ICMPv6) echo and its reply within timeoutMs. */
  ping(opts: { readonly host: string; readonly timeoutMs: number; readonly bindAddress?: string }): Promise<{ readonly ok: true } | Failure>;
  /** A track_file's integer (a missing or non-numeric file reads as 0, as keepalived reads it). */
  readInteger(path: string): Promise<FileValue>;
}
